package io.chariots.maintainer;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;

import java.time.Duration;

/**
 * Maintainer tunables, validated once at start.
 *
 * @param tuning        flstore resources: keys {@code maintainer.sync} (fsync every batch, default false:
 *                      the WAL survives SIGKILL, not power loss), {@code maintainer.write_buffer_mb} (32),
 *                      {@code maintainer.block_cache_mb} (16)
 * @param feeder        index feeding: {@code maintainer.index_window} (batches in flight per indexer, 4),
 *                      {@code maintainer.index_batch_entries} (4096), {@code maintainer.index_pending_max}
 *                      (entries held in memory, 50000), {@code maintainer.index_backoff_min_ms} (100),
 *                      {@code maintainer.index_backoff_max_ms} (5000)
 * @param indexDeadline deadline of one {@code Index} call; key {@code maintainer.index_deadline_ms}, default 10000
 * @param readThreads   threads serving reads; key {@code maintainer.read_threads}, default 2
 * @param notices       appended notices to edges: {@code maintainer.notice_batch} (ids per call, 4096),
 *                      {@code maintainer.notice_window} (calls in flight per edge, 2),
 *                      {@code maintainer.notice_pending_max} (notices waiting in memory, 100000; more are dropped)
 * @param noticeDeadline deadline of one {@code Appended} call; key {@code maintainer.notice_deadline_ms}, default 5000
 * @param indexerGone   how long an indexer holding part of the index must be absent from the membership to be
 *                      judged gone for good, which re-feeds its share to the others; key
 *                      {@code maintainer.indexer_gone_ms}, default 30000 (a restart within it changes nothing)
 * @param reindexWindow entries re-fed and not yet acknowledged at most; key {@code maintainer.reindex_window}, 8192
 */
public record MaintainerConfig(FlStore.Tuning tuning, IndexFeeder.Limits feeder, Duration indexDeadline,
                               int readThreads, AppendNotices.Limits notices, Duration noticeDeadline,
                               Duration indexerGone, int reindexWindow) {
    public static MaintainerConfig from(RoleConfig role) {
        Settings s = role.settings();
        FlStore.Tuning tuning = new FlStore.Tuning(
                s.getBoolean("maintainer.sync", false),
                s.getLong("maintainer.write_buffer_mb", 32, 1, 1024) << 20,
                s.getLong("maintainer.block_cache_mb", 16, 1, 16_384) << 20);
        IndexFeeder.Limits d = IndexFeeder.Limits.defaults();
        IndexFeeder.Limits limits = new IndexFeeder.Limits(
                s.getInt("maintainer.index_window", d.window(), 1, 1024),
                s.getInt("maintainer.index_batch_entries", d.maxBatchEntries(), 1, 1_000_000),
                d.maxBatchBytes(),
                s.getInt("maintainer.index_pending_max", d.maxPending(), 2, 10_000_000),
                Duration.ofMillis(s.getLong("maintainer.index_backoff_min_ms", d.minBackoff().toMillis(), 1, 60_000)),
                Duration.ofMillis(s.getLong("maintainer.index_backoff_max_ms", d.maxBackoff().toMillis(), 1, 600_000)));
        return new MaintainerConfig(tuning, limits,
                Duration.ofMillis(s.getLong("maintainer.index_deadline_ms", 10_000, 100, 600_000)),
                s.getInt("maintainer.read_threads", 2, 1, 64),
                new AppendNotices.Limits(
                        s.getInt("maintainer.notice_batch", AppendNotices.Limits.defaults().maxBatch(), 1, 100_000),
                        s.getInt("maintainer.notice_window", AppendNotices.Limits.defaults().window(), 1, 64),
                        s.getInt("maintainer.notice_pending_max", AppendNotices.Limits.defaults().maxPending(), 1, 10_000_000)),
                Duration.ofMillis(s.getLong("maintainer.notice_deadline_ms", 5000, 100, 600_000)),
                Duration.ofMillis(s.getLong("maintainer.indexer_gone_ms", 30_000, 0, 86_400_000)),
                s.getInt("maintainer.reindex_window", 8192, 1, 1_000_000));
    }
}
