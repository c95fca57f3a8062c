package io.chariots.queue;

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
 * assigned it ({@link #assigned}), another queue reported it through the
 * token, or an indexer found it ({@link #satisfy}). So a record can never be
 * given an LId below its cause's. Owned by the queue's event loop; time is
 * handed in.
 */
final class CausalGate {
    /** A record waiting here. */
    static final class Held {
        final RecordEnvelope record;
        final long arrivedNanos;
        final Set<CauseKey> unmet = new LinkedHashSet<>(2);

        Held(RecordEnvelope record, long arrivedNanos) {
            this.record = record;
            this.arrivedNanos = arrivedNanos;
        }
    }

    /** A record whose cause did not come within the timeout. */
    record Expired(RecordEnvelope record, List<CauseKey> missing, long waitedNanos) {
    }

    private final long causeTimeoutNanos;
    private final ArrayDeque<RecordEnvelope> ready = new ArrayDeque<>();
    private final Map<CauseKey, List<Held>> waiting = new HashMap<>();
    // Waiting records in arrival order, for timeouts and lookups by id.
    private final LinkedHashMap<Held, Boolean> held = new LinkedHashMap<>();
    // Pairs this queue assigned recently: answers own records arriving just
    // after their cause, and other queues' Wanted before the indexers catch up.
    private final io.chariots.common.collect.FifoPairMap recent;
    private final Set<CauseKey> toProbe = new LinkedHashSet<>();

    CausalGate(long causeTimeoutNanos, int recentCapacity) {
        this.causeTimeoutNanos = causeTimeoutNanos;
        this.recent = new io.chariots.common.collect.FifoPairMap(Math.max(1, recentCapacity));
    }

    /** A record arrived from a filter. */
    void add(RecordEnvelope r, long now) {
        int n = r.getPrehashCount();
        if (n == 0) {
            ready.add(r);
            return;
        }
        Held h = null;
        for (int i = 0; i < n; i++) {
            if (recent.contains(r.getPrehash(i), r.getSeed())) {
                continue;
            }
            CauseKey k = new CauseKey(r.getPrehash(i), r.getSeed());
            if (h == null) {
                h = new Held(r, now);
            }
            if (h.unmet.add(k)) {
                waiting.computeIfAbsent(k, x -> new ArrayList<>(1)).add(h);
                toProbe.add(k);
            }
        }
        if (h == null) {
            ready.add(r);
        } else {
            held.put(h, Boolean.TRUE);
        }
    }

    /** The next record whose causes are all in the log, or null. */
    RecordEnvelope pollReady() {
        return ready.poll();
    }

    int readyCount() {
        return ready.size();
    }

    /** Records waiting for a cause. */
    int heldCount() {
        return held.size();
    }

    /** Distinct causes being waited for. */
    Set<CauseKey> unmet() {
        return waiting.keySet();
    }

    boolean isUnmet(CauseKey k) {
        return waiting.containsKey(k);
    }

    /**
     * This queue gave {@code r} its LId: its tag pairs are now in the log,
     * and records waiting for them move to ready (so a chain that arrived in
     * one burst is assigned within one token hold).
     */
    void assigned(RecordEnvelope r) {
        long lid = r.getLid();
        for (int i = 0; i < r.getTagHashCount(); i++) {
            recent.putIfAbsent(r.getTagHash(i), r.getSeed(), lid);
            if (!waiting.isEmpty()) {
                satisfy(new CauseKey(r.getTagHash(i), r.getSeed()));
            }
        }
    }

    /** The LId this queue recently assigned to a record carrying {@code k}, or 0. */
    long recentLid(CauseKey k) {
        return recent.get(k.hash(), k.seed(), 0);
    }

    /** {@code k} is known to be in the log: release what waited for it. */
    void satisfy(CauseKey k) {
        List<Held> ws = waiting.remove(k);
        toProbe.remove(k);
        if (ws == null) {
            return;
        }
        for (Held h : ws) {
            h.unmet.remove(k);
            if (h.unmet.isEmpty() && held.remove(h) != null) {
                ready.add(h.record);
            }
        }
    }

    /** Causes first seen since the last call, to ask the indexers about. */
    List<CauseKey> drainToProbe() {
        List<CauseKey> out = new ArrayList<>(toProbe);
        toProbe.clear();
        return out;
    }

    /** Removes and returns records that waited longer than the cause timeout. */
    List<Expired> expire(long now) {
        List<Expired> out = null;
        for (Iterator<Held> it = held.keySet().iterator(); it.hasNext(); ) {
            Held h = it.next();
            if (now - h.arrivedNanos < causeTimeoutNanos) {
                break; // arrival order: the rest are younger
            }
            it.remove();
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
            if (out == null) {
                out = new ArrayList<>();
            }
            out.add(new Expired(h.record, List.copyOf(h.unmet), now - h.arrivedNanos));
        }
        return out == null ? List.of() : out;
    }

    /** When the oldest waiting record times out, or {@code Long.MAX_VALUE}. */
    long nextExpiry() {
        Iterator<Held> it = held.keySet().iterator();
        return it.hasNext() ? it.next().arrivedNanos + causeTimeoutNanos : Long.MAX_VALUE;
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
}
