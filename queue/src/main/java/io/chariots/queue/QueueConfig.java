package io.chariots.queue;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;

import java.time.Duration;

/**
 * Queue tunables, validated once at start. Keys are {@code queue.*}.
 *
 * @param hold              start the first epoch at once when no token exists ({@code --hold}); the others wait {@code token_timeout_ms}
 * @param causeTimeout      how long a record may wait for its cause (while the indexers answer) before it is rejected; {@code queue.cause_timeout_ms}, default 30000
 * @param recentCapacity    how many recently stored (tag hash, seed) pairs are remembered; {@code queue.recent_capacity}, default 262144
 * @param maintainerWindow  batches in flight per maintainer; {@code queue.maintainer_window}, default 4
 * @param maxBatch          records per batch to a maintainer, keys per indexer probe, ids per verification; {@code queue.max_batch}, default 4000
 * @param maxBuffered       records with this queue (admitted and not yet durable) and not waiting for a cause, above which filters are told to retry; {@code queue.max_buffered}, default 200000
 * @param maxWaiting        records waiting here for a cause: with more, the longest-waiting are rejected at once, as at their cause timeout but counted apart (batches are not refused for them, or they would lock the causes out; only while the indexers cannot be asked, when none is crowded out, are batches refused at this bound); {@code queue.max_waiting}, default 50000
 * @param maxWaitingBytes   bytes of the records waiting here for a cause: past them, as past {@code maxWaiting}, the longest-waiting are rejected (records of megabytes whose causes never come would otherwise hold gigabytes); {@code queue.max_waiting_mb}, default 64
 * @param maxPerHold        records assigned per token hold, so the token keeps moving; {@code queue.max_per_hold}, default 20000
 * @param maxWanted         causes this queue asks the ring for at once; {@code queue.max_wanted}, default 1000 (the token carries them round the ring at every hop; the indexers are asked about the rest)
 * @param idleHold          longest an idle token is held before moving on; {@code queue.idle_hold_ms}, default 20
 * @param reprobeMin        first delay before asking the indexers again about a missing cause; {@code queue.reprobe_min_ms}, default 20
 * @param reprobeMax        longest such delay; {@code queue.reprobe_max_ms}, default 1000
 * @param tokenTimeout      a queue that has not seen the token for this long asks the ring, and starts a new epoch if nobody holds it; {@code queue.token_timeout_ms}, default 1500
 * @param passTimeout       a successor that refuses the token (or whose process is gone) for this long is left out of the ring; {@code queue.pass_timeout_ms}, default 1000
 * @param silenceTimeout    a queue that keeps its connections but answers nothing (paused, starved, cut off) for this long is taken for dead: skipped as a successor, and the token it may hold is recovered; {@code queue.silence_timeout_ms}, default 6000 (long enough for a GC pause of a loaded machine: a killed process is refused at once instead)
 * @param quiesceTimeout    longest a planned ring change waits for every LId given out to be stored before sealing anyway (LIds still unstored then become holes); {@code queue.quiesce_timeout_ms}, default 5000
 * @param dedupWindow       how long ids are remembered to drop later copies (a retry after this may append twice); {@code queue.dedup_window_ms}, default 600000
 * @param dedupSettled      settled ids remembered exactly (the rest of the window in a Bloom filter); {@code queue.dedup_settled}, default 500000
 * @param dedupFilterBytes  memory of the window's Bloom filter; {@code queue.dedup_filter_mb}, default 64
 * @param maintainerFailures calls in a row a maintainer may fail before new LIds go to the others; {@code queue.maintainer_failures}, default 3
 * @param maintainerRetry   how long a failed maintainer the view still lists gets no new LIds before it is tried again (a restarted one is tried at once); {@code queue.maintainer_retry_ms}, default 5000
 * @param datacenter        this datacenter's id (config {@code id}): the origin whose records get TOIds here
 */
