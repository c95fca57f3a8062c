package io.chariots.maintainer;

import io.chariots.common.metrics.IngestDelay;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.StoreReply;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.rocksdb.RocksDBException;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The maintainer's write path for records and holes, run on its loop
 * thread: one incoming request becomes at most one flstore WriteBatch (so
 * RocksDB sees requests in arrival order), then the index entries of the
 * records it newly wrote are queued on the {@link IndexFeeder}. When a write
 * returns {@code STORED} the request is durable and may be acknowledged.
 */
public final class RecordWriter {
    private final FlStore store;
    private final IndexFeeder feeder;
    private final Counter recordsStored;
    private final Counter batchesStored;
    private final Counter refusedSealed;
    private final Counter refusedConflict;
    private final Counter holesWritten;
    private final Timer writeLatency;
    private final IngestDelay stored;

    /** @param datacenter this datacenter's id: its records' batches count in {@code chariots_ingest_delay_seconds} */
    public RecordWriter(FlStore store, IndexFeeder feeder, MeterRegistry meters, int datacenter) {
        this.store = store;
        this.stored = new IngestDelay(meters, "maintainer_stored", datacenter);
        this.feeder = feeder;
        this.recordsStored = Counter.builder("chariots_maintainer_records_stored_total")
                .description("Records written to the flstore (a resent record already held is not written again)")
                .register(meters);
        this.batchesStored = Counter.builder("chariots_maintainer_batches_stored_total")
                .description("Batches that wrote records to the flstore, one RocksDB WriteBatch each").register(meters);
        this.refusedSealed = refused(meters, "sealed");
        this.refusedConflict = refused(meters, "conflict");
        this.holesWritten = Counter.builder("chariots_maintainer_holes_total")
                .description("Hole markers written for LIds given out but never stored").register(meters);
        this.writeLatency = Timer.builder("chariots_maintainer_write_latency")
                .description("Time to write one batch to the flstore (WAL included)")
                .publishPercentileHistogram().register(meters);
    }

    private static Counter refused(MeterRegistry meters, String reason) {
        return Counter.builder("chariots_maintainer_store_refused_total").tag("reason", reason)
                .description("Store and FillHoles requests refused whole: sealed (a fenced or unknown epoch), "
                        + "conflict (an LId already holds something else)")
                .register(meters);
    }

    /**
     * Why {@code records} cannot be stored, or null if they can. Every record
     * needs the LId the queue ring gave it: a record without one has no place
     * in the log, and storing it under LId 0 would shadow nothing yet be
     * unreadable. A record may not claim to be a hole: holes are written by
     * {@code FillHoles}, and are never indexed.
     */
    public static String problemWith(List<RecordEnvelope> records) {
        for (int i = 0; i < records.size(); i++) {
            RecordEnvelope r = records.get(i);
            if (r.getLid() == 0) {
                return "record " + i + " of " + records.size() + " (id \"" + r.getId()
                        + "\") has no lid (lid 0): maintainers store only records the queue ring has given an LId";
            }
            if (r.getHole() && r.getToid() == 0) {
                return "record " + i + " of " + records.size() + " (LId " + Long.toUnsignedString(r.getLid())
                        + ") is marked a hole: holes are written with FillHoles (only another datacenter's TOId hole "
                        + "is stored as a record)";
            }
        }
        return null;
    }

    /** Why hole markers cannot be written at {@code lids}, or null if they can. */
    public static String problemWithHoles(List<Long> lids) {
        return lids.contains(0L) ? "a hole at LId 0: LIds start at 1" : null;
    }

    /**
     * Stores {@code records} (already validated) at the sender's
     * {@code epoch} (see {@link FlStore#store}) and queues the index entries
     * of the records it newly wrote.
     */
    public FlStore.StoreResult write(long epoch, List<RecordEnvelope> records) throws RocksDBException {
        long start = System.nanoTime();
        FlStore.StoreResult result = store.store(epoch, records);
        countRefusal(result);
        if (result.status() == StoreReply.Status.STORED && !result.written().isEmpty()) {
            writeLatency.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            stored.batch(result.written());
            recordsStored.increment(result.written().size());
            batchesStored.increment();
            feeder.add(result.written());
        }
        return result;
    }

    /** Writes hole markers at {@code lids} (already validated) at the sender's {@code epoch} (see {@link FlStore#fillHoles}). */
    public FlStore.StoreResult fillHoles(long epoch, List<Long> lids) throws RocksDBException {
        FlStore.StoreResult result = store.fillHoles(epoch, lids);
        countRefusal(result);
        holesWritten.increment(result.written().size());
        return result;
    }

    private void countRefusal(FlStore.StoreResult result) {
        if (result.status() == StoreReply.Status.SEALED) {
            refusedSealed.increment();
        } else if (result.status() == StoreReply.Status.CONFLICT) {
            refusedConflict.increment();
        }
    }
}
