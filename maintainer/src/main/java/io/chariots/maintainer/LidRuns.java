package io.chariots.maintainer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A set of LIds kept as runs of consecutive LIds (unsigned order): the
 * flstore's records not yet indexed. A maintainer's LIds come in stripes and
 * are stored and acknowledged in batches, so the runs stay few: one per
 * stripe block or so (ten million unindexed records while the indexers are
 * down cost about ten thousand runs, more where holes split them), not ten
 * million boxed longs.
 *
 * <p>Thread-safe: every method holds the set's monitor (the writes come from
 * the maintainer's loop, the reads also from its gRPC threads).
 */
final class LidRuns {
    /** Run start → run end (inclusive), unsigned order. */
    private final TreeMap<Long, Long> runs = new TreeMap<>(Long::compareUnsigned);
    private long size;

    /** Adds {@code lid}; false if it was there already. */
    synchronized boolean add(long lid) {
        Map.Entry<Long, Long> below = runs.floorEntry(lid);
        if (below != null && Long.compareUnsigned(lid, below.getValue()) <= 0) {
            return false;
        }
        boolean joinsBelow = below != null && below.getValue() + 1 == lid;
        Long nextEnd = lid == -1L ? null : runs.get(lid + 1);
        long start = joinsBelow ? below.getKey() : lid;
        long end = lid;
        if (nextEnd != null) {
            runs.remove(lid + 1);
            end = nextEnd;
        }
        runs.put(start, end);
        size++;
        return true;
    }

    /** Removes {@code lid}; false if it was not there. */
    synchronized boolean remove(long lid) {
        Map.Entry<Long, Long> run = runs.floorEntry(lid);
        if (run == null || Long.compareUnsigned(lid, run.getValue()) > 0) {
            return false;
        }
        long start = run.getKey();
        long end = run.getValue();
        if (start == lid) {
            runs.remove(start);
        } else {
            runs.put(start, lid - 1);
        }
        if (end != lid) {
            runs.put(lid + 1, end);
        }
        size--;
        return true;
    }

    synchronized boolean contains(long lid) {
        Map.Entry<Long, Long> run = runs.floorEntry(lid);
        return run != null && Long.compareUnsigned(lid, run.getValue()) <= 0;
    }

    /** How many LIds the set holds. */
    synchronized long size() {
        return size;
    }

    /** The lowest LId (unsigned), or 0 when empty (LId 0 is never stored). */
    synchronized long first() {
        return runs.isEmpty() ? 0 : runs.firstKey();
    }

    /** At most {@code limit} LIds from {@code fromLid} on (unsigned), ascending. */
    synchronized List<Long> from(long fromLid, int limit) {
        List<Long> out = new ArrayList<>();
        Map.Entry<Long, Long> first = runs.floorEntry(fromLid);
        Long key = first != null && Long.compareUnsigned(fromLid, first.getValue()) <= 0 ? first.getKey()
                : runs.ceilingKey(fromLid);
        while (key != null && out.size() < limit) {
            long end = runs.get(key);
            long lid = Long.compareUnsigned(key, fromLid) < 0 ? fromLid : key;
            while (out.size() < limit) {
                out.add(lid);
                if (lid == end) {
                    break;
                }
                lid++;
            }
            key = runs.higherKey(key);
        }
        return out;
    }

    /** How many runs the set is kept as (for tests and metrics). */
    synchronized int runCount() {
        return runs.size();
    }
}
