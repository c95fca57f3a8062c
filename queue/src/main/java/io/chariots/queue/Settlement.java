package io.chariots.queue;

import io.chariots.proto.Rejection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The queue's side work that settles records for the filters: learning how
 * far each maintainer has indexed what it stored (so stored records become
 * durable), making cause-timeout rejections durable at the indexers before
 * anyone is told, and verifying ids against the log. Holds the calls in
 * flight; the {@link IdLedger} holds the records. Owned by the queue's loop.
 */
public final class Settlement {
    private static final Logger LOG = LoggerFactory.getLogger(Settlement.class);
    private static final long STATS_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    private static final long RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    /** Calls; replies come back through the matching {@code on...} methods. */
    public interface Links {
        /** Asks a maintainer how far it has indexed ({@code MaintainerStats.indexed_through}). */
        void indexedThrough(String maintainer);

        /**
         * Asks a maintainer which indexers may hold its entries
         * ({@code MaintainerStats.index_holders}); the answer goes to
         * {@code TokenRing.onIndexHolders} with {@code askedAt}. Without it, an
         * indexer that left is counted for the dedup window only.
         */
        default void indexHolders(String maintainer, long askedAt) {
        }

        /** Stores rejections at every indexer; success once at least one took them. */
        void reject(List<String> indexers, long rejectId, List<Rejection> rejections);

        /**
         * Which of {@code ids} the maintainers hold unindexed (none may be
         * listed), then which the indexers know. Each maintainer's answer
         * also goes to {@code TokenRing.onUnindexedFrom}.
         */
        void verify(List<String> maintainers, List<String> indexers, long verifyId, List<String> ids);
    }

    private final Links links;
    private final IdLedger ledger;
    private final int maxBatch;
    private final Set<String> statsInFlight = new HashSet<>();
    private final Map<String, Long> statsDue = new HashMap<>();
    private final List<Rejection> unsent = new ArrayList<>();
    private final Map<Long, List<Rejection>> rejecting = new HashMap<>();
    private final Map<Long, Verification> verifying = new HashMap<>();
    // Maintainer → the epoch in which it was seen to hold nothing unindexed from older epochs: verifications
    // of that epoch need not ask it (so one that dies does not hold them up).
    private final Map<String, Long> indexedBeforeEpoch = new HashMap<>();

    /** A verification in flight: its ids, and the epoch (with its start LId) it was asked in. */
    private record Verification(List<String> ids, long epoch, long epochStartLid) {
    }
    private long nextId = 1;
    private long retryAt;

    Settlement(Links links, IdLedger ledger, int maxBatch) {
        this.links = links;
        this.ledger = ledger;
        this.maxBatch = maxBatch;
    }

    /** A maintainer reported how far it has indexed. */
    void onIndexedThrough(String maintainer, long through, long now) {
        statsInFlight.remove(maintainer);
        ledger.indexed(maintainer, through, now);
    }

    void onIndexedThroughFailed(String maintainer, long now) {
        statsInFlight.remove(maintainer);
        statsDue.put(maintainer, now + RETRY_NANOS);
    }

    /**
     * A maintainer answered a verification: the lowest LId it holds unindexed
     * ({@code 0}: none). If that is above the start of the epoch, it holds
     * nothing unindexed from older epochs and never will (it is sealed
     * against their stores); an id it holds from this epoch is live with its
     * owning queue until indexed, so asking it again could find nothing new.
     */
    void onUnindexedFrom(long verifyId, String maintainer, long lowestUnindexed) {
        Verification v = verifying.get(verifyId);
        if (v != null && (lowestUnindexed == 0 || Long.compareUnsigned(lowestUnindexed, v.epochStartLid()) > 0)) {
            indexedBeforeEpoch.put(maintainer, v.epoch());
        }
    }

    /** A record waited past its cause timeout: its rejection is made durable before anyone learns of it. */
    void reject(Rejection r) {
        unsent.add(r);
    }

    void onRejected(long rejectId, boolean ok, long now) {
        List<Rejection> rs = rejecting.remove(rejectId);
        if (rs == null) {
            return;
        }
        if (ok) {
            for (Rejection r : rs) {
                ledger.rejected(r.getId(), now);
            }
        } else {
            unsent.addAll(rs);
            retryAt = now + RETRY_NANOS;
        }
    }

    /** What the log holds for a verification; returns records to admit (see {@link IdLedger#verified}). */
    List<io.chariots.proto.RecordEnvelope> onVerified(long verifyId, List<IdLedger.Found> found,
                                                      java.util.function.Predicate<String> owns, long now) {
        if (verifying.remove(verifyId) == null) {
            return List.of();
        }
        return ledger.verified(found, owns, now);
    }

    void onVerifyFailed(long verifyId, long now) {
        Verification v = verifying.remove(verifyId);
        if (v != null) {
            ledger.verifyFailed(v.ids());
            retryAt = now + RETRY_NANOS;
        }
    }

    /**
     * Sends what is due: index progress polls for maintainers holding records
     * not yet known indexed, rejections, verifications (only once every
     * maintainer is sealed at {@code sealedEpoch}, which began after
     * {@code epochStartLid}, and only with an indexer to ask). Returns the
     * next deadline.
     */
    long poll(long now, List<String> maintainers, List<String> indexers, long sealedEpoch, long epochStartLid) {
        long next = Long.MAX_VALUE;
        for (String m : ledger.maintainersAwaitingIndex()) {
            if (statsInFlight.contains(m)) {
                continue;
            }
            long due = statsDue.getOrDefault(m, now);
            if (now - due >= 0) {
                statsInFlight.add(m);
                statsDue.put(m, now + STATS_POLL_NANOS);
                links.indexedThrough(m);
            } else {
                next = Math.min(next, due);
            }
        }
        if (now - retryAt < 0) {
            return Math.min(next, retryAt);
        }
        if (!unsent.isEmpty()) {
            if (indexers.isEmpty()) {
                next = Math.min(next, now + RETRY_NANOS);
            } else {
                long id = nextId++;
                List<Rejection> batch = List.copyOf(unsent);
                unsent.clear();
                rejecting.put(id, batch);
                links.reject(indexers, id, batch);
            }
        }
        if (ledger.verifying() > 0 && verifying.size() < 4) {
            if (indexers.isEmpty() || maintainers.isEmpty()) {
                next = Math.min(next, now + RETRY_NANOS);
            } else {
                List<String> ids = ledger.nextToVerify(maxBatch, sealedEpoch);
                if (!ids.isEmpty()) {
                    long id = nextId++;
                    verifying.put(id, new Verification(ids, sealedEpoch, epochStartLid));
                    List<String> ask = new ArrayList<>(maintainers.size());
                    for (String m : maintainers) {
                        if (indexedBeforeEpoch.getOrDefault(m, -1L) != sealedEpoch) {
                            ask.add(m);
                        }
                    }
                    links.verify(ask, indexers, id, ids);
                } else {
                    next = Math.min(next, now + RETRY_NANOS);
                }
            }
        }
        return next;
    }

    /** Rejections not yet durable. */
    int pendingRejections() {
        int n = unsent.size();
        for (List<Rejection> r : rejecting.values()) {
            n += r.size();
        }
        return n;
    }

    void logState() {
        LOG.debug("settlement: {} stats polls, {} rejections, {} verifications in flight", statsInFlight.size(),
                rejecting.size(), verifying.size());
    }
}
