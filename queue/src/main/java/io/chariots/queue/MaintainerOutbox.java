package io.chariots.queue;

import io.chariots.proto.RecordEnvelope;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Records that have their LIds, on their way to the maintainers that own
 * them. Per maintainer: a FIFO of batches and a window of batches in flight.
 * A batch leaves only when its maintainer acknowledged it as durable; a failed
 * batch is retried (to the same maintainer: an LId's owner never changes)
 * with backoff. Owned by the queue loop.
 */
final class MaintainerOutbox {
    /** Sends one batch; the reply must come back on the loop via {@link #onStored} / {@link #onFailed}. */
    interface Sender {
        void store(String maintainer, long batchId, List<RecordEnvelope> records);
    }

    private static final class Lane {
        final ArrayDeque<Batch> queued = new ArrayDeque<>();
        final Map<Long, Batch> inFlight = new HashMap<>();
        long retryAtNanos;
        long backoffNanos;
    }

    private record Batch(long id, List<RecordEnvelope> records) {
    }

    private final Sender sender;
    private final int window;
    private final int maxBatch;
    private final Map<String, Lane> lanes = new HashMap<>();
    private final Map<String, List<RecordEnvelope>> collecting = new HashMap<>();
    private long nextBatchId = 1;
    private long records;

    MaintainerOutbox(Sender sender, int window, int maxBatch) {
        this.sender = sender;
        this.window = window;
        this.maxBatch = maxBatch;
    }

    /** Adds an assigned record; it is sent at the next {@link #flush}. */
    void add(String maintainer, RecordEnvelope r) {
        List<RecordEnvelope> c = collecting.computeIfAbsent(maintainer, m -> new ArrayList<>());
        c.add(r);
        records++;
        if (c.size() >= maxBatch) {
            seal(maintainer, c);
            collecting.remove(maintainer);
        }
    }

    private void seal(String maintainer, List<RecordEnvelope> c) {
        lanes.computeIfAbsent(maintainer, m -> new Lane()).queued.add(new Batch(nextBatchId++, c));
    }

    /** Seals what was collected and sends whatever the windows allow. */
    void flush(long now) {
        collecting.forEach(this::seal);
        collecting.clear();
        lanes.forEach((m, lane) -> pump(m, lane, now));
    }

    private void pump(String maintainer, Lane lane, long now) {
        if (now - lane.retryAtNanos < 0) {
            return;
        }
        while (lane.inFlight.size() < window && !lane.queued.isEmpty()) {
            Batch b = lane.queued.poll();
            lane.inFlight.put(b.id(), b);
            sender.store(maintainer, b.id(), b.records());
        }
    }

    void onStored(String maintainer, long batchId, long now) {
        Lane lane = lanes.get(maintainer);
        if (lane == null) {
            return;
        }
        Batch b = lane.inFlight.remove(batchId);
        if (b != null) {
            records -= b.records().size();
            lane.backoffNanos = 0;
        }
        pump(maintainer, lane, now);
    }

    void onFailed(String maintainer, long batchId, long now) {
        Lane lane = lanes.get(maintainer);
        if (lane == null) {
            return;
        }
        Batch b = lane.inFlight.remove(batchId);
        if (b != null) {
            lane.queued.addFirst(b);
        }
        lane.backoffNanos = lane.backoffNanos == 0 ? 50_000_000L : Math.min(lane.backoffNanos * 2, 1_000_000_000L);
        lane.retryAtNanos = now + lane.backoffNanos;
    }

    /** Retries due lanes; returns the next retry deadline or {@code Long.MAX_VALUE}. */
    long poll(long now) {
        long next = Long.MAX_VALUE;
        for (Map.Entry<String, Lane> e : lanes.entrySet()) {
            Lane lane = e.getValue();
            if (!lane.queued.isEmpty()) {
                if (now - lane.retryAtNanos >= 0) {
                    pump(e.getKey(), lane, now);
                } else {
                    next = Math.min(next, lane.retryAtNanos);
                }
            }
        }
        return next;
    }

    /** Records assigned but not yet acknowledged by their maintainer. */
    long unacknowledged() {
        return records;
    }
}
