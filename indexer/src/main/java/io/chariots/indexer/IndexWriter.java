package io.chariots.indexer;

import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.proto.IndexBatch;
import io.chariots.proto.Rejection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The one thread that writes the index. Network threads {@link #submit}
 * batches and return at once; the writer applies them in arrival order and
 * reports each outcome through its callback <em>after</em> the write
 * returned, so an acknowledgement always means "durable" (see
 * {@link TagIndex}).
 *
 * <p><b>Group commit.</b> The batches that arrived while the writer was busy
 * are written together, as one RocksDB {@code WriteBatch} of at most
 * {@value #GROUP_BYTES} serialized bytes: the write's fixed costs (the WAL
 * append, the memtable's insert position) are shared, most with many small
 * batches (one record per {@code POST /record}). Should a group's write fail,
 * its batches are written one by one, so each gets its own outcome.
 *
 * <p>Memory is bounded: batches waiting for the writer may total at most
 * {@code maxPendingBytes} (serialized size); beyond that {@code submit}
 * refuses and the sender retries later. A batch larger than the bound is
 * still admitted when nothing else waits, so no batch is refused forever.
 */
public final class IndexWriter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(IndexWriter.class);

    /** Outcome of one submitted batch, called on the writer thread. */
    @FunctionalInterface
    public interface Callback {
        /**
         * @param accepted entries + rejections written, when {@code error} is null
         * @param error    why nothing was written, or null
         */
        void done(long accepted, RuntimeException error);
    }

    /** Serialized bytes of batches written in one group, at most (a single larger batch is written alone). */
    static final long GROUP_BYTES = 4L << 20;

    private record Pending(IndexBatch batch, long size, Callback callback) {
    }

    private final Consumer<List<IndexBatch>> index; // TagIndex::index; a test may fail it
    private final IndexerMetrics metrics;
    private final List<Pending> gathered = new ArrayList<>(); // owned by the writer's loop
    private final long maxPendingBytes;
    private final EventLoop loop;
    private final AtomicLong pendingBytes = new AtomicLong();
    private volatile boolean closed;
    private volatile String lastWriteError;

    public IndexWriter(TagIndex index, IndexerMetrics metrics, long maxPendingBytes) {
        this(index::index, metrics, maxPendingBytes);
    }

    /** As the public constructor, writing with {@code index} (a test's stand-in that can fail). */
    IndexWriter(Consumer<List<IndexBatch>> index, IndexerMetrics metrics, long maxPendingBytes) {
        this.index = index;
        this.metrics = metrics;
        this.maxPendingBytes = maxPendingBytes;
        // Tasks gather what came; once the loop has run every queued task it writes a group of it.
        this.loop = new EventLoop("indexer-writer", NanoClock.SYSTEM, now -> writeGroup() ? now : EventLoop.Ticker.NO_DEADLINE);
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
            return shuttingDown(callback);
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
        if (!loop.offer(() -> gather(new Pending(batch, size, callback)))) {
            pendingBytes.addAndGet(-size);
            if (closed) { // the writer stopped meanwhile: not busy, gone
                return shuttingDown(callback);
            }
            metrics.busyRefusals.increment();
            return false;
        }
        return true;
    }

    /** Answers a batch the closed writer will not write (the caller answers UNAVAILABLE); it counts as taken. */
    private static boolean shuttingDown(Callback callback) {
        callback.done(0, new IllegalStateException("indexer is shutting down"));
        return true;
    }

    private void gather(Pending p) {
        gathered.add(p);
        if (closed) { // close(): the loop may not poll again
            while (!gathered.isEmpty()) {
                writeGroup();
            }
        }
    }

    /**
     * Writes the oldest group gathered. One group per turn of the loop, so
     * that between groups the loop takes new batches and its watchdog sees it
     * turn; returns whether more wait.
     */
    private boolean writeGroup() {
        if (gathered.isEmpty()) {
            return false;
        }
        int to = 0;
        long bytes = 0;
        do {
            bytes += gathered.get(to++).size();
        } while (to < gathered.size() && bytes + gathered.get(to).size() <= GROUP_BYTES);
        List<Pending> group = new ArrayList<>(gathered.subList(0, to));
        gathered.subList(0, to).clear(); // before any callback runs: none can see its batch written twice
        if (!write(group)) {
            LOG.warn("writing {} index batches together failed ({}); writing them one by one", group.size(), lastWriteError);
            for (Pending p : group) {
                write(List.of(p));
            }
        }
        return !gathered.isEmpty();
    }

    /**
     * Writes {@code group} in one write. On success, or when it is a single
     * batch, reports every outcome; returns false, reporting nothing, when a
     * group of several failed.
     */
    private boolean write(List<Pending> group) {
        List<IndexBatch> batches = new ArrayList<>(group.size());
        long entries = 0;
        long rejections = 0;
        long bytes = 0;
        for (Pending p : group) {
            batches.add(p.batch());
            entries += p.batch().getEntriesCount();
            rejections += p.batch().getRejectionsCount();
            bytes += p.size();
        }
        RuntimeException error = null;
        long t0 = System.nanoTime();
        try {
            index.accept(batches);
            metrics.batchWrite.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
            metrics.batches.increment(group.size());
            metrics.entriesIndexed.increment(entries);
            metrics.rejectionsIndexed.increment(rejections);
            lastWriteError = null;
        } catch (RuntimeException e) {
            lastWriteError = e.getMessage();
            if (group.size() > 1) {
                return false;
            }
            metrics.writeFailures.increment();
            error = e;
        }
        pendingBytes.addAndGet(-bytes);
        for (Pending p : group) {
            long accepted = (long) p.batch().getEntriesCount() + p.batch().getRejectionsCount();
            try {
                p.callback().done(error == null ? accepted : 0, error);
            } catch (RuntimeException | AssertionError e) { // one sender's failure must not cost the others their answers
                LOG.error("an index batch's callback failed", e);
            }
        }
        return true;
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
