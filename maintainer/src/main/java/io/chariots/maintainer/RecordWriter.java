package io.chariots.maintainer;

import io.chariots.proto.RecordBatch;
import io.chariots.proto.RecordEnvelope;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.rocksdb.RocksDBException;

import java.util.List;

/**
 * The maintainer's write path, run on its loop thread: one incoming batch
 * becomes one flstore WriteBatch (so RocksDB sees batches in arrival order),
 * then its index entries are queued on the {@link IndexFeeder}. When
 * {@link #write} returns the batch is durable and may be acknowledged.
 */
public final class RecordWriter {
    private final FlStore store;
    private final IndexFeeder feeder;
    private final Counter recordsStored;
    private final Counter batchesStored;
    private final Timer writeLatency;

    public RecordWriter(FlStore store, IndexFeeder feeder, MeterRegistry meters) {
        this.store = store;
        this.feeder = feeder;
        this.recordsStored = Counter.builder("chariots_maintainer_records_stored_total")
                .description("Records written to the flstore (re-stores of an LId included)").register(meters);
        this.batchesStored = Counter.builder("chariots_maintainer_batches_stored_total")
                .description("Batches written to the flstore, one RocksDB WriteBatch each").register(meters);
        this.writeLatency = Timer.builder("chariots_maintainer_write_latency")
                .description("Time to write one batch to the flstore (WAL included)")
                .publishPercentileHistogram().register(meters);
    }

    /**
     * Why {@code batch} cannot be stored, or null if it can. Every record
     * needs the LId the queue ring gave it: a record without one has no place
     * in the log, and storing it under LId 0 would shadow nothing yet be
     * unreadable.
     */
    public static String problemWith(RecordBatch batch) {
        for (int i = 0; i < batch.getRecordsCount(); i++) {
            RecordEnvelope r = batch.getRecords(i);
            if (r.getLid() == 0) {
                return "record " + i + " of " + batch.getRecordsCount() + " (id \"" + r.getId()
                        + "\") has no lid (lid 0): maintainers store only records the queue ring has given an LId";
            }
        }
        return null;
    }

    /**
     * Stores {@code records} (already validated) in one WriteBatch and queues
     * their index entries.
     *
     * @return the number of records accepted (all of them)
     */
    public int write(List<RecordEnvelope> records) throws RocksDBException {
        if (records.isEmpty()) {
            return 0;
        }
        long start = System.nanoTime();
        store.store(records);
        writeLatency.record(System.nanoTime() - start, java.util.concurrent.TimeUnit.NANOSECONDS);
        recordsStored.increment(records.size());
        batchesStored.increment();
        feeder.add(records);
        return records.size();
    }
}
