package io.chariots.maintainer;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Judges when an indexer has left for good: it holds part of the index
 * ({@link IndexShares#holders()}) and has been absent from every membership
 * view for {@code goneNanos} ({@code maintainer.indexer_gone_ms}). An indexer
 * restarted within that time (same gRPC address) is listed again and nothing
 * happens; its data is still on its disk.
 *
 * <p>Absence is timed from the first view that does not list it, or, for an
 * indexer absent when this maintainer starts, from the first view this
 * maintainer receives (before any view nothing is known, so nothing is gone).
 * Owned by the maintainer's loop.
 */
public final class DepartureWatch {
    private final long goneNanos;
    private final Map<String, Long> absentSince = new HashMap<>();
    private Set<String> listed;

    /** @param goneNanos how long an indexer must be absent to be judged gone for good */
    public DepartureWatch(long goneNanos) {
        this.goneNanos = goneNanos;
    }

    /** The indexers (gRPC addresses) a new membership view lists. */
    public void onView(Set<String> indexers, long now) {
        Set<String> before = listed == null ? Set.of() : listed;
        listed = Set.copyOf(indexers);
        for (String b : before) {
            if (!listed.contains(b)) {
                absentSince.putIfAbsent(b, now);
            }
        }
        absentSince.keySet().removeIf(listed::contains);
    }

    /**
     * Which of {@code holders} have been absent for at least the gone time at
     * {@code now}. Starts timing absent holders not timed yet (those absent
     * since before this maintainer's first view).
     */
    public Set<String> gone(Set<String> holders, long now) {
        Set<String> out = new HashSet<>();
        if (listed == null) {
            return out;
        }
        absentSince.keySet().retainAll(holders);
        for (String h : holders) {
            if (listed.contains(h)) {
                continue;
            }
            long since = absentSince.computeIfAbsent(h, x -> now);
            if (now - since >= goneNanos) {
                out.add(h);
            }
        }
        return out;
    }

    /** Whether {@code indexer} is listed by the newest view. */
    public boolean listed(String indexer) {
        return listed != null && listed.contains(indexer);
    }

    /** The earliest time at which an absent holder will be judged gone, or {@code Long.MAX_VALUE}. */
    public long nextJudgement() {
        long next = Long.MAX_VALUE;
        for (long since : absentSince.values()) {
            next = Math.min(next, since + goneNanos);
        }
        return next;
    }
}
