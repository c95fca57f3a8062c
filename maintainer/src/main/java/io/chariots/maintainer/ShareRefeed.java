package io.chariots.maintainer;

import io.chariots.proto.IndexEntry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashSet;
import java.util.List;
import java.util.NavigableSet;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * Rebuilds the share of the index held by indexers that left for good, from
 * this maintainer's own store: the index is derived state, and every entry
 * an indexer held came from some maintainer's records.
 *
 * <p>When the {@link DepartureWatch} judges holders gone, the blocks they may
 * hold ({@link IndexShares#blocksHeldBy}) are scanned in LId order and their
 * entries handed to the {@link IndexFeeder}, which sends each to its block's
 * owner among the indexers that remain, with its windows and backoffs. At
 * most {@code window} entries are handed over and not yet acknowledged, so
 * memory stays bounded however large the share. Progress ("every LId up to X
 * is re-fed for these departed indexers") is saved after every acknowledged
 * batch, so a restarted maintainer resumes there. Another departure during a
 * re-feed joins it and restarts the scan from LId 1 (blocks already done for
 * the first are skipped only if the second does not hold them).
 *
 * <p>When done, the departed indexers are forgotten as holders — unless one
 * came back meanwhile (it holds its share again, and copies do no harm).
 *
 * <p>Owned by the maintainer's loop.
 */
public final class ShareRefeed {
    private static final Logger LOG = LoggerFactory.getLogger(ShareRefeed.class);

    /** The entries of stored records (holes skipped), read from the flstore. */
    public interface Source {
        /**
         * Entries of the records with LIds in {@code [fromLid, toLid)} (unsigned), ascending, at most
         * {@code limit}, without {@code ack_to} (nobody waits for a re-fed entry).
         */
        List<IndexEntry> entries(long fromLid, long toLid, int limit);
    }

    /** Where entries go: the feeder ({@link IndexFeeder#refeed}). */
    public interface Target {
        void refeed(List<IndexEntry> entries);
    }

    private final IndexShares shares;
    private final DepartureWatch watch;
    private final Source source;
    private final Target target;
    private final int window;

    private Set<String> departed = Set.of();
    private NavigableSet<Long> blocks = new TreeSet<>();
    private long cursor;
    private boolean scanned;
    private final NavigableSet<Long> outstanding = new TreeSet<>(Long::compareUnsigned);
    private long savedThrough;
    private long refedThisRun;
    private long startedAt;

    private volatile long entriesRefed;
    private volatile int pendingBlocks;
    private volatile List<String> departedNow = List.of();
    private volatile long throughNow;

    /**
     * @param window entries handed to the feeder and not yet acknowledged, at most
     * @param now    the loop's clock now; a re-feed saved before a restart resumes from its progress
     */
    public ShareRefeed(IndexShares shares, DepartureWatch watch, Source source, Target target, int window, long now) {
        this.shares = shares;
        this.watch = watch;
        this.source = source;
        this.target = target;
        this.window = window;
        shares.progress().ifPresent(p -> {
            LOG.info("resuming the re-feed of the index share of departed indexer(s) {} after LId {}",
                    p.departed(), Long.toUnsignedString(p.through()));
            begin(p.departed(), p.through(), now);
        });
    }

    private void begin(Set<String> gone, long through, long now) {
        departed = Set.copyOf(gone);
        blocks = shares.blocksHeldBy(departed);
        cursor = through + 1;
        savedThrough = through;
        scanned = false;
        startedAt = now;
        departedNow = List.copyOf(new TreeSet<>(departed));
        throughNow = through;
        updatePending();
    }

    /**
     * Judges departures, starts or widens a re-feed, hands the feeder what
     * the window allows and finishes when every entry is acknowledged.
     * Returns the next deadline.
     */
    public long poll(long now) {
        Set<String> candidates = new HashSet<>(shares.holders());
        candidates.removeAll(departed);
        Set<String> gone = watch.gone(candidates, now);
        if (!gone.isEmpty()) {
            Set<String> all = new HashSet<>(departed);
            all.addAll(gone);
            NavigableSet<Long> held = shares.blocksHeldBy(gone);
            LOG.info("indexer(s) {} left for good (absent from the membership longer than the gone time): "
                    + "re-feeding their share of the index, {} block(s) of this maintainer's records, to the "
                    + "indexers that remain", new TreeSet<>(gone), held.size());
            begin(all, 0, departed.isEmpty() ? now : startedAt);
            shares.saveProgress(new IndexShares.Progress(departed, 0));
        }
        if (departed.isEmpty()) {
            return watch.nextJudgement();
        }
        fill();
        if (scanned && outstanding.isEmpty()) {
            finish(now);
        }
        updatePending();
        return watch.nextJudgement();
    }

    private void fill() {
        while (!scanned && outstanding.size() < window) {
            Long block = blocks.ceiling(IndexFeeder.blockOf(cursor));
            if (block == null) {
                scanned = true;
                break;
            }
            long blockStart = block * IndexFeeder.BLOCK_SIZE + 1;
            long from = Long.compareUnsigned(cursor, blockStart) > 0 ? cursor : blockStart;
            long to = blockStart + IndexFeeder.BLOCK_SIZE;
            int room = window - outstanding.size();
            List<IndexEntry> found = source.entries(from, to, room);
            if (found.size() < room) {
                cursor = to;
            } else {
                cursor = found.get(found.size() - 1).getLid() + 1;
            }
            if (cursor == 0) { // wrapped past the last LId
                scanned = true;
            }
            if (!found.isEmpty()) {
                for (IndexEntry e : found) {
                    outstanding.add(e.getLid());
                }
                target.refeed(found);
            }
        }
    }

    /** The feeder reports entries acknowledged by an indexer (re-fed or not). */
    public void onIndexed(List<IndexEntry> entries) {
        if (departed.isEmpty() || outstanding.isEmpty()) {
            return;
        }
        int done = 0;
        for (IndexEntry e : entries) {
            if (outstanding.remove(e.getLid())) {
                done++;
            }
        }
        if (done == 0) {
            return;
        }
        refedThisRun += done;
        entriesRefed += done;
        long through = computeThrough();
        if (through != savedThrough) {
            shares.saveProgress(new IndexShares.Progress(departed, through));
            savedThrough = through;
            throughNow = through;
        }
    }

    /** Every LId up to here is re-fed (and acknowledged), or waits for nothing. */
    private long computeThrough() {
        long next = cursor;
        if (!outstanding.isEmpty() && Long.compareUnsigned(outstanding.first(), next) < 0) {
            next = outstanding.first();
        }
        return next - 1;
    }

    private void finish(long now) {
        Set<String> forget = new HashSet<>();
        for (String d : departed) {
            if (!watch.listed(d)) {
                forget.add(d);
            }
        }
        shares.finish(forget);
        LOG.info("re-feed done: the index share of departed indexer(s) {} is rebuilt on the others; {} entries "
                        + "re-fed in {} ms", new TreeSet<>(departed), refedThisRun,
                TimeUnit.NANOSECONDS.toMillis(now - startedAt));
        departed = Set.of();
        blocks = new TreeSet<>();
        refedThisRun = 0;
        departedNow = List.of();
        throughNow = 0;
    }

    private void updatePending() {
        if (departed.isEmpty()) {
            pendingBlocks = 0;
            return;
        }
        long from = IndexFeeder.blockOf(computeThrough() + 1);
        pendingBlocks = blocks.tailSet(from, true).size();
    }

    /** Whether a re-feed runs. */
    public boolean running() {
        return !departedNow.isEmpty();
    }

    /** Blocks of the departed share not yet re-fed and acknowledged (0 when no re-feed runs). */
    public int pendingBlocks() {
        return pendingBlocks;
    }

    /** The departed indexers whose share is being re-fed, sorted; empty when none. */
    public List<String> departed() {
        return departedNow;
    }

    /** Every LId up to here is re-fed, in the running re-feed. */
    public long throughLid() {
        return throughNow;
    }

    /** Entries re-fed and acknowledged since start. */
    public long entriesRefed() {
        return entriesRefed;
    }

    /** Nothing re-fed is waiting for an indexer's acknowledgement (loop thread; for tests). */
    int outstanding() {
        return outstanding.size();
    }
}
