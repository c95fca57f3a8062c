package io.chariots.maintainer;

import io.chariots.common.loop.NanoClock;
import io.chariots.common.read.LogReader;
import io.chariots.proto.OriginMark;
import io.chariots.proto.RecordEnvelope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Ships the records that originated in this datacenter to one other
 * datacenter, in origin order, reading them from the log (what is in the log
 * is durable) — never from a buffer a crash empties.
 *
 * <p>It keeps no cursor of its own: it starts, and after any failure starts
 * again, from what the other datacenter reports ({@code Batcher.Marks}: the
 * highest TOId of this origin its log holds, with that record's LId here).
 * What it sends twice is dropped there by (origin, TOId). A TOId that a fault
 * here left without a record (its LId became a hole) is sent as a hole, so
 * the other datacenter never waits for it.
 *
 * <p>Flow: at most {@code window} batches in flight, and never more than
 * {@code maxAhead} TOIds beyond the other datacenter's mark, so the records
 * it must hold back for origin order push back here instead of filling its
 * memory. A mark that does not move for {@code stallTimeout} while records are
 * out (a batcher there crashed with them) makes it start again from the
 * mark. Owned by one event loop: the {@link Log} and {@link Link} call back on
 * it; every callback carries the generation it was made in, and one from
 * before a restart changes nothing.
 */
public final class OriginShipper {
    private static final Logger LOG = LoggerFactory.getLogger(OriginShipper.class);

    public enum State { RESUMING, SHIPPING, BACKING_OFF }

    /** This datacenter's log, read as a dense prefix. */
    public interface Log {
        void range(long from, int limit, Consumer<LogReader.Page> page, Consumer<Throwable> failed);

        /** The highest TOId of {@code origin} stored here (the log's end for that origin). */
        void latest(int origin, Consumer<OriginMark> mark, Consumer<Throwable> failed);
    }

    /** The other datacenter's batchers. */
    public interface Link {
        void marks(int origin, Consumer<OriginMark> mark, Consumer<Throwable> failed);

        void send(List<RecordEnvelope> batch, Runnable sent, Consumer<Throwable> failed);
    }

    /** Limits; {@link #defaults()} are what a maintainer uses. */
    public record Limits(int batchRecords, long batchBytes, int window, long maxAhead, long idlePollNanos,
                         long marksPollNanos, long stallTimeoutNanos, long minBackoffNanos, long maxBackoffNanos) {
        public static Limits defaults() {
            return new Limits(1000, 2 << 20, 4, 20_000, TimeUnit.MILLISECONDS.toNanos(20),
                    TimeUnit.SECONDS.toNanos(1), TimeUnit.SECONDS.toNanos(10), TimeUnit.MILLISECONDS.toNanos(200),
                    TimeUnit.SECONDS.toNanos(5));
        }
    }

    private final int origin;
    private final int remote;
    private final Log log;
    private final Link link;
    private final Limits limits;
    private final NanoClock clock;
    private volatile State state = State.RESUMING;
    private long generation;
    private long nextToid;
    private long cursorLid;
    private boolean reading;
    private long nextReadAt;
    private final ArrayDeque<RecordEnvelope> ready = new ArrayDeque<>();
    private int inFlight;
    private long sentThrough;
    private boolean marksAsked;
    private long nextMarksAt;
    private volatile long remoteMark = -1;
    private long remoteMarkMovedAt;
    private volatile long markAdvancedAt;
    private long retryAt;
    private long backoff;
    // Origin time (ms) of the records sent beyond the remote mark, by TOId: how old the oldest not yet there is.
    private final TreeMap<Long, Long> sentAt = new TreeMap<>();
    private volatile long latestToid;
    private long lastLocalLid;
    // The stall timeout now: doubled at each restart without progress (a record there rightly waiting for a cause
    // from a third datacenter is not a lost batch), back to the configured one once the mark moves.
    private long stallTimeout;
    private volatile long oldestMissingMs;
    private boolean latestAsked;
    private long nextLatestAt;
    private volatile long shipped;
    private volatile long restarts;
    private volatile String lastError = "";

    public OriginShipper(int origin, int remote, Log log, Link link, Limits limits, NanoClock clock) {
        this.clock = clock;
        this.origin = origin;
        this.remote = remote;
        this.log = log;
        this.link = link;
        this.limits = limits;
        this.backoff = limits.minBackoffNanos();
        this.stallTimeout = limits.stallTimeoutNanos();
    }

    /** Does what is due; returns the next deadline. */
    public long poll(long now) {
        if (!latestAsked && now - nextLatestAt >= 0) {
            // How far the log here goes, whatever the link does: the lag stays true during a partition.
            latestAsked = true;
            nextLatestAt = now + limits.marksPollNanos();
            log.latest(origin, m -> {
                latestAsked = false;
                latestToid = Math.max(latestToid, m.getToid());
            }, t -> latestAsked = false);
        }
        switch (state) {
            case BACKING_OFF -> {
                if (now - retryAt < 0) {
                    return retryAt;
                }
                state(State.RESUMING);
                askMarks(now);
            }
            case RESUMING -> askMarks(now);
            case SHIPPING -> ship(now);
        }
        refreshOldestMissing();
        long next = now + limits.marksPollNanos();
        if (state == State.SHIPPING && !reading && ready.isEmpty()) {
            next = Math.min(next, nextReadAt);
        }
        return next;
    }

    private void ship(long now) {
        if (!reading && ready.size() < limits.batchRecords() && now - nextReadAt >= 0) {
            read(now);
        }
        while (inFlight < limits.window() && !ready.isEmpty()
                && ready.peekFirst().getToid() - Math.max(0, remoteMark) <= limits.maxAhead()) {
            sendBatch();
        }
        if (now - nextMarksAt >= 0) {
            askMarks(now);
        }
        if (sentThrough > remoteMark && now - remoteMarkMovedAt > stallTimeout) {
            stallTimeout = Math.min(stallTimeout * 2, TimeUnit.MINUTES.toNanos(5));
            restart("datacenter " + remote + " has held TOId " + remoteMark + " for "
                    + TimeUnit.NANOSECONDS.toMillis(now - remoteMarkMovedAt) + " ms with " + (sentThrough - remoteMark)
                    + " more sent; sending again from there", now);
        }
    }

    private void askMarks(long now) {
        if (marksAsked) {
            return;
        }
        marksAsked = true;
        nextMarksAt = now + limits.marksPollNanos();
        long gen = generation;
        link.marks(origin, m -> onMarks(gen, m), t -> onMarksFailed(gen, t));
    }

    void onMarks(long gen, OriginMark m) {
        if (gen != generation) {
            return;
        }
        long now = clock.nanoTime();
        marksAsked = false;
        long mark = m.getToid();
        if (state == State.RESUMING) {
            nextToid = mark + 1;
            // The record after the mark is at a higher LId; with no LId known, TOId n is at LId n or later.
            cursorLid = m.getOriginLid() != 0 ? m.getOriginLid() + 1 : mark + 1;
            lastLocalLid = cursorLid - 1;
            sentThrough = mark;
            if (mark != remoteMark) {
                markAdvancedAt = now;
            }
            remoteMark = mark;
            remoteMarkMovedAt = now; // a fresh start gets a whole stall timeout
            sentAt.headMap(mark, true).clear();
            nextReadAt = now;
            backoff = limits.minBackoffNanos();
            state(State.SHIPPING);
            LOG.info("shipping to datacenter {} from TOId {} (LId {} here)", remote, nextToid, cursorLid);
            return;
        }
        if (mark > remoteMark) {
            remoteMark = mark;
            remoteMarkMovedAt = now;
            markAdvancedAt = now;
            stallTimeout = limits.stallTimeoutNanos();
            sentAt.headMap(mark, true).clear();
        } else if (sentThrough <= remoteMark) {
            remoteMarkMovedAt = now; // nothing out: not stalled
        }
    }

    void onMarksFailed(long gen, Throwable t) {
        if (gen != generation) {
            return;
        }
        marksAsked = false;
        lastError = "marks: " + describe(t);
        if (state == State.RESUMING) {
            backOff(clock.nanoTime());
        }
    }

    private void read(long now) {
        reading = true;
        long gen = generation;
        log.range(cursorLid, limits.batchRecords(), p -> onPage(gen, p), t -> onReadFailed(gen, t));
    }

    void onPage(long gen, LogReader.Page page) {
        if (gen != generation) {
            return;
        }
        long now = clock.nanoTime();
        reading = false;
        for (RecordEnvelope r : page.records()) {
            cursorLid = r.getLid() + 1;
            if (r.getHost() != origin || r.getToid() == 0) {
                continue; // another datacenter's (never shipped again), or an LId hole here
            }
            if (r.getToid() < nextToid) {
                continue; // there already
            }
            while (nextToid < r.getToid()) {
                // Given here with an LId that became a hole: no record carries it; the other side must not wait for it.
                // Its origin LId is the last record's before it, so a shipper resuming from it reads on from there.
                ready.addLast(RecordEnvelope.newBuilder().setHost(origin).setToid(nextToid++).setHole(true)
                        .setOriginLid(lastLocalLid).build());
            }
            lastLocalLid = r.getLid();
            ready.addLast(outgoing(r));
            nextToid = r.getToid() + 1;
            latestToid = Math.max(latestToid, r.getToid());
        }
        if (page.records().isEmpty()) {
            nextReadAt = now + (page.complete() ? limits.idlePollNanos() : TimeUnit.MILLISECONDS.toNanos(200));
        } else {
            nextReadAt = now;
        }
        ship(now);
    }

    void onReadFailed(long gen, Throwable t) {
        if (gen != generation) {
            return;
        }
        reading = false;
        lastError = "reading the log: " + describe(t);
        nextReadAt = clock.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
    }

    /** What another datacenter stores: no LId of ours (its origin LId is), nothing only this one needs. */
    static RecordEnvelope outgoing(RecordEnvelope r) {
        return r.toBuilder().setOriginLid(r.getLid()).clearLid().clearAckTo().clearStoredUs().build();
    }

    private void sendBatch() {
        List<RecordEnvelope> batch = new ArrayList<>();
        long bytes = 0;
        while (!ready.isEmpty() && batch.size() < limits.batchRecords()
                && (batch.isEmpty() || bytes + ready.peekFirst().getSerializedSize() <= limits.batchBytes())) {
            RecordEnvelope r = ready.pollFirst();
            bytes += r.getSerializedSize();
            batch.add(r);
            sentAt.put(r.getToid(), r.getTimestampMs());
        }
        sentThrough = batch.get(batch.size() - 1).getToid();
        inFlight++;
        long gen = generation;
        int n = batch.size();
        link.send(batch, () -> onSent(gen, n), t -> onSendFailed(gen, t));
    }

    void onSent(long gen, int n) {
        if (gen != generation) {
            return;
        }
        inFlight--;
        shipped += n;
        backoff = limits.minBackoffNanos();
    }

    void onSendFailed(long gen, Throwable t) {
        if (gen != generation) {
            return;
        }
        lastError = "sending: " + describe(t);
        backOff(clock.nanoTime());
    }

    private void restart(String why, long now) {
        LOG.warn("link to datacenter {}: {}", remote, why);
        lastError = why;
        restarts++;
        generation++;
        clear();
        state(State.RESUMING);
        askMarks(now);
    }

    private void backOff(long now) {
        generation++;
        clear();
        retryAt = now + backoff;
        backoff = Math.min(limits.maxBackoffNanos(), backoff * 2);
        if (state != State.BACKING_OFF) {
            LOG.warn("link to datacenter {}: {}; retrying", remote, lastError);
            restarts++;
        }
        state(State.BACKING_OFF);
    }

    // What was sent stays in sentAt (bounded by maxAhead): how old the oldest record not yet there is, also while cut off.
    private void clear() {
        ready.clear();
        inFlight = 0;
        reading = false;
        marksAsked = false;
    }

    private void state(State s) {
        state = s;
    }

    private static String describe(Throwable t) {
        return io.chariots.common.grpc.Calls.describe(t);
    }

    // ------------------------------------------------------------ what it reports

    public State state() {
        return state;
    }

    public int remote() {
        return remote;
    }

    /** The other datacenter's mark for this origin, -1 until known. */
    public long remoteMark() {
        return remoteMark;
    }

    /** Records of this origin in the log here that the other datacenter does not have yet (as far as it said). */
    public long lagRecords() {
        return Math.max(0, latestToid - Math.max(0, remoteMark));
    }

    /**
     * How long ago the oldest record the other datacenter does not have yet
     * was appended here, in ms: 0 when it has them all; when that record was
     * not read yet, since the other side's mark last moved.
     */
    public long lagMillis(long nowMillis) {
        if (lagRecords() == 0) {
            return 0;
        }
        long oldest = oldestMissingMs;
        if (oldest == 0) {
            return TimeUnit.NANOSECONDS.toMillis(Math.max(0, clock.nanoTime() - markAdvancedAt));
        }
        return Math.max(0, nowMillis - oldest);
    }

    // On the loop: what metric threads read of sentAt and ready, which only the loop touches.
    private void refreshOldestMissing() {
        Long oldest = sentAt.isEmpty() ? null : sentAt.firstEntry().getValue();
        if ((oldest == null || oldest == 0) && !ready.isEmpty()) {
            oldest = ready.peekFirst().getTimestampMs();
        }
        oldestMissingMs = oldest == null ? 0 : oldest;
    }

    public long shipped() {
        return shipped;
    }

    public long restarts() {
        return restarts;
    }

    public String lastError() {
        return lastError;
    }
}
