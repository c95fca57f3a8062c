package io.chariots.queue;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;

import java.time.Duration;

/**
 * Queue tunables, validated once at start. Keys are {@code queue.*}.
 *
 * @param hold             create the token ({@code --hold})
 * @param causeTimeout     how long a record may wait for its cause before it is rejected; {@code queue.cause_timeout_ms}, default 30000
 * @param recentCapacity   how many recently assigned (tag hash, seed) pairs are remembered; {@code queue.recent_capacity}, default 262144
 * @param maintainerWindow batches in flight per maintainer; {@code queue.maintainer_window}, default 4
 * @param maxBatch         records per batch to a maintainer and keys per indexer probe; {@code queue.max_batch}, default 4000
 * @param maxBuffered      records buffered here (waiting, ready, or not yet stored) above which filters are not acknowledged; {@code queue.max_buffered}, default 200000
 * @param maxPerHold       records assigned per token hold, so the token keeps moving; {@code queue.max_per_hold}, default 20000
 * @param maxWanted        causes this queue asks the ring for at once; {@code queue.max_wanted}, default 10000
 * @param idleHold         longest an idle token is held before moving on; {@code queue.idle_hold_ms}, default 20
 * @param reprobeMin       first delay before asking the indexers again about a missing cause; {@code queue.reprobe_min_ms}, default 20
 * @param reprobeMax       longest such delay; {@code queue.reprobe_max_ms}, default 1000
 */
record QueueConfig(boolean hold, Duration causeTimeout, int recentCapacity, int maintainerWindow, int maxBatch,
                   int maxBuffered, int maxPerHold, int maxWanted, Duration idleHold, Duration reprobeMin,
                   Duration reprobeMax) {
    static QueueConfig from(RoleConfig role) {
        Settings s = role.settings();
        return new QueueConfig(role.hold(),
                Duration.ofMillis(s.getLong("queue.cause_timeout_ms", 30_000, 1, 86_400_000)),
                s.getInt("queue.recent_capacity", 262_144, 0, 1 << 26),
                s.getInt("queue.maintainer_window", 4, 1, 1024),
                s.getInt("queue.max_batch", 4000, 1, 100_000),
                s.getInt("queue.max_buffered", 200_000, 1, 100_000_000),
                s.getInt("queue.max_per_hold", 20_000, 1, 10_000_000),
                s.getInt("queue.max_wanted", 10_000, 0, 1_000_000),
                Duration.ofMillis(s.getLong("queue.idle_hold_ms", 20, 0, 10_000)),
                Duration.ofMillis(s.getLong("queue.reprobe_min_ms", 20, 1, 60_000)),
                Duration.ofMillis(s.getLong("queue.reprobe_max_ms", 1000, 1, 600_000)));
    }

    static QueueConfig defaults(boolean hold) {
        return new QueueConfig(hold, Duration.ofSeconds(30), 262_144, 4, 4000, 200_000, 20_000, 10_000,
                Duration.ofMillis(20), Duration.ofMillis(20), Duration.ofSeconds(1));
    }
}
