package io.chariots.indexer;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;

/**
 * Indexer tunables, validated once at start.
 *
 * @param blockCacheBytes  RocksDB block cache; key {@code indexer.block_cache_mb}, default 32
 * @param writeBufferBytes RocksDB memtable size; key {@code indexer.write_buffer_mb}, default 16, split
 *                         evenly between the index's two column families (up to three of each fill before
 *                         writes wait for a flush; the README's Performance section has what 16, 32 and 64
 *                         cost)
 * @param maxPendingBytes  serialized index batches allowed to wait for the writer before
 *                         {@code Index} answers RESOURCE_EXHAUSTED; key {@code indexer.max_pending_mb}, default 64
 * @param readThreads      threads answering Exists and Lookup (off the Netty event loops, so a
 *                         slow read never stalls I/O); key {@code indexer.read_threads}, default 2
 */
public record IndexerConfig(long blockCacheBytes, long writeBufferBytes, long maxPendingBytes, int readThreads) {
    public static IndexerConfig from(RoleConfig role) {
        Settings s = role.settings();
        return new IndexerConfig(
                s.getLong("indexer.block_cache_mb", TagIndex.DEFAULT_BLOCK_CACHE_BYTES >> 20, 1, 65_536) << 20,
                s.getLong("indexer.write_buffer_mb", TagIndex.DEFAULT_WRITE_BUFFER_BYTES >> 20, 1, 4_096) << 20,
                s.getLong("indexer.max_pending_mb", 64, 1, 65_536) << 20,
                s.getInt("indexer.read_threads", 2, 1, 64));
    }
}
