package io.chariots.indexer;

import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.proto.IndexBatch;
import io.chariots.proto.Rejection;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The one thread that writes the index. Network threads {@link #submit}
 * batches and return at once; the writer applies them in arrival order, one
 * RocksDB {@code WriteBatch} each, and reports each outcome through its
 * callback <em>after</em> the write returned, so an acknowledgement always
 * means "durable" (see {@link TagIndex}).
 *
 * <p>Memory is bounded: batches waiting for the writer may total at most
 * {@code maxPendingBytes} (serialized size); beyond that {@code submit}
 * refuses and the sender retries later. A batch larger than the bound is
 * still admitted when nothing else waits, so no batch is refused forever.
 */
public final class IndexWriter implements AutoCloseable {
    /** Outcome of one submitted batch, called on the writer thread. */
    @FunctionalInterface
    public interface Callback {
        /**
         * @param accepted entries + rejections written, when {@code error} is null
         * @param error    why nothing was written, or null
         */
        void done(long accepted, RuntimeException error);
    }

    private final TagIndex index;
    private final IndexerMetrics metrics;
    private final long maxPendingBytes;
    private final EventLoop loop;
    private final AtomicLong pendingBytes = new AtomicLong();
    private volatile boolean closed;
    private volatile String lastWriteError;

    public IndexWriter(TagIndex index, IndexerMetrics metrics, long maxPendingBytes) {
        this.index = index;
        this.metrics = metrics;
        this.maxPendingBytes = maxPendingBytes;
        this.loop = new EventLoop("indexer-writer", NanoClock.SYSTEM, now -> EventLoop.Ticker.NO_DEADLINE);
    }

    /** The writer's own loop (for a role to watch; the writer closes it). */
    public EventLoop loop() {
        return loop;
    }

    public IndexWriter start() {
        loop.start();
        return this;
    }

    /**
     * Why {@code batch} can never be written, or null if it is well formed:
     * every entry needs an LId (they start at 1), every rejection an id.
     */
    public static String problemWith(IndexBatch batch) {
        for (int i = 0; i < batch.getEntriesCount(); i++) {
            if (batch.getEntries(i).getLid() == 0) {
                String id = batch.getEntries(i).getId();
                return "entries[" + i + "]" + (id.isEmpty() ? "" : " (id " + id + ")") + " has lid 0; LIds start at 1";
            }
        }
        for (int i = 0; i < batch.getRejectionsCount(); i++) {
            Rejection r = batch.getRejections(i);
            if (r.getId().isEmpty()) {
                return "rejections[" + i + "] has an empty id";
            }
        }
        return null;
    }

    /**
     * Queues {@code batch} for writing; {@code callback} runs on the writer
     * thread once it is written or failed.
     *
     * @return false, without queueing, if the write queue is full
     */
    public boolean submit(IndexBatch batch, Callback callback) {
        if (closed) {
            callback.done(0, new IllegalStateException("indexer is shutting down"));
            return true;
        }
        long size = batch.getSerializedSize();
        long cur;
        do {
            cur = pendingBytes.get();
            if (cur > 0 && cur + size > maxPendingBytes) {
                metrics.busyRefusals.increment();
                return false;
            }
        } while (!pendingBytes.compareAndSet(cur, cur + size));
        if (!loop.offer(() -> write(batch, size, callback))) {
            pendingBytes.addAndGet(-size);
            metrics.busyRefusals.increment();
            return false;
        }
        return true;
    }

    private void write(IndexBatch batch, long size, Callback callback) {
        long accepted = (long) batch.getEntriesCount() + batch.getRejectionsCount();
        RuntimeException error = null;
        long t0 = System.nanoTime();
        try {
            index.index(batch);
            metrics.batchWrite.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
            metrics.batches.increment();
            metrics.entriesIndexed.increment(batch.getEntriesCount());
            metrics.rejectionsIndexed.increment(batch.getRejectionsCount());
            lastWriteError = null;
        } catch (RuntimeException e) {
            metrics.writeFailures.increment();
            lastWriteError = e.getMessage();
            error = e;
        } finally {
            pendingBytes.addAndGet(-size);
        }
        callback.done(error == null ? accepted : 0, error);
    }

    /** Serialized bytes of the batches waiting for the writer. */
    public long pendingBytes() {
        return pendingBytes.get();
    }

    /** The error of the last write if it failed, or null if the last write succeeded. */
    public String lastWriteError() {
        return lastWriteError;
    }

    /** Writes the batches already queued (their callbacks run), then stops the writer thread. */
    @Override
    public void close() {
        closed = true;
        loop.close();
    }
}
