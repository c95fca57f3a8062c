package io.chariots.queue;

import io.chariots.common.collect.FifoPairMap;
import io.chariots.common.layout.RingOwners;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.RingMember;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Lets each record id into the log once: the dedup memory of the queue that
 * owns the id ({@link RingOwners}). Every copy of a record — a client's retry,
 * a batcher's or filter's resend after a crash, a zombie's late send — comes
 * here, and is admitted only if no copy is in the log or on its way.
 *
 * <p>What it knows about an id, from surest to least sure:
 * <ul>
 * <li><b>live</b>: a copy is with this queue (admitted, given an LId, stored
 *     and waiting to be indexed, or being verified). Another copy waits for
 *     its outcome.</li>
 * <li><b>settled</b> (exact, the last {@code settledCapacity} ids): in the log
 *     at an LId, or rejected for good.</li>
 * <li><b>seen</b> ({@link RecentIdFilter}, about {@code window}): maybe in the
 *     log — verified against the durable id index before anything else.</li>
 * <li>nothing: new — unless this queue's memory may have a gap for the id
 *     (it started recently, or owned the id only since a ring change within
 *     the window): then it is verified.</li>
 * </ul>
 * Verifying asks every maintainer for ids stored but not yet indexed, then
 * every indexer; a source that does not answer makes it wait, never guess.
 *
 * <p>A record's copy is <em>settled</em> once it is durable (persisted and
 * indexed) or rejected; only then are the filter batches waiting for it
 * answered, so that no stage upstream lets go of a record still only in
 * memory — but for a record that has waited long for a cause: it is
 * <em>parked</em> ({@link #parked}), its batches are answered without it, and
 * the batcher that sent it keeps it and sends it again until it is settled.
 * Owned by the queue's loop.
 */
public final class IdLedger {
    /** What happened to a copy handed to {@link #admit}. */
    enum Admission {
        /** New: the caller passes the record to the causal gate. */
        NEW,
        /** Another copy is live here; this one waits for its outcome. */
        JOINED,
        /** Settled already (the batch was counted). */
        SETTLED,
        /** Waiting for verification against the log. */
        VERIFYING,
        /** Another copy waits here for a cause: counted in the batch as parked (see {@link #parked}). */
        PARKED
    }

    enum State { ADMITTED, ASSIGNED, STORED, VERIFYING }

    /** A copy of a record with this queue. */
    static final class Entry {
        final String id;
        final long h1;
        final long h2;
        RecordEnvelope record;
        State state;
        long lid;
        String maintainer;
        // The batches waiting for this record's outcome: nearly always one, so no list unless more come.
        Batch waiter;
        List<Batch> moreWaiters;
        // Given an LId at an epoch that ended before its store was answered: verified only once the
        // layout of this epoch is known, i.e. once every maintainer is sealed and no late store can land.
        long verifyAtEpoch;
        // Out of the live map (settled, rejected or forgotten): a stale reference to it changes nothing.
        boolean gone;
        // Another datacenter's record, known by origin and TOId: its origin's mark, not this ledger, decides.
        boolean fromOrigin;
        // Waiting in the causal gate for a cause: no batch waits for it (each was answered with it parked).
        boolean parked;

        Entry(String id, long h1, long h2, RecordEnvelope record, State state) {
            this.id = id;
            this.h1 = h1;
            this.h2 = h2;
            this.record = record;
            this.state = state;
        }

        void addWaiter(Batch b) {
            if (waiter == null) {
                waiter = b;
            } else {
                if (moreWaiters == null) {
                    moreWaiters = new ArrayList<>(2);
                }
                moreWaiters.add(b);
            }
        }


        void clearWaiters() {
            waiter = null;
            moreWaiters = null;
        }
    }

    /** A filter's Enqueue, answered once every record of it is settled. */
    static final class Batch {
        final Object handle;
        final long epoch;
        int left;
        int appended;
        int rejected;
        // Ids of its records that wait here for a cause, answered as parked; null: none.
        List<String> parkedIds;
        boolean answered;

        Batch(Object handle, long epoch, int size) {
            this.handle = handle;
            this.epoch = epoch;
            this.left = size;
        }
    }

    /** Told when a batch is settled. */
    interface Settled {
        void settled(Batch b);
    }

    /** What verification found for one id. */
    public record Found(String id, long lid, String unindexedAt, String rejected) {
        public static Found absent(String id) {
            return new Found(id, 0, null, null);
        }

        /** What an indexer's answer says of an id: in the log, rejected for good, or null (it does not know it). */
        public static Found fromIndexer(io.chariots.proto.IdStatus s) {
            if (!s.getRejected().isEmpty()) {
                return new Found(s.getId(), 0, null, s.getRejected());
            }
            return s.getLid() != 0 ? new Found(s.getId(), s.getLid(), null, null) : null;
        }
    }

    private static final long REJECTED = -1L;
    /** Settled as in the log at an LId this queue does not know (a duplicate of another datacenter's record). */
    private static final long IN_LOG = -2L;

    private final String self;
    private final Settled settled;
    private final long windowNanos;
    private final Map<String, Entry> live = new HashMap<>();
    private final FifoPairMap settledIds;
    private final RecentIdFilter seen;
    private final Map<String, ByLid> awaitingIndex = new HashMap<>();
    private final ArrayDeque<Entry> toVerify = new ArrayDeque<>();
    private final ArrayDeque<Handover> handovers = new ArrayDeque<>();
    private long coldUntil;
    // The memory restored at start, until the first epoch says whether it is whole.
    private DedupMemory.Header kept;
    private long keptElapsedNanos;
    // The entry admit() let in last as NEW: handed back by admitted() without a lookup by id.
    private Entry justAdmitted;
    private long duplicates;
    private long verifications;

    /**
     * Stored entries of one maintainer in LId order, waiting for its index: an
     * array, not a tree of boxed LIds (tens of thousands wait at full speed;
     * see {@link UnstoredLids}). Stores are answered nearly in LId order, so
     * adding is an append.
     */
    private static final class ByLid {
        private final ArrayList<Entry> entries = new ArrayList<>();
        private int head;

        void add(Entry e) {
            int n = entries.size();
            if (n == head || Long.compareUnsigned(entries.get(n - 1).lid, e.lid) <= 0) {
                entries.add(e);
                return;
            }
            int lo = head;
            int hi = n; // the first entry above e.lid is in [lo, hi)
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (Long.compareUnsigned(entries.get(mid).lid, e.lid) > 0) {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            entries.add(lo, e);
        }

        /** Takes the lowest entry if its LId is at most {@code through}. */
        Entry pollAtMost(long through) {
            if (head == entries.size() || Long.compareUnsigned(entries.get(head).lid, through) > 0) {
                return null;
            }
            Entry e = entries.get(head);
            entries.set(head++, null);
            if (head == entries.size()) {
                entries.clear();
                head = 0;
            } else if (head > 4096 && head > entries.size() / 2) {
                entries.subList(0, head).clear();
                head = 0;
            }
            return e;
        }

        long firstLid() {
            return entries.get(head).lid;
        }

        boolean isEmpty() {
            return head == entries.size();
        }
    }

    /** A ring this queue's ownership changed from, and when. */
    private record Handover(long at, List<RingMember> previous) {
    }

    /**
     * @param self            this queue's gRPC address (as ring members name it)
     * @param windowNanos     how long ids are remembered (and a memory gap lasts)
     * @param settledCapacity how many settled ids are remembered exactly
     * @param filterBytes     memory of the window's filter
     */
    IdLedger(String self, Settled settled, long windowNanos, int settledCapacity, long filterBytes, long now) {
        this.self = self;
        this.settled = settled;
        this.windowNanos = windowNanos;
        this.settledIds = new FifoPairMap(Math.max(1, settledCapacity));
        this.seen = new RecentIdFilter(windowNanos, filterBytes, now);
        this.coldUntil = now + windowNanos; // until told the log was empty when this queue started
    }

    /** This queue's memory may miss ids let in elsewhere (epochs went by unseen): verify every new id for a window. */
    void memoryGap(long now) {
        coldUntil = now + windowNanos;
    }

    /** The log held nothing when this queue started: no earlier copy of any id can exist. */
    void logWasEmpty() {
        coldUntil = 0;
    }

    /**
     * Writes this ledger's memory for the next start of this queue
     * ({@link DedupMemory}), once it takes no more records: the filter of
     * the ids it let in, with every copy still live here added (it may be in
     * the log), how long its own gap still had to run, and its handovers.
     *
     * @param logEnd the durable log end it is kept at ({@link TokenRing#durableLogEnd})
     * @param ring   the addresses of the ring it last owned ids in
     */
    void keep(DataOutput out, long now, DedupMemory.Stamp stamp, long logEnd, List<String> ring) throws IOException {
        for (Entry e : live.values()) {
            if (!e.fromOrigin) {
                seen.add(e.h1, e.h2, now);
            }
        }
        List<DedupMemory.Handover> ages = new ArrayList<>(handovers.size());
        for (Handover h : handovers) {
            ages.add(new DedupMemory.Handover(now - h.at(), h.previous().stream().map(RingMember::getAddress).toList()));
        }
        DedupMemory.writeHeader(out, new DedupMemory.Header(self, stamp, logEnd, ring, Math.max(0, coldUntil - now), ages));
        seen.writeTo(out, now);
    }

    /** A memory {@link #keep} wrote, read back whole ({@link #readMemory}) and not yet taken. */
    public record Memory(DedupMemory.Header header, RecentIdFilter.Kept filter) {
    }

    /** Reads what {@link #keep} wrote, for this ledger's filter; nothing is taken until {@link #restore}. */
    Memory readMemory(DataInput in) throws IOException {
        return new Memory(DedupMemory.readHeader(in), seen.read(in));
    }

    /**
     * Takes the memory {@link #keep} wrote at this queue's last clean stop,
     * before it admits anything: its filter at once (a "maybe" more is only a
     * check more), the rest once {@link #logEndsAt} shows that nobody
     * appended since. Until then every new id is checked, as after any start.
     *
     * @throws IOException if another queue kept it, or a filter of another size
     */
    void restore(Memory m, long now, DedupMemory.Stamp stamp) throws IOException {
        DedupMemory.Header h = m.header();
        if (!h.self().equals(self)) {
            throw new IOException("kept by the queue at " + h.self() + ", not this one at " + self
                    + ": it says nothing of the ids this one let in");
        }
        long elapsed = stamp.nanosSince(h.stopped());
        seen.restore(m.filter(), now, elapsed);
        kept = h;
        keptElapsedNanos = elapsed;
    }

    /**
     * The first epoch this queue is in began on a log that ends at {@code lid},
     * with {@code ring}. At LId 0 no copy of any id can exist. At the end the
     * restored memory was kept at, nobody let an id in since, so the memory
     * is whole again: the gap it had of its own, its handovers, and one more
     * for the ids that moved to it if the ring is not the one it was kept
     * under. Otherwise every new id is checked for a window from now: until
     * now the others let in the ids this queue owns. Answered once; later
     * epochs change nothing here.
     *
     * @return whether the memory is whole (no gap of this start's own)
     */
    boolean logEndsAt(long lid, List<RingMember> ring, long now) {
        DedupMemory.Header h = kept;
        kept = null;
        if (lid == 0) {
            logWasEmpty();
            return true;
        }
        if (h == null || h.logEnd() != lid) {
            memoryGap(now);
            return false;
        }
        long elapsed = keptElapsedNanos;
        coldUntil = h.coldNanosLeft() > elapsed ? now + (h.coldNanosLeft() - elapsed) : now;
        for (DedupMemory.Handover ho : h.handovers()) {
            long at = now - ho.ageNanos() - elapsed;
            if (now - at <= windowNanos) {
                handovers.addLast(new Handover(at, members(ho.previous())));
            }
        }
        if (!Set.copyOf(h.ring()).equals(ring.stream().map(RingMember::getAddress).collect(Collectors.toSet()))) {
            handovers.addLast(new Handover(now, members(h.ring())));
        }
        return true;
    }

    /** The log's end the restored memory was kept at, until {@link #logEndsAt} answers; -1 if none. */
    long keptLogEnd() {
        return kept == null ? -1 : kept.logEnd();
    }

    private static List<RingMember> members(List<String> addresses) {
        return addresses.stream().map(a -> RingMember.newBuilder().setAddress(a).build()).toList();
    }

    /**
     * The ring changed from {@code previous}: ids this queue owns now but did
     * not own then are verified for a window (their earlier owner's copies).
     */
    void ringChanged(List<RingMember> previous, long now) {
        if (!previous.isEmpty()) {
            handovers.addLast(new Handover(now, List.copyOf(previous)));
        }
    }

    /**
     * The key a copy of {@code r} is known by here: its id, or for a record
     * from another datacenter its origin and TOId (its id was unique only
     * there; no id holds U+0000).
     */
    static String keyOf(RecordEnvelope r) {
        return r.getToid() != 0 ? "\u0000" + r.getHost() + "#" + Long.toUnsignedString(r.getToid())
                : io.chariots.common.record.RecordKeys.idKey(r);
    }

    /**
     * A copy of {@code r} arrived in batch {@code b}. One from another
     * datacenter is never verified against the log: its origin's mark in the
     * token tells whether the log has it ({@link OriginOrder}).
     */
    Admission admit(RecordEnvelope r, Batch b, long now) {
        String id = keyOf(r);
        Entry e = live.get(id);
        if (e != null) {
            duplicates++;
            if (e.fromOrigin) {
                // A link's resend: answered at once (its shipper goes by the marks, and the first copy is held by
                // its own batch), so that resends of a record rightly held back do not pile up waiting batches.
                count(b, true);
                return Admission.SETTLED;
            }
            if (e.parked) {
                park(b, r.getId());
                return Admission.PARKED;
            }
            e.addWaiter(b);
            return Admission.JOINED;
        }
        byte[] utf8 = id.getBytes(StandardCharsets.UTF_8);
        long h1 = io.chariots.common.record.Fnv1a64.hash(utf8); // = RingOwners.idHash(id)
        long h2 = h2(utf8);
        long at = settledIds.get(h1, h2, 0);
        if (at != 0) {
            duplicates++;
            count(b, at != REJECTED);
            return Admission.SETTLED;
        }
        boolean verify = r.getToid() == 0 && (seen.mayContain(h1, h2, now) || gapFor(io.chariots.common.layout.RingOwners.routingKey(r), now));
        e = new Entry(id, h1, h2, r, verify ? State.VERIFYING : State.ADMITTED);
        e.fromOrigin = r.getToid() != 0;
        e.addWaiter(b);
        live.put(id, e);
        if (verify) {
            toVerify.add(e);
            verifications++;
            return Admission.VERIFYING;
        }
        justAdmitted = e;
        return Admission.NEW;
    }

    private boolean gapFor(String id, long now) {
        if (now - coldUntil < 0) {
            return true;
        }
        while (!handovers.isEmpty() && now - handovers.peekFirst().at() > windowNanos) {
            handovers.pollFirst();
        }
        for (Handover h : handovers) {
            if (!self.equals(RingOwners.ownerAddress(id, h.previous()))) {
                return true;
            }
        }
        return false;
    }

    /**
     * The copy {@link #admit} just let in as NEW, to hand back to
     * {@link #assigned} and {@link #stored}: the record's way through the
     * gate and the outbox carries it, so that those need no lookup by id in
     * a map of tens of thousands (a few cache misses per record each).
     */
    Object admitted(String id) {
        return live.get(id);
    }

    /** {@link #admitted(String)} for the copy of {@code r} just admitted. */
    Object admitted(RecordEnvelope r) {
        Entry e = justAdmitted;
        return e != null && e.record == r && !e.gone ? e : live.get(keyOf(r));
    }

    /** The log has this copy's record already (its TOId is at or below its origin's mark): settled as appended. */
    void inLog(Object admitted, long now) {
        if (admitted instanceof Entry e && !e.gone) {
            settle(e, IN_LOG, now);
        }
    }

    private Entry entry(Object admitted, String id) {
        if (admitted instanceof Entry e) {
            return e.gone ? null : e;
        }
        return admitted == null ? live.get(id) : null;
    }

    /**
     * The causal gate has held this admitted copy (id {@code recordId}) for a
     * cause longer than a grace ({@link TokenRing#PARK_AFTER_NANOS}). The
     * batches waiting for it stop waiting: each counts it as
     * parked, and is answered once its other records are settled, with this
     * id among its parked ones. So records that wait for a cause never hold
     * the batches around them, and with them the room upstream that their
     * causes need to come in; the senders keep parked records and send them
     * again until a copy is answered settled, so a crash of this queue loses
     * none of them.
     */
    void parked(Object admitted, String recordId) {
        if (!(admitted instanceof Entry e) || e.gone) {
            return;
        }
        e.parked = true;
        Batch first = e.waiter;
        List<Batch> more = e.moreWaiters;
        e.clearWaiters();
        if (first != null) {
            park(first, recordId);
        }
        if (more != null) {
            for (Batch b : more) {
                park(b, recordId);
            }
        }
    }

    private void park(Batch b, String recordId) {
        if (b.answered) {
            return;
        }
        if (b.parkedIds == null) {
            b.parkedIds = new ArrayList<>();
        }
        b.parkedIds.add(recordId);
        if (--b.left == 0) {
            b.answered = true;
            settled.settled(b);
        }
    }

    /** The record was given {@code lid}, to be stored by {@code maintainer}; {@code admitted} is from {@link #admitted}, or null. */
    void assigned(Object admitted, String id, long lid, String maintainer) {
        Entry e = entry(admitted, id);
        if (e != null) {
            e.parked = false;
            e.state = State.ASSIGNED;
            e.lid = lid;
            e.maintainer = maintainer;
        }
    }

    void assigned(String id, long lid, String maintainer) {
        assigned(null, id, lid, maintainer);
    }

    void stored(String id) {
        stored(null, id);
    }

    /** The record's maintainer stored it; it is settled once that maintainer has indexed it. */
    void stored(Object admitted, String id) {
        Entry e = entry(admitted, id);
        if (e != null && e.state == State.ASSIGNED) {
            e.state = State.STORED;
            e.record = null; // the maintainer has it; only the id and LId matter now
            awaitingIndex.computeIfAbsent(e.maintainer, m -> new ByLid()).add(e);
        }
    }

    /** Every LId {@code maintainer} holds up to {@code through} is indexed: those records are settled. */
    void indexed(String maintainer, long through, long now) {
        ByLid waiting = awaitingIndex.get(maintainer);
        if (waiting == null) {
            return;
        }
        Entry e;
        while ((e = waiting.pollAtMost(through)) != null) {
            settle(e, e.lid, now);
        }
        if (waiting.isEmpty()) {
            awaitingIndex.remove(maintainer);
        }
    }

    /** The lowest LId stored at {@code maintainer} that this queue waits to see indexed, or 0. */
    long lowestAwaitingIndex(String maintainer) {
        ByLid waiting = awaitingIndex.get(maintainer);
        return waiting == null || waiting.isEmpty() ? 0 : waiting.firstLid();
    }

    /** Maintainers holding records this queue waits to see indexed. */
    List<String> maintainersAwaitingIndex() {
        return List.copyOf(awaitingIndex.keySet());
    }

    /** The record was rejected for good (its rejection is durable at an indexer). */
    void rejected(String id, long now) {
        Entry e = live.remove(id);
        if (e != null) {
            e.gone = true;
            remember(e, REJECTED, now);
            countWaiters(e, false);
        }
    }

    private void settle(Entry e, long lid, long now) {
        live.remove(e.id);
        e.gone = true;
        remember(e, lid, now);
        countWaiters(e, true);
    }

    private void remember(Entry e, long lid, long now) {
        if (e.fromOrigin) {
            return; // another datacenter's: its origin's mark decides, and may go back after an epoch change
        }
        settledIds.putIfAbsent(e.h1, e.h2, lid);
        seen.add(e.h1, e.h2, now);
    }

    private void countWaiters(Entry e, boolean appended) {
        if (e.waiter != null) {
            count(e.waiter, appended);
        }
        if (e.moreWaiters != null) {
            for (Batch b : e.moreWaiters) {
                count(b, appended);
            }
        }
    }

    private void count(Batch b, boolean appended) {
        if (b.answered) {
            return;
        }
        if (appended) {
            b.appended++;
        } else {
            b.rejected++;
        }
        if (--b.left == 0) {
            b.answered = true;
            settled.settled(b);
        }
    }

    /**
     * Up to {@code max} ids to verify against the log now (taken out of the
     * to-do list): those whose copies could not still land, given that every
     * maintainer is sealed at {@code sealedEpoch} (the epoch of the newest
     * complete layout known).
     */
    List<String> nextToVerify(int max, long sealedEpoch) {
        List<String> out = new ArrayList<>(Math.min(max, toVerify.size()));
        int n = toVerify.size();
        for (int i = 0; i < n && out.size() < max; i++) {
            Entry e = toVerify.poll();
            if (live.get(e.id) != e || e.state != State.VERIFYING) {
                continue;
            }
            if (Long.compareUnsigned(e.verifyAtEpoch, sealedEpoch) > 0) {
                toVerify.add(e); // a late store of it may still land: not yet
            } else {
                out.add(e.id);
            }
        }
        return out;
    }

    /** Verification could not be completed (a maintainer or indexer did not answer): ask again later. */
    void verifyFailed(List<String> ids) {
        for (String id : ids) {
            Entry e = live.get(id);
            if (e != null && e.state == State.VERIFYING) {
                toVerify.add(e);
            }
        }
    }

    /**
     * What the log holds for verified ids. Returns the records found absent
     * that this queue still owns (the caller passes them to the causal gate);
     * absent records it no longer owns are dropped (their filters send them
     * to the new owner).
     */
    List<RecordEnvelope> verified(List<Found> found, java.util.function.Predicate<String> owns, long now) {
        List<RecordEnvelope> admit = new ArrayList<>();
        for (Found f : found) {
            Entry e = live.get(f.id());
            if (e == null || e.state != State.VERIFYING) {
                continue;
            }
            if (f.rejected() != null) {
                rejected(f.id(), now);
            } else if (f.lid() != 0 && f.unindexedAt() != null) {
                e.state = State.STORED;
                e.lid = f.lid();
                e.maintainer = f.unindexedAt();
                e.record = null;
                awaitingIndex.computeIfAbsent(e.maintainer, m -> new ByLid()).add(e);
            } else if (f.lid() != 0) {
                settle(e, f.lid(), now);
            } else if (e.record != null && owns.test(io.chariots.common.layout.RingOwners.routingKey(e.record))) {
                e.state = State.ADMITTED;
                admit.add(e.record);
            } else {
                live.remove(e.id);
                e.gone = true;
            }
        }
        return admit;
    }

    /** Ids waiting for verification. */
    public int verifying() {
        return toVerify.size();
    }

    /**
     * A newer epoch voided this queue's unstored work. Records not yet given
     * an LId are forgotten (not in the log; their filters resend them); those
     * given an LId but not known stored are verified (their store may have
     * landed before the seal); stored ones keep waiting to be indexed. Every
     * waiting batch is dropped: the caller answers it (STALE_EPOCH) and the
     * filters resend, joining the copies still here. Returns those batches.
     */
    List<Batch> epochChanged(long newEpoch) {
        List<Batch> dropped = new ArrayList<>();
        for (Iterator<Entry> it = live.values().iterator(); it.hasNext(); ) {
            Entry e = it.next();
            if (e.waiter != null) {
                drop(e.waiter, dropped);
            }
            if (e.moreWaiters != null) {
                e.moreWaiters.forEach(b -> drop(b, dropped));
            }
            e.clearWaiters();
            switch (e.state) {
                case ADMITTED -> {
                    it.remove();
                    e.gone = true;
                }
                case ASSIGNED -> {
                    if (e.fromOrigin) {
                        // From another datacenter: its filter sends it again, and the new token's mark for its
                        // origin (from the sealed maintainers) tells whether its store landed.
                        it.remove();
                        e.gone = true;
                    } else {
                        e.state = State.VERIFYING;
                        e.verifyAtEpoch = newEpoch;
                        toVerify.add(e);
                    }
                }
                default -> {
                    // STORED waits for its index; VERIFYING goes on
                }
            }
        }
        return dropped;
    }

    private static void drop(Batch b, List<Batch> dropped) {
        if (!b.answered) {
            b.answered = true;
            dropped.add(b);
        }
    }

    /** Copies with this queue (admitted, given an LId, stored and not yet indexed, or being verified). */
    public int liveCount() {
        return live.size();
    }

    public long duplicates() {
        return duplicates;
    }

    long verifications() {
        return verifications;
    }

    /** How far back settled ids are remembered now. */
    long windowCoveredNanos(long now) {
        return seen.coveredNanos(now);
    }

    static long h1(String id) {
        return RingOwners.idHash(id);
    }

    static long h2(String id) {
        return h2(id.getBytes(StandardCharsets.UTF_8));
    }

    private static long h2(byte[] utf8) {
        long b = 0x9E3779B97F4A7C15L;
        for (byte x : utf8) {
            b = Long.rotateLeft(b ^ (x & 0xff), 27) * 0xC2B2AE3D27D4EB4FL;
        }
        b ^= b >>> 31;
        return (b ^ utf8.length) | 1; // odd, so h1 + i * h2 visits distinct bits
    }
}
