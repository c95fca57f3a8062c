package io.chariots.launcher.chaos;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * What the cluster acknowledged to the chaos load: each id's LId (an id
 * acknowledged twice at different LIds is a violation), when
 * acknowledgements came (in 100 ms buckets, to measure append stalls), how
 * many records were sent, resent and are still unacknowledged. Thread-safe.
 */
public final class AckLedger {
    /** One acknowledgement: the LId, and the path the record took ({@code http:app#1}, {@code tcp:batcher#2}). */
    public record Ack(long lid, String path) {
    }

    static final long BUCKET_NANOS = 100_000_000L;
    private static final int BUCKETS = 1 << 18; // 7 hours of 100 ms buckets

    private final long t0 = System.nanoTime();
    private final AtomicIntegerArray perBucket = new AtomicIntegerArray(BUCKETS);
    private final Map<String, Ack> acked = new ConcurrentHashMap<>();
    private final AtomicLongArray longestWaitByBucket = new AtomicLongArray(BUCKETS);
    /** Unacknowledged id → when it was first sent (nanoTime). */
    private final Map<String, Long> unacked = new ConcurrentHashMap<>();
    private final Map<String, String> causeOf = new ConcurrentHashMap<>();
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong resends = new AtomicLong();
    private final AtomicLong highestLid = new AtomicLong();
    private final List<String> violations = new ArrayList<>();

    /** A record sent for the first time; {@code causeId} names its cause, or is null. */
    void sent(String id, String causeId) {
        sent.incrementAndGet();
        unacked.put(id, System.nanoTime());
        if (causeId != null) {
            causeOf.put(id, causeId);
        }
    }

    /** Records sent again with their ids, after no acknowledgement. */
    void resent(int records) {
        resends.addAndGet(records);
    }

    /** The cluster acknowledged {@code id} at {@code lid}. */
    void acked(String id, long lid, String path) {
        Ack prev = acked.putIfAbsent(id, new Ack(lid, path));
        if (prev != null && prev.lid() != lid) {
            violation("acknowledged twice at different LIds: " + id + " at " + prev.lid() + " (" + prev.path() + ") and at "
                    + lid + " (" + path + ")");
        }
        if (prev == null) {
            long now = System.nanoTime();
            Long sentAt = unacked.remove(id);
            if (sentAt != null) {
                longestWaitByBucket.accumulateAndGet(bucket(now), (now - sentAt) / 1_000_000L, Math::max);
            }
            perBucket.incrementAndGet(bucket(now));
            highestLid.accumulateAndGet(lid, Math::max);
        }
    }

    /** A record the cluster refused for good (409: its cause never came) although its cause was acknowledged. */
    void rejected(String id, String why) {
        unacked.remove(id);
        violation("rejected although its cause was acknowledged before it was sent: " + id + " (" + why + ")");
    }

    synchronized void violation(String what) {
        violations.add(what);
    }

    public synchronized List<String> violations() {
        return List.copyOf(violations);
    }

    /** id → acknowledgement, a snapshot. */
    public Map<String, Ack> acked() {
        return Map.copyOf(acked);
    }

    public int ackedCount() {
        return acked.size();
    }

    /** Ids sent and not (yet) acknowledged. */
    public List<String> unacked() {
        return List.copyOf(unacked.keySet());
    }

    /** Effect id → cause id, for every chain link sent. */
    public Map<String, String> causes() {
        return Map.copyOf(causeOf);
    }

    public long sent() {
        return sent.get();
    }

    public long resends() {
        return resends.get();
    }

    /** The highest LId acknowledged so far (0 before any). */
    public long highestLid() {
        return highestLid.get();
    }

    private int bucket(long nanos) {
        return (int) Math.max(0, Math.min(BUCKETS - 1, (nanos - t0) / BUCKET_NANOS));
    }

    /** Acknowledgements in the window [from, from + length) (nanoTime), counted in whole buckets. */
    public long acksBetween(long fromNanos, long lengthNanos) {
        int a = bucket(fromNanos);
        int b = bucket(fromNanos + lengthNanos - 1);
        long n = 0;
        for (int i = a; i <= b; i++) {
            n += perBucket.get(i);
        }
        return n;
    }

    /**
     * The longest time a record waited from its first send to its
     * acknowledgement, among those acknowledged in [from, until) (nanoTime, whole
     * buckets): a record given an LId on a maintainer that then died waits for
     * its return, while the appends after it flow (the stall).
     */
    public long longestWaitMillis(long fromNanos, long untilNanos) {
        long max = 0;
        for (int i = bucket(fromNanos), b = bucket(untilNanos - 1); i <= b; i++) {
            max = Math.max(max, longestWaitByBucket.get(i));
        }
        return max;
    }

    /**
     * The append stall after a fault: from {@code faultNanos} to the start of the
     * first one-second window (stepping by 100 ms, up to {@code untilNanos}) that holds at
     * least {@code threshold} acknowledgements; {@code -1} if none does.
     */
    public long stallMillis(long faultNanos, long untilNanos, long threshold) {
        for (long w = faultNanos; w + 1_000_000_000L <= untilNanos; w += BUCKET_NANOS) {
            if (acksBetween(w, 1_000_000_000L) >= threshold) {
                return (w - faultNanos) / 1_000_000L;
            }
        }
        return -1;
    }
}