public record QueueConfig(boolean hold, Duration causeTimeout, int recentCapacity, int maintainerWindow, int maxBatch,
                   int maxBuffered, int maxWaiting, long maxWaitingBytes, int maxPerHold, int maxWanted, Duration idleHold, Duration reprobeMin,
                   Duration reprobeMax, Duration tokenTimeout, Duration passTimeout, Duration silenceTimeout, Duration quiesceTimeout,
                   Duration dedupWindow, int dedupSettled, long dedupFilterBytes, int maintainerFailures,
                   Duration maintainerRetry, int datacenter) {
    static QueueConfig from(RoleConfig role) {
        Settings s = role.settings();
        return new QueueConfig(role.hold(),
                Duration.ofMillis(s.getLong("queue.cause_timeout_ms", 30_000, 1, 86_400_000)),
                s.getInt("queue.recent_capacity", 262_144, 0, 1 << 26),
                s.getInt("queue.maintainer_window", 4, 1, 1024),
                s.getInt("queue.max_batch", 4000, 1, 100_000),
                s.getInt("queue.max_buffered", 200_000, 1, 100_000_000),
                s.getInt("queue.max_waiting", 50_000, 1, 100_000_000),
                s.getLong("queue.max_waiting_mb", 64, 1, 1 << 20) << 20,
                s.getInt("queue.max_per_hold", 20_000, 1, 10_000_000),
                s.getInt("queue.max_wanted", 1000, 0, 1_000_000),
                Duration.ofMillis(s.getLong("queue.idle_hold_ms", 20, 0, 10_000)),
                Duration.ofMillis(s.getLong("queue.reprobe_min_ms", 20, 1, 60_000)),
                Duration.ofMillis(s.getLong("queue.reprobe_max_ms", 1000, 1, 600_000)),
                Duration.ofMillis(s.getLong("queue.token_timeout_ms", 1500, 100, 600_000)),
                Duration.ofMillis(s.getLong("queue.pass_timeout_ms", 1000, 50, 600_000)),
                Duration.ofMillis(s.getLong("queue.silence_timeout_ms", 6000, 100, 600_000)),
                Duration.ofMillis(s.getLong("queue.quiesce_timeout_ms", 5000, 0, 600_000)),
                Duration.ofMillis(s.getLong("queue.dedup_window_ms", 600_000, 1000, 86_400_000)),
                s.getInt("queue.dedup_settled", 500_000, 1, 50_000_000),
                s.getLong("queue.dedup_filter_mb", 64, 1, 4096) << 20,
                s.getInt("queue.maintainer_failures", 3, 1, 1000),
                Duration.ofMillis(s.getLong("queue.maintainer_retry_ms", 5000, 10, 3_600_000)), role.datacenter());
    }

    public static QueueConfig defaults(boolean hold) {
        return new QueueConfig(hold, Duration.ofSeconds(30), 262_144, 4, 4000, 200_000, 50_000, 64L << 20, 20_000, 1000,
                Duration.ofMillis(20), Duration.ofMillis(20), Duration.ofSeconds(1), Duration.ofMillis(1500),
                Duration.ofSeconds(1), Duration.ofSeconds(6), Duration.ofSeconds(5), Duration.ofMinutes(10), 500_000, 4L << 20, 3,
                Duration.ofSeconds(5), 0);
    }

    public QueueConfig withCauseTimeout(Duration d) {
        return new QueueConfig(hold, d, recentCapacity, maintainerWindow, maxBatch, maxBuffered, maxWaiting, maxWaitingBytes, maxPerHold, maxWanted,
                idleHold, reprobeMin, reprobeMax, tokenTimeout, passTimeout, silenceTimeout, quiesceTimeout, dedupWindow, dedupSettled,
                dedupFilterBytes, maintainerFailures, maintainerRetry, datacenter);
    }

    public QueueConfig withMaxBuffered(int n) {
        return new QueueConfig(hold, causeTimeout, recentCapacity, maintainerWindow, maxBatch, n, maxWaiting, maxWaitingBytes, maxPerHold, maxWanted,
                idleHold, reprobeMin, reprobeMax, tokenTimeout, passTimeout, silenceTimeout, quiesceTimeout, dedupWindow, dedupSettled,
                dedupFilterBytes, maintainerFailures, maintainerRetry, datacenter);
    }

    public QueueConfig withMaxWaiting(int n) {
        return new QueueConfig(hold, causeTimeout, recentCapacity, maintainerWindow, maxBatch, maxBuffered, n, maxWaitingBytes, maxPerHold, maxWanted,
                idleHold, reprobeMin, reprobeMax, tokenTimeout, passTimeout, silenceTimeout, quiesceTimeout, dedupWindow, dedupSettled,
                dedupFilterBytes, maintainerFailures, maintainerRetry, datacenter);
    }
}
