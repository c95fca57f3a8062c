package io.chariots.queue;

import java.util.SplittableRandom;

/**
 * A queue's filter of recent ids ({@link RecentIdFilter}, {@code queue.dedup_filter_mb}) alone, in this
 * process, for {@code ./chariots bench-ids}: it fills some of its segments, then times what a queue does
 * for every record, asking about an id never seen (the common case: every segment is read) and adding one.
 * Every id added is asked about again at the end, and must be answered "maybe".
 */
public final class RecentIdsBench {
    /** Any clock: the bench runs at one instant, so segments start when full, never by age. */
    private static final long T0 = 1_000_000_000_000L;
    /** The queue's default {@code queue.dedup_window_ms}. */
    private static final long WINDOW = 600_000_000_000L;

    /**
     * @param segments           segments live when timed (read from the filter)
     * @param askNanos           ns to ask about an id never seen
     * @param addNanos           ns to add an id, over the last segment's
     * @param asksPerRound       ids never seen asked about
     * @param falsePositiveShare the share of those answered "maybe"
     */
    public record Round(int segments, double askNanos, double addNanos, int asksPerRound, double falsePositiveShare) {
    }

    private RecentIdsBench() {
    }

    /** Segments live at most in a filter, the current one included. */
    public static final int MAX_SEGMENTS = RecentIdFilter.MAX_LIVE;

    /** Ids one segment of a filter of {@code bytes} takes. */
    public static int segmentCapacity(long bytes) {
        return RecentIdFilter.capacityOf(RecentIdFilter.segmentWords(bytes));
    }

    /** Heap one segment of a filter of {@code bytes} takes. */
    public static long segmentBytes(long bytes) {
        return RecentIdFilter.segmentWords(bytes) * 8L;
    }

    /**
     * Fills a filter of {@code bytes} until {@code segments} segments (1 to {@link #MAX_SEGMENTS}) are live, the last one full,
     * timing the adds of the last segment, then asks about {@code asks} ids never seen.
     *
     * @throws IllegalStateException if an id added is answered "no"
     */
    public static Round run(long bytes, int segments, int asks, long seed) {
        if (segments < 1 || segments > MAX_SEGMENTS) {
            throw new IllegalArgumentException("segments must be 1 to " + MAX_SEGMENTS + ", not " + segments);
        }
        RecentIdFilter f = new RecentIdFilter(WINDOW, bytes, T0);
        int per = f.segmentCapacity();
        SplittableRandom ids = new SplittableRandom(seed);
        long added = (long) segments * per;
        long lastStart = added - per;
        long t0 = 0;
        for (long i = 0; i < added; i++) {
            if (i == lastStart) {
                t0 = System.nanoTime();
            }
            f.add(ids.nextLong(), ids.nextLong() | 1, T0);
        }
        double addNanos = (System.nanoTime() - t0) / (double) per;
        if (f.segments() != segments) {
            throw new IllegalStateException(f.segments() + " segments live, not " + segments);
        }
        SplittableRandom fresh = new SplittableRandom(seed ^ 0x5DEECE66DL); // another stream: ids none of those added
        int maybe = 0;
        long t1 = System.nanoTime();
        for (int i = 0; i < asks; i++) {
            if (f.mayContain(fresh.nextLong(), fresh.nextLong() | 1, T0)) {
                maybe++;
            }
        }
        double askNanos = (System.nanoTime() - t1) / (double) asks;
        SplittableRandom again = new SplittableRandom(seed);
        for (long i = 0; i < added; i++) {
            if (!f.mayContain(again.nextLong(), again.nextLong() | 1, T0)) {
                throw new IllegalStateException("the " + (i + 1) + "th id added was answered \"never seen\"");
            }
        }
        return new Round(f.segments(), askNanos, addNanos, asks, maybe / (double) asks);
    }
}
