package io.chariots.indexer;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The indexer's meters, registered once on the role's registry (exported on
 * {@code /metrics}). Counters are cumulative since the process started; the
 * write timer measures the RocksDB write of one batch, not its wait in the
 * writer's queue.
 */
public final class IndexerMetrics {
    final Counter entriesIndexed;
    final Counter rejectionsIndexed;
    final Counter batches;
    final Counter writeFailures;
    final Counter busyRefusals;
    final Counter existsQueries;
    final Counter existsKeys;
    final Counter lookups;
    final Counter badRequests;
    final Timer batchWrite;

    public IndexerMetrics(MeterRegistry registry) {
        entriesIndexed = Counter.builder("chariots_indexer_entries_indexed_total")
                .description("Index entries (records with an LId) written").register(registry);
        rejectionsIndexed = Counter.builder("chariots_indexer_rejections_indexed_total")
                .description("Rejected record ids written").register(registry);
        batches = Counter.builder("chariots_indexer_batches_total")
                .description("Index batches written and acknowledged").register(registry);
        writeFailures = Counter.builder("chariots_indexer_write_failures_total")
                .description("Index batches RocksDB failed to write (not acknowledged)").register(registry);
        busyRefusals = Counter.builder("chariots_indexer_busy_refusals_total")
                .description("Index batches refused with RESOURCE_EXHAUSTED because the write queue was full").register(registry);
        existsQueries = Counter.builder("chariots_indexer_exists_queries_total")
                .description("Exists requests answered").register(registry);
        existsKeys = Counter.builder("chariots_indexer_exists_keys_total")
                .description("(hash, seed) pairs checked by Exists requests").register(registry);
        lookups = Counter.builder("chariots_indexer_lookups_total")
                .description("Lookup requests answered").register(registry);
        badRequests = Counter.builder("chariots_indexer_bad_requests_total")
                .description("Requests refused with INVALID_ARGUMENT").register(registry);
        batchWrite = Timer.builder("chariots_indexer_batch_write")
                .description("Time of one RocksDB write (WAL, no fsync) of the index batches that arrived together")
                .publishPercentiles(0.5, 0.99)
                .register(registry);
    }

    public double entriesIndexed() {
        return entriesIndexed.count();
    }

    public double batches() {
        return batches.count();
    }
}
