package io.chariots.app;

import io.chariots.common.read.LogReader;
import io.chariots.common.read.OriginPositions;
import io.chariots.common.read.UnavailableLids;
import io.chariots.proto.RecordEnvelope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One subscriber following the log from an LId: every record in LId order,
 * no gap, no duplicate, as the log grows.
 *
 * <p>It reads pages with {@link LogReader#range} — the dense prefix from its
 * cursor — and delivers each to its {@link Sink}; the cursor moves past what
 * was delivered, so a resumed subscription (from the last LId seen plus one)
 * misses nothing. While it catches up it reads one page ahead; it delivers
 * the next page only when the sink says it is ready, so a slow subscriber
 * reads from disk at its own pace and costs the append path and other
 * subscribers nothing. When it has caught up it polls
 * again after a short wait that doubles while the log is quiet
 * ({@value #MIN_IDLE_MS} ms up to {@value #MAX_IDLE_MS} ms) and drops back
 * as soon as records come; an unavailable maintainer is waited for, never
 * skipped (a log must not be read out of order). When that wait has lasted
 * {@value #NOTICE_AFTER_MS} ms the sink is told which maintainer it waits for
 * ({@link Sink#waiting}), again every {@value #NOTICE_EVERY_MS} ms while it
 * lasts, and the tail goes on by itself once the maintainer is back.
 */
final class LogTail {
    private static final Logger LOG = LoggerFactory.getLogger(LogTail.class);
    static final long MIN_IDLE_MS = 1;
    static final long MAX_IDLE_MS = 32;
    static final long UNAVAILABLE_RETRY_MS = 200;
    /** A wait for an unavailable maintainer shorter than this goes untold: a restart or a slow answer is normal. */
    static final long NOTICE_AFTER_MS = 3_000;
    static final long NOTICE_EVERY_MS = 15_000;

    /** Where a tail reads: {@link LogReader#range}. */
    interface RangeSource {
        CompletableFuture<LogReader.Page> range(long from, int limit);
    }

    /** Where a tail's records go. */
    interface Sink {
        /** Delivers a non-empty page in LId order; runs {@code ready} once it can take the next one. */
        void deliver(List<RecordEnvelope> page, Runnable ready);

        /** Called at each poll that found nothing new (a chance to send a heartbeat). */
        default void idle() {
        }

        /**
         * The tail has waited a while at {@code gap.from()}, an LId whose maintainer is not available (called
         * from time to time while that lasts; records follow once it is back). Must not throw.
         */
        default void waiting(UnavailableLids gap) {
        }

        /** The tail stopped because {@link #deliver} threw: end the subscription with an error. */
        void failed(RuntimeException e);
    }

    private final RangeSource reader;
    private final ScheduledExecutorService timer;
    private final int pageSize;
    private final Sink sink;
    private volatile long cursor;
    private volatile boolean stopped;
    private volatile CompletableFuture<LogReader.Page> prefetched;
    private long idleMs = MIN_IDLE_MS;
    private final long noticeAfterNanos;
    /** When the tail began waiting at an unavailable LId (0: not waiting), and when it last told the sink. */
    private long waitingSince;
    private long toldAt;
    private OriginPositions positions;

    LogTail(RangeSource reader, ScheduledExecutorService timer, long from, int pageSize, Sink sink) {
        this(reader, timer, from, pageSize, sink, NOTICE_AFTER_MS);
    }

    /**
     * A tail that skips the records a reader has already (from another
     * datacenter): those at or below its {@code positions}.
     */
    LogTail(RangeSource reader, ScheduledExecutorService timer, long from, int pageSize, Sink sink, OriginPositions positions) {
        this(reader, timer, from, pageSize, sink, NOTICE_AFTER_MS);
        this.positions = positions;
    }

    /** As above, telling the sink of an unavailable maintainer after {@code noticeAfterMs} (tests wait less). */
    LogTail(RangeSource reader, ScheduledExecutorService timer, long from, int pageSize, Sink sink, long noticeAfterMs) {
        this.noticeAfterNanos = TimeUnit.MILLISECONDS.toNanos(noticeAfterMs);
        this.reader = reader;
        this.timer = timer;
        this.cursor = from;
        this.pageSize = pageSize;
        this.sink = sink;
    }

    void start() {
        fetch();
    }

    /** Stops after the page in progress, if any; nothing more is delivered. */
    void stop() {
        stopped = true;
    }

    /** The next LId to deliver. */
    long cursor() {
        return cursor;
    }

    // Only one fetch or delivery is in progress at a time: each step starts the next.
    private void fetch() {
        if (stopped) {
            return;
        }
        CompletableFuture<LogReader.Page> next = prefetched;
        prefetched = null;
        (next != null ? next : reader.range(cursor, pageSize)).whenComplete((page, failure) -> {
            if (stopped) {
                return;
            }
            if (failure != null) {
                LOG.debug("tail at LId {}: {}", cursor, failure.toString());
                later(UNAVAILABLE_RETRY_MS);
                return;
            }
            List<RecordEnvelope> records = page.records();
            if (records.isEmpty() && page.unavailable() != null) {
                waitFor(page.unavailable());
                return;
            }
            waitingSince = 0;
            if (records.isEmpty()) {
                sink.idle();
                later(idleMs);
                idleMs = Math.min(MAX_IDLE_MS, idleMs * 2);
                return;
            }
            idleMs = MIN_IDLE_MS;
            cursor = records.get(records.size() - 1).getLid() + 1;
            if (records.size() == pageSize) {
                // Catching up: read the next page while the sink takes this one.
                prefetched = reader.range(cursor, pageSize);
            }
            List<RecordEnvelope> unseen = positions == null ? records : positions.unseen(records);
            if (unseen.isEmpty()) {
                later(0); // all seen already (from another datacenter): on past them
                return;
            }
            try {
                sink.deliver(unseen, this::fetch);
            } catch (RuntimeException e) {
                // Thrown inside whenComplete it would be swallowed, and the subscriber left waiting for good.
                stopped = true;
                LOG.warn("tail stopped at LId {}: {}", records.get(0).getLid(), e.toString());
                sink.failed(e);
            }
        });
    }

    /** At an LId whose maintainer is not available: poll for it, and say so once the wait is long enough. */
    private void waitFor(UnavailableLids gap) {
        long now = System.nanoTime();
        if (waitingSince == 0) {
            waitingSince = now;
            toldAt = 0;
        }
        if (now - waitingSince >= noticeAfterNanos
                && (toldAt == 0 || now - toldAt >= TimeUnit.MILLISECONDS.toNanos(NOTICE_EVERY_MS))) {
            toldAt = now;
            LOG.info("tail at LId {} waits for {}", cursor, gap.message());
            sink.waiting(gap);
        } else {
            sink.idle();
        }
        later(UNAVAILABLE_RETRY_MS);
    }

    private void later(long ms) {
        try {
            timer.schedule(this::fetch, ms, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            stopped = true; // the app is shutting down
        }
    }
}
