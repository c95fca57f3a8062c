package io.chariots.maintainer;

import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.common.membership.Membership;
import io.chariots.proto.IndexBatch;
import io.chariots.proto.IndexEntry;
import io.chariots.proto.Member;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Feeds the indexers with the entries of the records this maintainer
 * stored, so that every stored record is eventually indexed exactly where
 * the stripe map says, whatever the indexers do (fail, restart, join, leave).
 *
 * <p>Routing: the entry of LId {@code l} belongs to block
 * {@code b = (l - 1) / 1000} and goes to indexer {@code indexers[b mod I]},
 * where {@code indexers} are the live indexers of the newest membership in
 * join order. Every maintainer feeds whatever indexers exist (GoChariots
 * paired maintainer i with indexer i, so with 3 maintainers and 1 indexer
 * two maintainers were never indexed). The owner is resolved at send time,
 * so entries held back by a failure or by the absence of indexers go to the
 * owner of the newest view. Readers must therefore ask every indexer.
 *
 * <p>Flow control: at each {@link #poll flush} the pending entries are cut
 * into at most one {@link IndexBatch} per indexer (more only when a batch
 * reaches {@link Limits#maxBatchEntries} or {@link Limits#maxBatchBytes}),
 * and each indexer has at most {@link Limits#window} batches in flight. A
 * failed batch returns to pending and its indexer is left alone for an
 * exponential backoff ({@link Limits#minBackoff} doubling up to
 * {@link Limits#maxBackoff}; reset by a success or a membership change).
 *
 * <p>Durability and memory: pending entries are also durable in the store
 * (every record above its indexed-through watermark that no indexer has
 * acknowledged is found again after a crash), so memory holds at
 * most {@link Limits#maxPending} of them; beyond that they are only on disk
 * and are read back by a scan of the backlog when memory has room. At
 * construction the whole backlog is scheduled for such a scan: after a crash
 * everything not acknowledged by an indexer is sent again (I2, I5). An entry
 * is marked indexed only after its indexer acknowledged it (durably).
 *
 * <p>Threads: owned by the maintainer's {@link EventLoop}; every method runs
 * on that thread. The {@link Sender} must deliver completions back on it.
 * Time comes from the injected {@link NanoClock} and {@link #poll}, so
 * backoffs are tested without sleeping.
 */
public final class IndexFeeder {
    private static final Logger LOG = LoggerFactory.getLogger(IndexFeeder.class);

    /** LIds per block, GoChariots' stripe size: LIds 1..1000 are block 0. */
    public static final long BLOCK_SIZE = 1000;
    /** Entries read back from the on-disk backlog per flush at most. */
    static final int REFILL_STEP = 4096;

    /** Sends index batches to indexers (gRPC in production, a fake in tests). */
    public interface Sender {
        /**
         * Sends {@code batch} to the indexer at {@code indexer} (its gRPC
         * address). Must call {@code done} exactly once, later, on the
         * feeder's loop: with {@code null} when the indexer acknowledged the
         * batch (durably), or with the failure.
         */
        void send(String indexer, IndexBatch batch, Consumer<Throwable> done);
    }

    /** The durable record of what is not yet indexed: the flstore's unindexed records. */
    public interface Backlog {
        /** Entries of unindexed records with LId ≥ {@code fromLid} (unsigned), ascending, at most {@code limit}; empty at the end. */
        List<IndexEntry> unindexed(long fromLid, int limit);

        /** Forgets these LIds: an indexer acknowledged their entries. */
        void markIndexed(List<Long> lids);

        /**
         * Forgets these LIds: {@code indexer} (its gRPC address) acknowledged
         * their entries. What the feeder calls; by default the indexer is not
         * recorded ({@link IndexShares#recording} records it).
         */
        default void markIndexed(List<Long> lids, String indexer) {
            markIndexed(lids);
        }
    }

    /**
     * Told which entries an indexer has acknowledged (after the store marked
     * them indexed). Runs on the feeder's loop; must not block it.
     */
    @FunctionalInterface
    public interface Indexed {
        Indexed NONE = entries -> { };

        /** {@code entries} are persisted and indexed: they are in the log. */
        void indexed(List<IndexEntry> entries);
    }

    /**
     * Flow-control limits.
     *
     * @param window          batches in flight per indexer
     * @param maxBatchEntries entries per batch at most
     * @param maxBatchBytes   serialized entry bytes per batch at most (about)
     * @param maxPending      entries held in memory at most; the rest wait on disk
     * @param minBackoff      first pause of an indexer after a failure
     * @param maxBackoff      longest pause
     */
    public record Limits(int window, int maxBatchEntries, int maxBatchBytes, int maxPending,
                         Duration minBackoff, Duration maxBackoff) {
        public Limits {
            if (window < 1 || maxBatchEntries < 1 || maxBatchBytes < 1 || maxPending < 2) {
                throw new IllegalArgumentException("invalid index feeder limits: " + window + "/" + maxBatchEntries
                        + "/" + maxBatchBytes + "/" + maxPending);
            }
        }

        public static Limits defaults() {
            return new Limits(4, 4096, 1 << 20, 50_000, Duration.ofMillis(100), Duration.ofSeconds(5));
        }
    }

    /** Per-indexer flow state, kept while the indexer is listed or has batches in flight. */
    private static final class IndexerState {
        int inFlight;
        int failures;
        boolean backingOff;
        long retryAt;
    }

    /** One batch on its way to an indexer. */
    private record InFlight(String indexer, List<IndexEntry> entries) {
        List<Long> lids() {
            List<Long> out = new ArrayList<>(entries.size());
            for (IndexEntry e : entries) {
                out.add(e.getLid());
            }
            return out;
        }
    }

    /** The batch being filled for one indexer during a flush. */
    private final class Outgoing {
        final String indexer;
        int slots;
        List<IndexEntry> entries;
        long bytes;

        Outgoing(String indexer, int slots) {
            this.indexer = indexer;
            this.slots = slots;
        }

        boolean canTake() {
            return entries != null || slots > 0;
        }

        void add(IndexEntry e, List<InFlight> ready) {
            if (entries == null) {
                entries = new ArrayList<>();
                bytes = 0;
                slots--;
            }
            entries.add(e);
            bytes += e.getSerializedSize();
            if (entries.size() >= limits.maxBatchEntries() || bytes >= limits.maxBatchBytes()) {
                seal(ready);
            }
        }

        void seal(List<InFlight> ready) {
            if (entries != null) {
                ready.add(new InFlight(indexer, entries));
                entries = null;
            }
        }
    }

    private final Backlog backlog;
    private final Sender sender;
    private final NanoClock clock;
    private final Limits limits;
    private final Indexed indexed;
    private final TreeMap<Long, IndexEntry> pending = new TreeMap<>(Long::compareUnsigned);
    private final Set<Long> inFlight = new HashSet<>();
    // Entries being re-fed (indexed before, on an indexer that left): the store holds them as indexed,
    // so they are never spilled to the on-disk backlog. The re-feed bounds how many it hands over.
    private final Set<Long> refeeding = new HashSet<>();
    private final Map<String, IndexerState> states = new HashMap<>();
    private Membership membership = Membership.NONE;
    private List<Member> indexerMembers = List.of();
    private List<String> indexers = List.of();
    private boolean scanning = true;
    private long scanFrom = 0;
    private boolean warnedNoIndexer;

    private volatile long entriesSent;
    private volatile long entriesAcked;
    private volatile long batchesFailed;
    private volatile int pendingInMemory;
    private volatile int entriesInFlight;
    private volatile int indexerCount;

    /**
     * A feeder whose first flushes, once an indexer is known, re-send the
     * whole on-disk backlog of {@code backlog}.
     */
    public IndexFeeder(Backlog backlog, Sender sender, NanoClock clock, Limits limits) {
        this(backlog, sender, clock, limits, Indexed.NONE);
    }

    /** As above, telling {@code indexed} of every batch an indexer acknowledged. */
    public IndexFeeder(Backlog backlog, Sender sender, NanoClock clock, Limits limits, Indexed indexed) {
        this.backlog = backlog;
        this.sender = sender;
        this.clock = clock;
        this.limits = limits;
        this.indexed = indexed;
    }

    /** The block of {@code lid} (≥ 1): {@code (lid - 1) / 1000}, unsigned. */
    public static long blockOf(long lid) {
        return Long.divideUnsigned(lid - 1, BLOCK_SIZE);
    }

    /**
     * Queues the entries of records just stored (they are durable, and the
     * store counts them unindexed). They are sent at the next {@link #poll}, batched
     * with whatever else is pending.
     */
    public void add(List<RecordEnvelope> stored) {
        for (RecordEnvelope r : stored) {
            if (!r.getHole()) { // another datacenter's TOId hole: nothing to index
                addPending(IndexEntries.of(r));
            }
        }
        pendingInMemory = pending.size();
    }

    /**
     * Entries of records indexed before, on an indexer that left for good:
     * sent again, in LId order with everything pending, to their blocks'
     * current owners. They stay in memory until acknowledged (they have no
     * unindexed record in the store to fall back on), so the caller bounds how many it hands
     * over. An LId already in flight is left to that batch.
     */
    public void refeed(List<IndexEntry> entries) {
        for (IndexEntry e : entries) {
            long lid = e.getLid();
            if (lid == 0 || inFlight.contains(lid)) {
                continue;
            }
            refeeding.add(lid);
            pending.putIfAbsent(lid, e);
        }
        pendingInMemory = pending.size();
    }

    private void addPending(IndexEntry e) {
        long lid = e.getLid();
        if (lid == 0 || inFlight.contains(lid)) {
            return;
        }
        if (pending.size() < limits.maxPending() || pending.containsKey(lid) || refeeding.contains(lid)) {
            pending.put(lid, e);
        } else {
            spill(lid);
        }
    }

    /** Leaves {@code lid} on disk only; the backlog scan will come back for it. */
    private void spill(long lid) {
        if (!scanning || Long.compareUnsigned(lid, scanFrom) < 0) {
            scanFrom = lid;
        }
        scanning = true;
    }

    /**
     * Applies a membership view if it is newer than the last one: the live
     * indexers (with a gRPC address) in join order become the routing table
     * for everything sent from now on. A changed set of indexers also clears
     * the backoffs, so a restarted indexer is tried at once.
     *
     * @return whether the view was newer (and applied)
     */
    public boolean onMembership(Membership view) {
        if (!view.isNewerThan(membership)) {
            return false;
        }
        membership = view;
        List<Member> members = view.members(Role.INDEXER);
        if (members.equals(indexerMembers)) {
            return true;
        }
        indexerMembers = members;
        List<String> next = new ArrayList<>();
        for (Member m : members) {
            String addr = m.getGrpcAddress();
            if (addr.isEmpty()) {
                LOG.warn("indexer {} registered without a gRPC address; it cannot be fed", m.getAddress());
            } else if (!next.contains(addr)) {
                next.add(addr);
            }
        }
        if (!next.equals(indexers)) {
            LOG.info("feeding {} indexer(s): {}", next.size(), next);
        }
        indexers = List.copyOf(next);
        indexerCount = indexers.size();
        warnedNoIndexer = false;
        for (IndexerState st : states.values()) {
            st.backingOff = false;
            st.failures = 0;
        }
        pruneStates();
        return true;
    }

    /** The indexers entries are routed to, in join order (their gRPC addresses). */
    public List<String> indexers() {
        return indexers;
    }

    /**
     * The loop's timed work: reads back part of the on-disk backlog if memory
     * has room, sends what pending entries the windows allow, and returns the
     * next deadline (the end of a backoff, or now if more backlog is to be
     * read), or {@link EventLoop.Ticker#NO_DEADLINE}.
     */
    public long poll(long now) {
        flush(now);
        pendingInMemory = pending.size();
        entriesInFlight = inFlight.size();
        return nextDeadline(now);
    }

    private void flush(long now) {
        if (indexers.isEmpty()) {
            if (!warnedNoIndexer && membership != Membership.NONE && !pending.isEmpty()) {
                warnedNoIndexer = true;
                LOG.warn("no indexer known: records stay unindexed (on disk) until one joins");
            }
            return;
        }
        refill();
        if (pending.isEmpty()) {
            return;
        }
        Map<String, Outgoing> outgoing = new LinkedHashMap<>();
        int open = 0;
        for (String addr : indexers) {
            IndexerState st = state(addr);
            int slots = st.backingOff && now - st.retryAt < 0 ? 0 : Math.max(0, limits.window() - st.inFlight);
            outgoing.put(addr, new Outgoing(addr, slots));
            if (slots > 0) {
                open++;
            }
        }
        if (open == 0) {
            return;
        }
        List<InFlight> ready = new ArrayList<>();
        Long lid = pending.firstKey();
        while (lid != null) {
            long block = blockOf(lid);
            long nextBlock = (block + 1) * BLOCK_SIZE + 1;
            boolean lastBlock = Long.compareUnsigned(nextBlock, lid) <= 0;
            Outgoing out = outgoing.get(ownerOf(block));
            if (!out.canTake()) {
                lid = lastBlock ? null : pending.ceilingKey(nextBlock);
                continue;
            }
            Iterator<IndexEntry> it = (lastBlock ? pending.tailMap(lid, true)
                    : pending.subMap(lid, true, nextBlock, false)).values().iterator();
            while (it.hasNext() && out.canTake()) {
                out.add(it.next(), ready);
                it.remove();
            }
            if (!out.canTake() && --open == 0) {
                break;
            }
            lid = pending.ceilingKey(lid);
        }
        for (Outgoing out : outgoing.values()) {
            out.seal(ready);
        }
        for (InFlight f : ready) {
            dispatch(f);
        }
    }

    private String ownerOf(long block) {
        return indexers.get((int) Long.remainderUnsigned(block, indexers.size()));
    }

    private void refill() {
        if (!scanning || pending.size() >= limits.maxPending() / 2) {
            return;
        }
        int room = Math.min(limits.maxPending() - pending.size(), REFILL_STEP);
        List<IndexEntry> found = backlog.unindexed(scanFrom, room);
        if (found.isEmpty()) {
            scanning = false;
            return;
        }
        for (IndexEntry e : found) {
            if (!inFlight.contains(e.getLid())) {
                pending.putIfAbsent(e.getLid(), e);
            }
        }
        scanFrom = found.get(found.size() - 1).getLid() + 1;
        if (scanFrom == 0) {
            scanning = false;
        }
    }

    private void dispatch(InFlight f) {
        IndexerState st = state(f.indexer());
        st.inFlight++;
        for (IndexEntry e : f.entries()) {
            inFlight.add(e.getLid());
        }
        entriesSent += f.entries().size();
        IndexBatch batch = IndexBatch.newBuilder().addAllEntries(f.entries()).build();
        try {
            sender.send(f.indexer(), batch, failure -> completed(f, failure));
        } catch (RuntimeException e) {
            completed(f, e);
        }
    }

    private void completed(InFlight f, Throwable failure) {
        IndexerState st = state(f.indexer());
        st.inFlight--;
        for (IndexEntry e : f.entries()) {
            inFlight.remove(e.getLid());
        }
        if (failure == null) {
            st.failures = 0;
            st.backingOff = false;
            entriesAcked += f.entries().size();
            List<Long> lids = f.lids();
            refeeding.removeAll(lids);
            try {
                backlog.markIndexed(lids, f.indexer());
            } catch (RuntimeException e) {
                // The entries are indexed; the store not knowing only causes a resend after a restart.
                LOG.error("cannot mark {} LIds indexed: {}", f.entries().size(), e.toString());
            }
            // Indexed and durable on both sides: the records are in the log, whoever waits may hear so.
            indexed.indexed(f.entries());
        } else {
            batchesFailed++;
            st.failures++;
            long pause = backoffNanos(st.failures);
            st.backingOff = true;
            st.retryAt = clock.nanoTime() + pause;
            if (Integer.bitCount(st.failures) == 1) {
                LOG.warn("indexer {}: batch of {} entries failed ({} in a row), retrying in {} ms: {}", f.indexer(),
                        f.entries().size(), st.failures, pause / 1_000_000, failure.toString());
            }
            for (IndexEntry e : f.entries()) {
                addPending(e);
            }
        }
        pendingInMemory = pending.size();
        entriesInFlight = inFlight.size();
        pruneStates();
    }

    private long backoffNanos(int failures) {
        long min = limits.minBackoff().toNanos();
        long max = limits.maxBackoff().toNanos();
        int shift = Math.min(failures - 1, 30);
        long pause = min << shift;
        return pause <= 0 || pause > max ? max : pause;
    }

    private IndexerState state(String addr) {
        return states.computeIfAbsent(addr, a -> new IndexerState());
    }

    private void pruneStates() {
        states.entrySet().removeIf(e -> e.getValue().inFlight == 0 && !indexers.contains(e.getKey()));
    }

    private long nextDeadline(long now) {
        if (indexers.isEmpty()) {
            return EventLoop.Ticker.NO_DEADLINE;
        }
        if (scanning && pending.size() < limits.maxPending() / 2) {
            return now;
        }
        if (pending.isEmpty()) {
            return EventLoop.Ticker.NO_DEADLINE;
        }
        long next = EventLoop.Ticker.NO_DEADLINE;
        for (String addr : indexers) {
            IndexerState st = states.get(addr);
            if (st != null && st.backingOff && st.retryAt - now > 0) {
                next = EventLoop.Ticker.earlier(next, st.retryAt);
            }
        }
        return next;
    }

    /** Entries waiting in memory to be sent (more may wait on disk only). */
    public int pendingInMemory() {
        return pendingInMemory;
    }

    /** Entries sent and not yet acknowledged or failed. */
    public int entriesInFlight() {
        return entriesInFlight;
    }

    /** Number of indexers being fed. */
    public int indexerCount() {
        return indexerCount;
    }

    /** Entries sent to indexers, retries included. */
    public long entriesSent() {
        return entriesSent;
    }

    /** Entries acknowledged by indexers. */
    public long entriesAcked() {
        return entriesAcked;
    }

    /** Batches that failed (and were queued again). */
    public long batchesFailed() {
        return batchesFailed;
    }

    /** Batches in flight to {@code indexer} (for tests and diagnostics; loop thread only). */
    int inFlightBatches(String indexer) {
        IndexerState st = states.get(indexer);
        return st == null ? 0 : st.inFlight;
    }

    /** Whether part of the on-disk backlog is still to be read back (loop thread only). */
    boolean scanningBacklog() {
        return scanning;
    }
}
