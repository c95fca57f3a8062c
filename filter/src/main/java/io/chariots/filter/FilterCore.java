package io.chariots.filter;

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
 * Lets each record into the log once and spreads batches over the queues of
 * the ring. A batch from a batcher is acknowledged only when a queue has
 * taken it, so nothing acknowledged upstream is ever only here. A queue
 * that fails a batch gets it retried on the next queue. Owned by the filter
 * loop; time is handed in.
 */
final class FilterCore {
    private static final Logger LOG = LoggerFactory.getLogger(FilterCore.class);

    /** Sends one batch to a queue; the outcome comes back through {@link #onEnqueued} / {@link #onEnqueueFailed}. */
    interface Sender {
        void enqueue(String queue, long batchId, List<RecordEnvelope> records);
    }

    private static final class Batch {
        final long id;
        final List<RecordEnvelope> records;
        final Runnable ack;
        int attempts;
        long retryAt;

        Batch(long id, List<RecordEnvelope> records, Runnable ack) {
            this.id = id;
            this.records = records;
            this.ack = ack;
        }
    }

    private final Sender sender;
    private final RecentIds recent;
    private final Map<Long, Batch> inFlight = new HashMap<>();
    private final ArrayDeque<Batch> waiting = new ArrayDeque<>();
    private List<String> queues = List.of();
    private long nextId = 1;
    private int roundRobin;
    private final Counter duplicates;
    private final Counter forwarded;

    FilterCore(Sender sender, int dedupCapacity, MeterRegistry meters) {
        this.sender = sender;
        this.recent = new RecentIds(dedupCapacity);
        this.duplicates = Counter.builder("chariots_filter_duplicates_total").description("Records dropped as already seen (by id)").register(meters);
        this.forwarded = Counter.builder("chariots_filter_records_forwarded_total").register(meters);
        meters.gauge("chariots_filter_batches_in_flight", this, f -> f.inFlight.size() + f.waiting.size());
    }

    void onMembership(Membership m, long now) {
        List<String> qs = new ArrayList<>();
        for (Member q : m.members(Role.QUEUE)) {
            qs.add(q.getGrpcAddress());
        }
        if (!qs.equals(queues)) {
            LOG.info("queues: {}", qs);
        }
        queues = qs;
        poll(now);
    }

    /** A batch from a batcher; {@code ack} runs once a queue holds every new record of it. */
    void onForward(List<RecordEnvelope> records, Runnable ack, long now) {
        List<RecordEnvelope> fresh = new ArrayList<>(records.size());
        for (RecordEnvelope r : records) {
            if (recent.add(r.getId())) {
                fresh.add(r);
            } else {
                duplicates.increment();
            }
        }
        if (fresh.isEmpty()) {
            ack.run();
            return;
        }
        Batch b = new Batch(nextId++, fresh, ack);
        b.retryAt = now;
        waiting.add(b);
        poll(now);
    }

    void onEnqueued(long batchId) {
        Batch b = inFlight.remove(batchId);
        if (b != null) {
            forwarded.increment(b.records.size());
            b.ack.run();
        }
    }

    void onEnqueueFailed(long batchId, String why, long now) {
        Batch b = inFlight.remove(batchId);
        if (b == null) {
            return;
        }
        b.attempts++;
        b.retryAt = now + Math.min(1_000_000_000L, 20_000_000L << Math.min(b.attempts, 6));
        LOG.warn("queue failed a batch of {} ({}); retrying", b.records.size(), why);
        waiting.addFirst(b);
    }

    /** Sends waiting batches that are due; returns the next deadline. */
    long poll(long now) {
        long next = now + 1_000_000_000L;
        if (queues.isEmpty()) {
            return next;
        }
        int n = waiting.size();
        for (int i = 0; i < n; i++) {
            Batch b = waiting.poll();
            if (now - b.retryAt < 0) {
                next = Math.min(next, b.retryAt);
                waiting.add(b);
                continue;
            }
            String q = queues.get(Math.floorMod(roundRobin++, queues.size()));
            inFlight.put(b.id, b);
            sender.enqueue(q, b.id, b.records);
        }
        return next;
    }

    int remembered() {
        return recent.size();
    }
}
