package io.chariots.queue;

/**
 * How long the queue waits for each kind of call, in milliseconds: one table
 * for the gRPC links and the simulation, so that what is simulated is what
 * runs. A failed call is retried; a peer is judged dead by how long its calls
 * keep failing ({@link QueueConfig#passTimeout}, {@link QueueConfig#silenceTimeout}),
 * never by one call, so these can be short: a call lost with a broken
 * connection costs one deadline, not a stall.
 */
public final class CallDeadlines {
    /** Passing the token (answered off the successor's loop). */
    public static final long PASS_MS = 300;
    /** Asking a queue whether it holds the token (answered off its loop), or an avoided maintainer whether it answers. */
    public static final long PROBE_MS = 300;
    /** Storing a batch, filling holes, asking which ids a maintainer holds (idempotent, so retried freely). */
    public static final long STORE_MS = 2_000;
    /** Seals, layouts, stats, wake-ups, reports to the controller. */
    public static final long CONTROL_MS = 2_000;
    /** Lookups and cause probes at the indexers. */
    public static final long INDEX_MS = 5_000;

    private CallDeadlines() {
    }
}
