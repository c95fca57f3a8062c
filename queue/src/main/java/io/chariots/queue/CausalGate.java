package io.chariots.queue;

import io.chariots.common.collect.FifoPairMap;
import io.chariots.proto.RecordEnvelope;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Holds back every record whose causes are not yet known to be in the log,
 * and releases records in arrival order once they are. A cause (tag hash,
 * seed) is known to be in the log only on positive evidence: this queue
 * stored it ({@link #stored}), another queue reported it stored through the
 * token, or an indexer found it ({@link #satisfy}) — never a hole, never a
 * record that merely has an LId.
 *
 * <p>One exception keeps a chain that arrives in one burst within one token
 * hold: a record waiting for a cause that this queue has just given an LId
 * ({@link #assigned}) is released at once, carrying that LId as a
 * <em>local dependency</em>: the queue stores it only after the cause is
 * stored, and if the cause's LId becomes a hole the effect's does too (both
 * are dropped by the epoch change that made the hole).
 *
 * <p>Time is a <em>cause clock</em> handed in by the queue, which stops while
 * the indexers cannot be asked: a record is never rejected because an indexer
 * was down. Owned by the queue's event loop.
 */
public final class CausalGate {
    /**
     * A record released to be given an LId, with the LIds of causes not yet
     * stored (empty: none) and what the caller attached to it in {@link #add}.
     */
    record Ready(RecordEnvelope record, long[] localDeps, Object tag) {
    }

    /** A record waiting here. */
    public static final class Held {
        final RecordEnvelope record;
        final Object tag;
        final long arrivedCauseNanos;
        final long arrivedNanos;
        final Set<CauseKey> unmet = new LinkedHashSet<>(2);
        // The first localDepCount are its local dependencies; grown by doubling, as a record may name any number
        // of causes and each assigned here adds one.
        private long[] localDeps;
        private int localDepCount;

        Held(RecordEnvelope record, Object tag, long[] localDeps, long arrivedCauseNanos, long arrivedNanos) {
            this.record = record;
            this.tag = tag;
            this.localDeps = localDeps;
            this.localDepCount = localDeps.length;
            this.arrivedCauseNanos = arrivedCauseNanos;
            this.arrivedNanos = arrivedNanos;
        }

        /**
         * Adds {@code lid}, unless it was the last added: a record given an
         * LId here releases every cause it carries at once, each with that LId.
         */
        void dependOn(long lid) {
            if (localDepCount > 0 && localDeps[localDepCount - 1] == lid) {
                return;
            }
            if (localDepCount == localDeps.length) {
                // Never written in place before this copy: the first array is the caller's.
                localDeps = java.util.Arrays.copyOf(localDeps, Math.max(4, localDepCount * 2));
            }
            localDeps[localDepCount++] = lid;
        }

        /** LIds given here, not yet stored, of causes it waited for. */
        long[] localDeps() {
            return localDepCount == localDeps.length ? localDeps : java.util.Arrays.copyOf(localDeps, localDepCount);
        }
    }

    /**
     * A record whose cause did not come within the timeout, or ({@code crowdedOut})
     * the longest-waiting one when more records waited than allowed.
     */
    record Expired(RecordEnvelope record, List<CauseKey> missing, long waitedNanos, boolean crowdedOut) {
    }

    static final long[] NO_DEPS = new long[0];

    private final long causeTimeoutNanos;
    private final ArrayDeque<Ready> ready = new ArrayDeque<>();
    private final Map<CauseKey, List<Held>> waiting = new HashMap<>();
    // Waiting records in arrival order, for timeouts and lookups by id.
    private final LinkedHashMap<Held, Boolean> held = new LinkedHashMap<>();
    /** Serialized bytes of the records in {@link #held}. */
    private long heldBytes;
    // Pairs this queue stored recently: answers own records arriving after their cause,
    // and other queues' Wanted before the indexers catch up.
    private final FifoPairMap recent;
    private final Set<CauseKey> toProbe = new LinkedHashSet<>();
    // Held records in arrival order, each handed out once by overdue(); released ones are dropped on the way.
    private final ArrayDeque<Held> byArrival = new ArrayDeque<>();

    CausalGate(long causeTimeoutNanos, int recentCapacity) {
        this.causeTimeoutNanos = causeTimeoutNanos;
        this.recent = new FifoPairMap(Math.max(1, recentCapacity));
    }

    /**
     * A record admitted by this queue; {@code causeNow} is the cause clock, {@code now} the real one.
     *
     * @return true if it waits here for a cause, false if it is ready now
     */
    boolean add(RecordEnvelope r, long causeNow, long now) {
        return add(r, null, causeNow, now);
    }

    /** As {@link #add(RecordEnvelope, long, long)}, with {@code tag} handed back in its {@link Ready}. */
    boolean add(RecordEnvelope r, Object tag, long causeNow, long now) {
        return add(r, tag, NO_DEPS, causeNow, now);
    }

    /**
     * As {@link #add(RecordEnvelope, Object, long, long)}, depending on
     * {@code deps} already (LIds given and not yet stored). A record from
     * another datacenter (it carries a TOId) never times out: it was accepted
     * at home, and rejecting it here would make the datacenters' logs differ.
     */
    boolean add(RecordEnvelope r, Object tag, long[] deps, long causeNow, long now) {
        int n = r.getPrehashCount();
        if (n == 0) {
            ready.add(new Ready(r, deps, tag));
            return false;
        }
        Held h = null;
        for (int i = 0; i < n; i++) {
            if (r.getPrehash(i) == 0 || recent.contains(r.getPrehash(i), r.getSeed())) {
                continue;
            }
            CauseKey k = new CauseKey(r.getPrehash(i), r.getSeed());
            if (h == null) {
                h = new Held(r, tag, deps, causeNow, now);
            }
            if (h.unmet.add(k)) {
                List<Held> ws = waiting.get(k);
                if (ws == null) {
                    ws = new ArrayList<>(1);
                    waiting.put(k, ws);
                    toProbe.add(k); // first seen: ask the indexers once
                }
                ws.add(h);
            }
        }
        if (h == null) {
            ready.add(new Ready(r, deps, tag));
            return false;
        }
        held.put(h, Boolean.TRUE);
        heldBytes += r.getSerializedSize();
        byArrival.add(h);
        return true;
    }

    /**
     * The next record that has waited here {@code graceNanos} or longer (real
     * time), each once, oldest first; null if none (yet). The queue parks it:
     * its batch stops waiting for it.
     */
    Held overdue(long now, long graceNanos) {
        Held h;
        while ((h = byArrival.peekFirst()) != null) {
            if (!held.containsKey(h)) {
                byArrival.pollFirst(); // released or expired meanwhile
                continue;
            }
            if (now - h.arrivedNanos < graceNanos) {
                return null;
            }
            return byArrival.pollFirst();
        }
        return null;
    }

    /** When {@link #overdue} may next hand out a record (real time), or {@code Long.MAX_VALUE}. */
    long nextOverdue(long graceNanos) {
        Held h = byArrival.peekFirst();
        return h == null ? Long.MAX_VALUE : h.arrivedNanos + graceNanos;
    }

    /** The next record whose causes are all in the log (or locally assigned), or null. */
    Ready pollReady() {
        return ready.poll();
    }

    public int readyCount() {
        return ready.size();
    }

    /** Records waiting for a cause. */
    public int heldCount() {
        return held.size();
    }

    /** Serialized bytes of the records waiting for a cause. */
    long heldBytes() {
        return heldBytes;
    }

    /** Distinct causes being waited for. */
    Set<CauseKey> unmet() {
        return waiting.keySet();
    }

    boolean isUnmet(CauseKey k) {
        return waiting.containsKey(k);
    }

    /**
     * This queue gave {@code r} its LId (not yet stored): records waiting for
     * its tag pairs are released with that LId as a local dependency.
     */
    void assigned(RecordEnvelope r) {
        if (waiting.isEmpty()) {
            return;
        }
        for (int i = 0; i < r.getTagHashCount(); i++) {
            release(new CauseKey(r.getTagHash(i), r.getSeed()), r.getLid());
        }
    }

    /** {@code r} is stored: its tag pairs are in the log for good. */
    void stored(RecordEnvelope r) {
        for (int i = 0; i < r.getTagHashCount(); i++) {
            recent.putIfAbsent(r.getTagHash(i), r.getSeed(), r.getLid());
            if (!waiting.isEmpty()) {
                release(new CauseKey(r.getTagHash(i), r.getSeed()), 0);
            }
        }
    }

    /** The LId of a record this queue stored recently carrying {@code k}, or 0. */
    long recentLid(CauseKey k) {
        return recent.get(k.hash(), k.seed(), 0);
    }

    /** {@link #recentLid(CauseKey)} without a key object. */
    long recentLid(long hash, long seed) {
        return recent.get(hash, seed, 0);
    }

    /** {@code k} is known to be stored (by another queue, or found by an indexer): release what waited for it. */
    void satisfy(CauseKey k) {
        release(k, 0);
    }

    private void release(CauseKey k, long localLid) {
        List<Held> ws = waiting.remove(k);
        toProbe.remove(k);
        if (ws == null) {
            return;
        }
        for (Held h : ws) {
            h.unmet.remove(k);
            if (localLid != 0) {
                h.dependOn(localLid);
            }
            if (h.unmet.isEmpty() && held.remove(h) != null) {
                heldBytes -= h.record.getSerializedSize();
                ready.add(new Ready(h.record, h.localDeps(), h.tag));
            }
        }
    }

    /** Causes first seen since the last call, to ask the indexers about. */
    List<CauseKey> drainToProbe() {
        List<CauseKey> out = new ArrayList<>(toProbe);
        toProbe.clear();
        return out;
    }

    /** Removes and returns records that waited longer than the cause timeout (cause clock). */
    List<Expired> expire(long causeNow) {
        return expire(causeNow, Integer.MAX_VALUE, Long.MAX_VALUE);
    }

    /**
     * As {@link #expire(long)}, and while more than {@code maxWaiting} records
     * or {@code maxBytes} bytes of them wait, removes the longest-waiting ones
     * too (crowded out): a bound on what records whose causes may never come
     * can hold, that refuses no batch and so never locks their causes out.
     */
    List<Expired> expire(long causeNow, int maxWaiting, long maxBytes) {
        List<Expired> out = null;
        int over = held.size() - maxWaiting;
        for (Iterator<Held> it = held.keySet().iterator(); it.hasNext(); ) {
            Held h = it.next();
            if (h.record.getToid() != 0) {
                continue; // from another datacenter: waits as long as it takes (at most one per origin is here)
            }
            boolean timedOut = causeNow - h.arrivedCauseNanos >= causeTimeoutNanos;
            if (!timedOut && over <= 0 && heldBytes <= maxBytes) {
                break; // arrival order: the rest are younger
            }
            it.remove();
            heldBytes -= h.record.getSerializedSize();
            unlink(h);
            over--;
            if (out == null) {
                out = new ArrayList<>();
            }
            out.add(new Expired(h.record, List.copyOf(h.unmet), causeNow - h.arrivedCauseNanos, !timedOut));
        }
        return out == null ? List.of() : out;
    }

    private void unlink(Held h) {
        for (CauseKey k : h.unmet) {
            List<Held> ws = waiting.get(k);
            if (ws != null) {
                ws.remove(h);
                if (ws.isEmpty()) {
                    waiting.remove(k);
                    toProbe.remove(k);
                }
            }
        }
    }

    /** When (cause clock) the oldest waiting record times out, or {@code Long.MAX_VALUE}. */
    long nextExpiry() {
        for (Held h : held.keySet()) {
            if (h.record.getToid() == 0) {
                return h.arrivedCauseNanos + causeTimeoutNanos;
            }
        }
        return Long.MAX_VALUE;
    }

    /** Waiting records with these ids (for "where is my record?"). */
    List<Held> heldWithIds(Set<String> ids) {
        List<Held> out = new ArrayList<>();
        for (Held h : held.keySet()) {
            if (ids.contains(h.record.getId())) {
                out.add(h);
            }
        }
        return out;
    }

    /**
     * Takes every waiting and ready record out (an epoch change voided them:
     * their filters send them again). The memory of stored pairs stays: what
     * is stored is in the log whatever the epoch.
     */
    List<RecordEnvelope> dropAll() {
        List<RecordEnvelope> out = new ArrayList<>(ready.size() + held.size());
        for (Ready r : ready) {
            out.add(r.record());
        }
        for (Held h : held.keySet()) {
            out.add(h.record);
        }
        ready.clear();
        held.clear();
        heldBytes = 0;
        byArrival.clear();
        waiting.clear();
        toProbe.clear();
        return out;
    }
}
