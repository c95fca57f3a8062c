package io.chariots.batcher;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;

import java.time.Duration;

/**
 * Batcher tunables, validated once at start. Keys are {@code batcher.*}.
 *
 * @param maxFrameBytes largest frame accepted on the raw TCP port; a longer one closes that connection; {@code batcher.max_frame_bytes}, default 16 MiB
 * @param maxBatch      records per batch sent to a filter; {@code batcher.max_batch}, default 2000
 * @param linger        longest a record waits for its batch to fill; {@code batcher.linger_ms}, default 2
 * @param window        batches in flight per filter; {@code batcher.window}, default 4
 * @param highWater     buffered records at which TCP reading pauses and gRPC ingest answers RESOURCE_EXHAUSTED; {@code batcher.high_water}, default 100000
 * @param lowWater      buffered records at which reading resumes; {@code batcher.low_water}, default 50000
 */
record BatcherConfig(int maxFrameBytes, int maxBatch, Duration linger, int window, int highWater, int lowWater) {
    static BatcherConfig from(RoleConfig role) {
        Settings s = role.settings();
        int high = s.getInt("batcher.high_water", 100_000, 1, 100_000_000);
        return new BatcherConfig(
                s.getInt("batcher.max_frame_bytes", 16 << 20, 16, 1 << 30),
                s.getInt("batcher.max_batch", 2000, 1, 100_000),
                Duration.ofMillis(s.getLong("batcher.linger_ms", 2, 0, 10_000)),
                s.getInt("batcher.window", 4, 1, 1024),
                high,
                s.getInt("batcher.low_water", high / 2, 0, high));
    }
}
