package io.chariots.maintainer;

import io.chariots.proto.AppendedId;
import io.chariots.proto.AppendedIds;
import io.chariots.proto.IndexEntry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Tells the edges (apps, batchers) that wait for records that those records
 * are in the log: once an indexer acknowledged a record's entry (the point
 * where the maintainer marks it indexed), its id, LId and datacenter go to
 * the edge named by its {@code ack_to}, in {@code Acks.Appended} batches.
 *
 * <p>Best effort and bounded: notices for one edge are batched (at most
 * {@link Limits#maxBatch} ids per call, {@link Limits#window} calls in flight
 * per edge; what arrives meanwhile shares the next call); at most
 * {@link Limits#maxPending} notices wait in memory and more are dropped; a
 * failed call is counted and dropped. Nothing is retried because the edge
 * has a fallback: it looks ids up at the indexers when no notice came. Index
 * feeding never waits for notices.
 *
 * <p>Records without {@code ack_to} cost one empty-string check each.
 *
 * <p>Threads: owned by the maintainer's loop, like the {@link IndexFeeder};
 * the {@link Sender} must deliver completions back on it.
 */
public final class AppendNotices implements IndexFeeder.Indexed {
    private static final Logger LOG = LoggerFactory.getLogger(AppendNotices.class);

    /** Sends one batch of notices to an edge (gRPC in production, a fake in tests). */
    public interface Sender {
        /**
         * Sends {@code ids} to the edge at {@code edge} (its gRPC address).
         * Must call {@code done} exactly once, later, on the loop: with
         * {@code null} on success, or with the failure.
         */
        void send(String edge, AppendedIds ids, Consumer<Throwable> done);
    }

    /**
     * @param maxBatch   ids per call at most
     * @param window     calls in flight per edge at most
     * @param maxPending notices waiting to be sent, over all edges, at most; beyond, they are dropped
     */
    public record Limits(int maxBatch, int window, int maxPending) {
        public Limits {
            if (maxBatch < 1 || window < 1 || maxPending < 1) {
                throw new IllegalArgumentException("invalid notice limits: " + maxBatch + "/" + window + "/" + maxPending);
            }
        }

        public static Limits defaults() {
            return new Limits(4096, 2, 100_000);
        }
    }

    /**
     * Notices waiting for one edge, and its calls in flight. Kept for good:
     * edges are few (the apps and batchers of this datacenter).
     */
    private static final class Edge {
        List<AppendedId> waiting = new ArrayList<>();
        int inFlight;
        int failuresInARow;
    }

    private final Sender sender;
    private final Limits limits;
    private final Map<String, Edge> edges = new HashMap<>();
    private int pending;
    private boolean dirty;

    private volatile long noticesSent;
    private volatile long noticesFailed;
    private volatile long noticesDropped;

    public AppendNotices(Sender sender, Limits limits) {
        this.sender = sender;
        this.limits = limits;
    }

    /** Queues a notice for each entry that names an edge; sent at the next {@link #poll}. */
    @Override
    public void indexed(List<IndexEntry> entries) {
        for (IndexEntry e : entries) {
            String edge = e.getAckTo();
            if (edge.isEmpty()) {
                continue;
            }
            if (pending >= limits.maxPending()) {
                noticesDropped++;
                continue;
            }
            edges.computeIfAbsent(edge, a -> new Edge()).waiting.add(AppendedId.newBuilder()
                    .setId(e.getId()).setLid(e.getLid()).setHost(e.getHost()).build());
            pending++;
            dirty = true;
        }
    }

    /**
     * Sends what the windows allow. Never has timed work of its own (a call
     * completing sends the rest), so it returns nothing; call it from the
     * loop's ticker after the feeder's.
     */
    public void poll() {
        if (!dirty) {
            return;
        }
        dirty = false;
        for (Map.Entry<String, Edge> en : edges.entrySet()) {
            Edge edge = en.getValue();
            while (!edge.waiting.isEmpty() && edge.inFlight < limits.window()) {
                List<AppendedId> batch;
                if (edge.waiting.size() <= limits.maxBatch()) {
                    batch = edge.waiting;
                    edge.waiting = new ArrayList<>();
                } else {
                    List<AppendedId> head = edge.waiting.subList(0, limits.maxBatch());
                    batch = new ArrayList<>(head);
                    head.clear();
                }
                pending -= batch.size();
                dispatch(en.getKey(), edge, batch);
            }
            if (!edge.waiting.isEmpty()) {
                dirty = true;
            }
        }
    }

    private void dispatch(String address, Edge edge, List<AppendedId> batch) {
        edge.inFlight++;
        AppendedIds ids = AppendedIds.newBuilder().addAllIds(batch).build();
        try {
            sender.send(address, ids, failure -> completed(address, edge, batch.size(), failure));
        } catch (RuntimeException e) {
            completed(address, edge, batch.size(), e);
        }
    }

    private void completed(String address, Edge edge, int count, Throwable failure) {
        edge.inFlight--;
        if (failure == null) {
            noticesSent += count;
            edge.failuresInARow = 0;
        } else {
            noticesFailed += count;
            edge.failuresInARow++;
            if (Integer.bitCount(edge.failuresInARow) == 1) {
                LOG.warn("edge {}: {} append notices dropped ({} failed calls in a row; it will look them up): {}",
                        address, count, edge.failuresInARow, failure.toString());
            }
        }
        if (!edge.waiting.isEmpty()) {
            dirty = true;
        }
    }

    /** Notices delivered to edges. */
    public long noticesSent() {
        return noticesSent;
    }

    /** Notices whose call failed (dropped; the edge looks the ids up). */
    public long noticesFailed() {
        return noticesFailed;
    }

    /** Notices dropped because {@link Limits#maxPending} were already waiting. */
    public long noticesDropped() {
        return noticesDropped;
    }

    /** Notices waiting to be sent (loop thread only). */
    int pending() {
        return pending;
    }
}
