package io.chariots.batcher;

import io.chariots.common.grpc.MessageLimits;
import io.chariots.common.link.WindowedSender;
import io.chariots.common.membership.Membership;
import io.chariots.proto.Member;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Gathers records into batches for the filters, by size ({@code maxBatch}
 * records, or {@link MessageLimits#BATCH_BYTES} serialized bytes) and time ({@code linger}; up to {@code busyLinger} while a filter already
 * has {@code busyWindow} batches on their way, so that batches grow with the
 * load), and keeps every batch until a filter answered
 * it — which a filter does only once every record of it is durable (or
 * rejected for good), so a batcher crash loses at most what it had not yet
 * handed on, and a filter crash loses nothing: its batches go to another
 * filter. Records are spread over the filters by id (so copies of a record
 * usually travel together); a filter whose calls fail is passed over until
 * its backoff ends, and one that leaves the view has its batches, also those
 * in flight, sent elsewhere at once. Sending a record twice is harmless: the
 * queue that owns its id lets it in once.
 *
 * <p>A filter may answer a batch with some of its records <em>parked</em>:
 * they wait at their queue for a cause. The queue holds them and lets them in
 * when the cause comes; this keeps them too, apart, and sends them again
 * until a copy is answered settled, so that a crash of that queue loses none:
 * after {@link #PARKED_RESEND}, then after twice as long each time a copy
 * comes back parked again, at most {@link #PARKED_RESEND_MAX} (a record whose
 * cause is long in coming is not sent every second all the while, and one
 * whose queue crashed is sent again well within the cause timeout); while the
 * batcher drains for a clean stop, every {@link #PARKED_RESEND}. Parked
 * records do not count as held for the water marks: effects sent ahead of
 * their causes must never keep the causes out (they did: every batch holding
 * one waited, reading stopped at the high water mark, and the causes stayed
 * outside until the cause timeout rejected the effects). Their number is
 * bounded by what the queues let wait ({@code queue.max_waiting}).
 *
 * <p>Reports when the records held cross the high and low water marks, so
 * the edges can push back. Owned by the batcher loop.
 */
final class BatchAssembler {
    private static final Logger LOG = LoggerFactory.getLogger(BatchAssembler.class);
    /** The first wait before a parked record is sent again (see class notes). */
    static final Duration PARKED_RESEND = Duration.ofSeconds(1);
    /** The longest wait before a parked record is sent again. */
    static final Duration PARKED_RESEND_MAX = Duration.ofSeconds(8);

    /** Sends one batch to a filter; the outcome comes back via {@link #onForwarded} / {@link #onForwardFailed}. */
    interface Sender {
        void forward(String filter, long batchId, List<RecordEnvelope> records);
    }

    /** Told when reading should pause (buffer full) or resume. */
    interface Pressure {
        void paused(boolean paused);
    }

    /** Records gathering for one filter. */
    private static final class Collecting {
        List<RecordEnvelope> records = new ArrayList<>();
        long bytes; // serialized, of records
        long firstAt;

        /** The batch gathered; this starts a new one. */
        List<RecordEnvelope> take() {
            List<RecordEnvelope> b = records;
            records = new ArrayList<>();
            bytes = 0;
            return b;
        }
    }

    private final BatcherConfig config;
    private final WindowedSender<List<RecordEnvelope>> sender;
    private final Pressure pressure;
    private final Map<String, Collecting> collecting = new HashMap<>();
    private final List<RecordEnvelope> unrouted = new ArrayList<>();
    private List<String> filters = List.of();
    private long buffered;
    private long bufferedBytes; // serialized, of the buffered records
    private boolean paused;
    // Records a filter answered as parked at their queue, by when to send them again (nanoTime).
    private final TreeMap<Long, List<RecordEnvelope>> parked = new TreeMap<>();
    private int parkedCount;
    // How often each parked record came back parked (its next wait doubles), until it is settled. By identity:
    // a record is sent again as the same object, and a lookup must cost next to nothing on every record answered.
    private final Map<RecordEnvelope, Integer> parkedRounds = new IdentityHashMap<>();
    private final Counter sent;
    private final Counter parkedResent;
    private boolean draining;

    BatchAssembler(BatcherConfig config, Sender sender, Pressure pressure, MeterRegistry meters) {
        this.config = config;
        this.sender = new WindowedSender<>(sender::forward, config.window(),
                new WindowedSender.Backoff(Duration.ofMillis(50), Duration.ofSeconds(2)));
        this.pressure = pressure;
        this.sent = Counter.builder("chariots_batcher_records_forwarded_total")
                .description("Records a filter answered for (durable or rejected)").register(meters);
        meters.gauge("chariots_batcher_buffered_records", this, a -> a.buffered);
        meters.gauge("chariots_batcher_buffered_bytes", this, a -> a.bufferedBytes);
        meters.gauge("chariots_batcher_parked_records", this, a -> a.parkedCount);
        this.parkedResent = Counter.builder("chariots_batcher_parked_resent_total")
                .description("Parked records sent again (each until a copy is settled)").register(meters);
    }

    void onMembership(Membership m, long now) {
        List<String> fs = new ArrayList<>();
        for (Member f : m.members(Role.FILTER)) {
            fs.add(f.getGrpcAddress());
        }
        if (fs.equals(filters)) {
            return;
        }
        LOG.info("filters: {}", fs);
        filters = fs;
        for (String gone : sender.destinations()) {
            if (!fs.contains(gone)) {
                // Its batches, also those in flight, go to the others now: a copy may still reach the log
                // through it, and the queue that owns each id lets one copy in.
                for (List<RecordEnvelope> b : sender.forget(gone, (id, batch) -> unrouted.addAll(batch))) {
                    unrouted.addAll(b);
                }
            }
        }
        for (String gone : List.copyOf(collecting.keySet())) {
            if (!fs.contains(gone)) {
                unrouted.addAll(collecting.remove(gone).records);
            }
        }
        route(now);
        flush(now, false);
    }

    /** Records parsed at an edge. */
    void add(List<RecordEnvelope> records, long now) {
        buffered += records.size();
        bufferedBytes += MessageLimits.bytesOf(records);
        unrouted.addAll(records);
        route(now);
        flush(now, false);
        updatePressure();
    }

    boolean full() {
        return buffered >= config.highWater() || bufferedBytes >= config.highWaterBytes();
    }

    /**
     * Whether {@code batch} (the app's) must be refused: the water marks are
     * reached, or its bytes would pass the bytes' mark while more than half
     * of it is held. Below half it is taken whatever its size, as raw TCP
     * reading resumes there: the app's batches are not refused again and
     * again while raw TCP clients refill the room, and a batch larger than
     * the mark is not refused for ever.
     */
    boolean full(List<RecordEnvelope> batch) {
        return full() || (bufferedBytes > config.highWaterBytes() / 2
                && bufferedBytes + MessageLimits.bytesOf(batch) > config.highWaterBytes());
    }

    /** The filter for a record: by id, or the next filter that is not backing off. */
    private String filterFor(RecordEnvelope r) {
        int n = filters.size();
        int first = Math.floorMod(r.getId().hashCode(), n);
        for (int i = 0; i < n; i++) {
            String f = filters.get((first + i) % n);
            if (sender.state(f) == WindowedSender.State.READY) {
                return f;
            }
        }
        return filters.get(first);
    }

    private void route(long now) {
        if (filters.isEmpty() || unrouted.isEmpty()) {
            return;
        }
        for (RecordEnvelope r : unrouted) {
            String f = filterFor(r);
            Collecting c = collecting.computeIfAbsent(f, x -> new Collecting());
            if (c.records.isEmpty()) {
                c.firstAt = now;
            }
            int size = r.getSerializedSize(); // memoized: the call's serialization reads it again
            // Closed by bytes too: a batch of large records must stay one call a filter can take.
            if (MessageLimits.closesBefore(c.bytes, size)) {
                sender.submit(f, c.take());
                c.firstAt = now;
            }
            c.records.add(r);
            c.bytes += size;
            if (c.records.size() >= config.maxBatch()) {
                sender.submit(f, c.take());
            }
        }
        unrouted.clear();
    }

    private void flush(long now, boolean all) {
        for (Map.Entry<String, Collecting> e : collecting.entrySet()) {
            Collecting c = e.getValue();
            if (!c.records.isEmpty() && (all || now - c.firstAt >= lingerFor(e.getKey()))) {
                sender.submit(e.getKey(), c.take());
            }
        }
        sender.poll(now);
    }

    /**
     * How long a batch for {@code filter} gathers, in nanoseconds: the linger
     * while the filter keeps up, and while it already has {@code busy_window}
     * batches or more on their way, until fewer are (an answer flushes at
     * once) or for at most {@code busy_linger}. Under load every hop's cost is
     * then shared by more records; the cap bounds what a stalled filter (one
     * that answers only once a batch is durable) adds to a record's wait.
     */
    private long lingerFor(String filter) {
        boolean busy = sender.inFlight(filter) + sender.queued(filter) >= config.busyWindow();
        return (busy ? config.busyLinger() : config.linger()).toNanos();
    }

    /** A filter answered a batch: every record settled, but those of {@code parkedIds}, which wait at their queue for a cause. */
    void onForwarded(long batchId, List<String> parkedIds, long now) {
        List<RecordEnvelope> b = sender.onSuccess(batchId);
        if (b == null) {
            return;
        }
        buffered -= b.size();
        bufferedBytes -= MessageLimits.bytesOf(b);
        int kept = 0;
        if (!parkedIds.isEmpty() || !parkedRounds.isEmpty()) {
            Set<String> ids = parkedIds.isEmpty() ? Set.of() : new HashSet<>(parkedIds);
            for (RecordEnvelope r : b) {
                if (r.getToid() == 0 && ids.contains(r.getId())) { // another datacenter's records are never parked
                    int rounds = parkedRounds.merge(r, 1, Integer::sum);
                    long wait = draining ? PARKED_RESEND.toNanos()
                            : Math.min(PARKED_RESEND.toNanos() << Math.min(rounds - 1, 16), PARKED_RESEND_MAX.toNanos());
                    parked.computeIfAbsent(now + wait, t -> new ArrayList<>()).add(r);
                    parkedCount++;
                    kept++;
                } else if (!parkedRounds.isEmpty()) {
                    parkedRounds.remove(r); // settled at last
                }
            }
        }
        sent.increment(b.size() - kept);
        flush(now, false);
        updatePressure();
    }

    /**
     * Sends the parked records again whose wait is over: each copy is answered
     * settled, or parked again while its cause is still missing.
     */
    private void resendParkedIfDue(long now) {
        if (parked.isEmpty() || parked.firstKey() - now > 0) {
            return;
        }
        while (!parked.isEmpty() && parked.firstKey() - now <= 0) {
            List<RecordEnvelope> again = parked.pollFirstEntry().getValue();
            parkedCount -= again.size();
            parkedResent.increment(again.size());
            buffered += again.size();
            bufferedBytes += MessageLimits.bytesOf(again);
            unrouted.addAll(again);
        }
        route(now);
        updatePressure();
    }

    void onForwardFailed(long batchId, String why, long now) {
        List<RecordEnvelope> b = sender.onFailure(batchId, now);
        if (b == null) {
            return;
        }
        LOG.warn("a filter failed a batch of {}: {}; sending it again", b.size(), why);
        unrouted.addAll(b);
        route(now);
        flush(now, false);
    }

    /** Sends lingering batches and what the windows allow; returns the next deadline. */
    long poll(long now) {
        resendParkedIfDue(now);
        route(now);
        flush(now, false);
        long next = now + 1_000_000_000L;
        for (Map.Entry<String, Collecting> e : collecting.entrySet()) {
            Collecting c = e.getValue();
            if (!c.records.isEmpty()) { // a busy filter's batch may leave sooner: an answer flushes (onForwarded)
                next = Math.min(next, c.firstAt + lingerFor(e.getKey()));
            }
        }
        next = Math.min(next, sender.poll(now));
        if (!unrouted.isEmpty()) {
            next = Math.min(next, now + 50_000_000L);
        }
        if (!parked.isEmpty()) {
            next = Math.min(next, parked.firstKey());
        }
        return next;
    }

    /**
     * Sends everything gathered now (a clean stop), parked records too.
     * Returns the records not yet answered by a filter as settled: once this
     * is 0, nothing is only here.
     */
    long drain(long now) {
        if (!draining) {
            draining = true;
            // Whatever waited longest: due now, and from here on every PARKED_RESEND, so a stop is not held up.
            List<RecordEnvelope> all = new ArrayList<>();
            parked.values().forEach(all::addAll);
            parked.clear();
            if (!all.isEmpty()) {
                parked.put(now, all);
            }
        }
        resendParkedIfDue(now);
        route(now);
        flush(now, true);
        return buffered + parkedCount;
    }

    private void updatePressure() {
        if (!paused && full()) {
            paused = true;
            pressure.paused(true);
        } else if (paused && buffered <= config.lowWater() && bufferedBytes <= config.highWaterBytes() / 2) {
            paused = false;
            pressure.paused(false);
        }
    }

    /** Records held: received and not yet answered by a filter (parked records apart). */
    long buffered() {
        return buffered;
    }

    /** Serialized bytes of the records held (parked records apart). */
    long bufferedBytes() {
        return bufferedBytes;
    }

    /** Records answered as parked at their queue, kept to be sent again until settled. */
    int parked() {
        return parkedCount;
    }
}
