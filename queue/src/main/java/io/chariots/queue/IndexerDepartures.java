package io.chariots.queue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which indexers together hold the whole index, so that a cause probe
 * answered by fewer of them is known to be incomplete (the cause clock stops:
 * the record waits, it is never told "absent").
 *
 * <p>An indexer listed by the membership is asked. One that left is asked as
 * well (and fails, which stops the clock) until its entries are elsewhere:
 * the maintainers re-feed the share of an indexer gone for good to the
 * others, and until they are done each lists it among its
 * {@code MaintainerStats.index_holders}. So a departed indexer is dropped
 * once every maintainer answered, asked at least {@link #REPORT_MARGIN_NANOS}
 * after it left, without naming it — or, when some maintainer does not
 * answer, once the dedup window has passed and no answer names it (the
 * behaviour before maintainers reported holders).
 *
 * <p>Owned by the queue's loop.
 */
final class IndexerDepartures {
    /** Reports asked this soon after a departure may predate the maintainers' own view of it. */
    static final long REPORT_MARGIN_NANOS = 2_000_000_000L;
    /** How often maintainers are asked while an indexer is away. */
    static final long POLL_NANOS = 1_000_000_000L;

    private record Report(long askedAt, Set<String> holders) {
    }

    private final long windowNanos;
    // Every indexer counted, in the order first seen; for one that left, when the first view without it came.
    private final Map<String, Long> known = new LinkedHashMap<>();
    private final Map<String, Long> leftAt = new HashMap<>();
    private Set<String> listed = Set.of();
    private final Map<String, Report> reports = new HashMap<>();
    private final Map<String, Long> asked = new HashMap<>();

    /** @param windowNanos how long a departed indexer is asked at most when maintainers do not answer */
    IndexerDepartures(long windowNanos) {
        this.windowNanos = windowNanos;
    }

    /** A membership view lists these indexers (gRPC addresses), in join order. */
    void onView(List<String> indexers, long now) {
        listed = Set.copyOf(indexers);
        for (String ix : known.keySet()) {
            if (!listed.contains(ix)) {
                leftAt.putIfAbsent(ix, now);
            }
        }
        for (String ix : indexers) {
            known.putIfAbsent(ix, now);
            leftAt.remove(ix);
        }
    }

    /** Maintainer {@code m}, asked at {@code askedAt}, named the indexers that may hold its entries. */
    void onHolders(String m, long askedAt, Set<String> holders) {
        asked.remove(m);
        Report old = reports.get(m);
        if (old == null || askedAt - old.askedAt() > 0) {
            reports.put(m, new Report(askedAt, Set.copyOf(holders)));
        }
    }

    /** Asking {@code m} failed. */
    void onHoldersFailed(String m) {
        asked.remove(m);
    }

    /** The indexers a cause probe must hear from for a complete answer: listed ones and departed ones still holding entries. */
    List<String> toAsk(List<String> maintainers, long now) {
        known.keySet().removeIf(ix -> leftAt.containsKey(ix) && rebuilt(ix, leftAt.get(ix), maintainers, now));
        leftAt.keySet().retainAll(known.keySet());
        reports.keySet().retainAll(maintainers);
        return List.copyOf(known.keySet());
    }

    private boolean rebuilt(String indexer, long leftAt, List<String> maintainers, long now) {
        boolean allAnswered = !maintainers.isEmpty();
        for (String m : maintainers) {
            Report r = reports.get(m);
            if (r != null && r.holders().contains(indexer)) {
                return false;
            }
            if (r == null || r.askedAt() - (leftAt + REPORT_MARGIN_NANOS) < 0) {
                allAnswered = false;
            }
        }
        return allAnswered || now - leftAt > windowNanos;
    }

    /** Whether some indexer that left is still counted. */
    boolean anyAway() {
        return !leftAt.isEmpty();
    }

    /** Maintainers to ask for their holders now (each marked asked at {@code now}); none while no indexer is away. */
    List<String> due(List<String> maintainers, long now) {
        List<String> out = new ArrayList<>();
        if (!anyAway()) {
            return out;
        }
        for (String m : maintainers) {
            Long at = asked.get(m);
            Report r = reports.get(m);
            boolean fresh = r != null && now - r.askedAt() < POLL_NANOS;
            if (at == null && !fresh) {
                asked.put(m, now);
                out.add(m);
            } else if (at != null && now - at > 10 * POLL_NANOS) {
                asked.put(m, now); // an answer lost: ask again
                out.add(m);
            }
        }
        return out;
    }
}
