package io.chariots.batcher;

import io.chariots.common.membership.Membership;
import io.chariots.proto.Member;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Gathers records into batches for the filters: by size ({@code maxBatch})
 * and time ({@code linger}), partitioned by id so that every copy of a
 * retried record reaches the same filter (which drops duplicates). A batch
 * stays here until a filter acknowledged it; a failed one is re-partitioned
 * over the filters of the newest view and retried. Reports when the buffer
 * crosses its high and low water marks, so the edges can push back. Owned by
 * the batcher loop.
 */
final class BatchAssembler {
    private static final Logger LOG = LoggerFactory.getLogger(BatchAssembler.class);

    /** Sends one batch to a filter; the outcome comes back via {@link #onForwarded} / {@link #onForwardFailed}. */
    interface Sender {
        void forward(String filter, long batchId, List<RecordEnvelope> records);
    }

    /** Told when reading should pause (buffer full) or resume. */
    interface Pressure {
        void paused(boolean paused);
    }

    private static final class Lane {
        List<RecordEnvelope> collecting = new ArrayList<>();
        long firstAt;
        final ArrayDeque<Batch> queued = new ArrayDeque<>();
        int inFlight;
    }

    private record Sent(String filter, Batch batch) {
    }

    private record Batch(long id, List<RecordEnvelope> records) {
    }

    private final BatcherConfig config;
    private final Sender sender;
    private final Pressure pressure;
    private final Map<String, Lane> lanes = new HashMap<>();
    /** Batches sent and not yet acknowledged, by id, with the filter they went to. */
    private final Map<Long, Sent> inFlight = new HashMap<>();
    private final List<RecordEnvelope> unrouted = new ArrayList<>();
    private List<String> filters = List.of();
    private long buffered;
    private long nextBatchId = 1;
    private boolean paused;
    private long retryAt;
    private final Counter sent;

    BatchAssembler(BatcherConfig config, Sender sender, Pressure pressure, MeterRegistry meters) {
        this.config = config;
        this.sender = sender;
        this.pressure = pressure;
        this.sent = Counter.builder("chariots_batcher_records_forwarded_total").register(meters);
        meters.gauge("chariots_batcher_buffered_records", this, a -> a.buffered);
    }

    void onMembership(Membership m, long now) {
        List<String> fs = new ArrayList<>();
        for (Member f : m.members(Role.FILTER)) {
            fs.add(f.getGrpcAddress());
        }
        if (!fs.equals(filters)) {
            LOG.info("filters: {}", fs);
            filters = fs;
            // Records collected for a filter that left go to the new owners of their ids.
            for (Map.Entry<String, Lane> e : lanes.entrySet()) {
                if (!fs.contains(e.getKey())) {
                    Lane l = e.getValue();
                    unrouted.addAll(l.collecting);
                    l.collecting = new ArrayList<>();
                    for (Batch b : l.queued) {
                        unrouted.addAll(b.records());
                    }
                    l.queued.clear();
                }
            }
        }
        route(now);
        flush(now, false);
    }

    /** Records parsed at an edge. */
    void add(List<RecordEnvelope> records, long now) {
        buffered += records.size();
        unrouted.addAll(records);
        route(now);
        flush(now, false);
        updatePressure();
    }

    boolean full() {
        return buffered >= config.highWater();
    }

    private void route(long now) {
        if (filters.isEmpty() || unrouted.isEmpty()) {
            return;
        }
        int n = filters.size();
        for (RecordEnvelope r : unrouted) {
            String f = filters.get(Math.floorMod(r.getId().hashCode(), n));
            Lane lane = lanes.computeIfAbsent(f, x -> new Lane());
            if (lane.collecting.isEmpty()) {
                lane.firstAt = now;
            }
            lane.collecting.add(r);
            if (lane.collecting.size() >= config.maxBatch()) {
                seal(lane);
            }
        }
        unrouted.clear();
    }

    private void seal(Lane lane) {
        lane.queued.add(new Batch(nextBatchId++, lane.collecting));
        lane.collecting = new ArrayList<>();
    }

    private void flush(long now, boolean lingerDue) {
        for (Map.Entry<String, Lane> e : lanes.entrySet()) {
            Lane lane = e.getValue();
            if (!lane.collecting.isEmpty() && (lingerDue || now - lane.firstAt >= config.linger().toNanos())
                    && lane.queued.isEmpty() && lane.inFlight < config.window()) {
                seal(lane);
            }
            if (now - retryAt < 0) {
                continue;
            }
            while (lane.inFlight < config.window() && !lane.queued.isEmpty()) {
                Batch b = lane.queued.poll();
                lane.inFlight++;
                inFlight.put(b.id(), new Sent(e.getKey(), b));
                sender.forward(e.getKey(), b.id(), b.records());
            }
        }
    }

    /** Takes a batch out of flight and frees its lane's window slot; null if unknown (already settled). */
    private Sent landed(long batchId) {
        Sent sent = inFlight.remove(batchId);
        if (sent != null) {
            Lane lane = lanes.get(sent.filter());
            if (lane != null) {
                lane.inFlight--;
            }
        }
        return sent;
    }

    void onForwarded(long batchId, long now) {
        Sent s = landed(batchId);
        if (s == null) {
            return;
        }
        Batch b = s.batch();
        buffered -= b.records().size();
        sent.increment(b.records().size());
        flush(now, false);
        updatePressure();
    }

    void onForwardFailed(long batchId, String why, long now) {
        Sent s = landed(batchId);
        if (s == null) {
            return;
        }
        Batch b = s.batch();
        LOG.warn("filter {} failed a batch of {}: {}; retrying", s.filter(), b.records().size(), why);
        unrouted.addAll(b.records());
        retryAt = now + 50_000_000L;
    }

    /** Flushes lingering batches and retries; returns the next deadline. */
    long poll(long now) {
        route(now);
        flush(now, false);
        long next = now + 1_000_000_000L;
        for (Lane lane : lanes.values()) {
            // A lane whose window is full waits for an acknowledgement, not for its linger
            // (a deadline already past would make the loop spin).
            if (!lane.collecting.isEmpty() && lane.inFlight < config.window() && lane.queued.isEmpty()) {
                next = Math.min(next, lane.firstAt + config.linger().toNanos());
            }
        }
        if (now - retryAt < 0) {
            next = Math.min(next, retryAt);
        }
        if (!unrouted.isEmpty()) {
            next = Math.min(next, now + 50_000_000L);
        }
        return next;
    }

    private void updatePressure() {
        if (!paused && buffered >= config.highWater()) {
            paused = true;
            pressure.paused(true);
        } else if (paused && buffered <= config.lowWater()) {
            paused = false;
            pressure.paused(false);
        }
    }

    long buffered() {
        return buffered;
    }
}
