package io.chariots.app;

import io.chariots.common.grpc.MessageLimits;
import io.chariots.common.link.WindowedSender;
import io.chariots.common.membership.Membership;
import io.chariots.proto.Member;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Forwards records accepted over HTTP to the batchers in batches: requests
 * that arrive together share one gRPC call (up to {@code app.max_batch}
 * records; a batch is cut at {@link MessageLimits#BATCH_BYTES}). A request is answered (through
 * its {@link Reply}) once a batcher has all its records, or with an error when
 * no batcher could take them in time. Batches go out through the one
 * stage-to-stage sender ({@link WindowedSender}): a batcher that fails a call
 * (full, stopping, gone) is passed over until its backoff ends, and the
 * failed batch goes to another batcher, or, when every batcher is backing
 * off, waits for the next one in turn to end its backoff, instead of being
 * sent again at once. Owned by the app loop.
 */
final class BatcherForwarder {
    /** Batches on their way to one batcher at most; more wait in the sender. */
    static final int WINDOW = 64;
    /**
     * After a failed call, a batcher gets nothing for 10 ms, doubling per
     * failure in a row up to 100 ms: a full batcher (the usual failure) has
     * room again within milliseconds of draining, and a longer wait starved
     * HTTP appends while raw TCP clients took that room.
     */
    static final WindowedSender.Backoff BACKOFF = new WindowedSender.Backoff(Duration.ofMillis(10), Duration.ofMillis(100));

    /** Sends one batch; the outcome comes back through {@link #onAccepted} / {@link #onFailed}. */
    interface Sender {
        void ingest(String batcher, long batchId, List<RecordEnvelope> records);
    }

    /** How a request learns its fate. */
    interface Reply {
        void accepted();

        void unavailable(String why);
    }

    private static final class Request {
        final List<RecordEnvelope> records;
        final long bytes; // serialized, of records
        final Reply reply;
        final long deadline;
        int unacked;
        boolean done;

        Request(List<RecordEnvelope> records, Reply reply, long deadline) {
            this.records = records;
            this.bytes = MessageLimits.bytesOf(records);
            this.reply = reply;
            this.deadline = deadline;
        }
    }

    private record Part(Request request, List<RecordEnvelope> records) {
    }

    private final AppConfig config;
    private final WindowedSender<List<Part>> sender;
    private List<String> batchers = List.of();
    private final ArrayDeque<Part> collecting = new ArrayDeque<>();
    private int collectingRecords;
    private long collectingBytes; // serialized, of the records collecting
    private long firstAt;
    private final ArrayDeque<Request> open = new ArrayDeque<>();
    private long inFlightRecords;
    private long inFlightBytes;
    private int roundRobin;

    BatcherForwarder(AppConfig config, Sender sender) {
        this.config = config;
        this.sender = new WindowedSender<>((batcher, id, parts) -> sender.ingest(batcher, id, recordsOf(parts)), WINDOW, BACKOFF);
    }

    void onMembership(Membership m, long now) {
        List<String> bs = new ArrayList<>();
        for (Member b : m.members(Role.BATCHER)) {
            bs.add(b.getGrpcAddress());
        }
        batchers = bs;
        for (String gone : sender.destinations()) {
            if (!bs.contains(gone)) {
                // Its batches, also those in flight, go to the others now (a second copy is harmless: ids).
                List<List<Part>> orphans = new ArrayList<>();
                orphans.addAll(sender.forget(gone, (id, parts) -> orphans.add(parts)));
                orphans.forEach(parts -> resend(parts, now));
            }
        }
        flush(now);
    }

    boolean hasBatcher() {
        return !batchers.isEmpty();
    }

    /** Serialized bytes of the records accepted and not yet taken by a batcher. */
    long inFlightBytes() {
        return inFlightBytes;
    }

    /** Records accepted and not yet taken by a batcher. */
    long inFlightRecords() {
        return inFlightRecords;
    }

    /**
     * Whether {@code records} would exceed the in-flight bounds: of records,
     * or of their bytes (unless nothing is in flight, so that a request
     * larger than the bound is not refused for ever).
     */
    boolean full(List<RecordEnvelope> records) {
        return inFlightRecords + records.size() > config.maxInFlight()
                || (inFlightBytes > 0 && inFlightBytes + MessageLimits.bytesOf(records) > config.maxInFlightBytes());
    }

    void submit(List<RecordEnvelope> records, Reply reply, long now) {
        Request r = new Request(records, reply, now + config.forwardTimeout().toNanos());
        r.unacked = records.size();
        inFlightRecords += records.size();
        inFlightBytes += r.bytes;
        open.add(r);
        if (collecting.isEmpty()) {
            firstAt = now;
        }
        collecting.add(new Part(r, records));
        collectingRecords += records.size();
        collectingBytes += r.bytes;
        // Natural batching: with nothing on its way, send at once; otherwise requests that
        // arrive meanwhile share the next batch (sent when one returns, or after the linger).
        if (nothingOnItsWay() || collectingRecords >= config.maxBatch() || collectingBytes >= MessageLimits.BATCH_BYTES
                || config.linger().isZero()) {
            flush(now);
        }
    }

    private void flush(long now) {
        if (collecting.isEmpty() || batchers.isEmpty()) {
            return;
        }
        List<Part> parts = awaited(collecting); // one answered meanwhile (timed out while no batcher was there) needs no call
        boolean oneBatch = collectingBytes <= MessageLimits.BATCH_BYTES; // the usual case: no pass over the records
        collecting.clear();
        collectingRecords = 0;
        collectingBytes = 0;
        if (oneBatch) {
            if (!parts.isEmpty()) {
                send(parts, now);
            }
            return;
        }
        for (List<Part> batch : byBytes(parts)) {
            send(batch, now);
        }
    }

    /**
     * {@code parts} cut into batches, a new one started before a record
     * that would take one past {@link MessageLimits#BATCH_BYTES}: requests of large records that came
     * together, or one request of them, never make a call larger than a
     * batcher takes (such a batch would fail at every batcher until its
     * requests timed out). A request cut in two is answered once both parts
     * are taken.
     */
    private static List<List<Part>> byBytes(List<Part> parts) {
        List<List<Part>> batches = new ArrayList<>(1);
        List<Part> batch = new ArrayList<>(parts.size());
        long bytes = 0;
        for (Part p : parts) {
            List<RecordEnvelope> rs = p.records();
            int from = 0;
            for (int i = 0; i < rs.size(); i++) {
                int size = rs.get(i).getSerializedSize();
                if (MessageLimits.closesBefore(bytes, size)) {
                    if (i > from) {
                        batch.add(new Part(p.request(), rs.subList(from, i)));
                    }
                    batches.add(batch);
                    batch = new ArrayList<>();
                    bytes = 0;
                    from = i;
                }
                bytes += size;
            }
            if (from < rs.size()) {
                batch.add(from == 0 ? p : new Part(p.request(), rs.subList(from, rs.size())));
            }
        }
        if (!batch.isEmpty()) {
            batches.add(batch);
        }
        return batches;
    }

    /**
     * Queues {@code parts} for the next batcher in turn that can take them now
     * (not backing off, room in its window, nothing queued), else the next not
     * backing off, else the next in turn (they wait for its backoff), and
     * sends what may go.
     */
    private void send(List<Part> parts, long now) {
        int n = batchers.size();
        String to = null;
        for (int i = 0; i < n && to == null; i++) {
            String b = batchers.get(Math.floorMod(roundRobin + i, n));
            to = takesNow(b) ? b : null;
        }
        for (int i = 0; i < n && to == null; i++) {
            String b = batchers.get(Math.floorMod(roundRobin + i, n));
            to = sender.state(b) == WindowedSender.State.READY ? b : null;
        }
        if (to == null) {
            to = batchers.get(Math.floorMod(roundRobin, n));
        }
        roundRobin++;
        sender.submit(to, parts);
        sender.pump(to, now);
    }

    private boolean takesNow(String batcher) {
        return sender.state(batcher) == WindowedSender.State.READY && sender.queued(batcher) == 0 && sender.inFlight(batcher) < WINDOW;
    }

    /** Whether some batcher would take a batch now: else lingering requests keep gathering. */
    private boolean someBatcherTakesNow() {
        for (String b : batchers) {
            if (takesNow(b)) {
                return true;
            }
        }
        return false;
    }

    void onAccepted(long batchId, long now) {
        List<Part> parts = sender.onSuccess(batchId);
        if (parts == null) {
            return;
        }
        if (nothingOnItsWay()) {
            flush(now);
        }
        for (Part p : parts) {
            Request r = p.request();
            r.unacked -= p.records().size();
            if (r.unacked == 0 && !r.done) {
                r.done = true;
                inFlightRecords -= r.records.size();
                inFlightBytes -= r.bytes;
                r.reply.accepted();
            }
        }
    }

    /** A batcher failed the batch: it backs off, and the parts still awaited go to another (ids make a retry harmless). */
    void onFailed(long batchId, String why, long now) {
        List<Part> parts = sender.onFailure(batchId, now);
        if (parts != null) {
            resend(parts, now);
        }
    }

    private void resend(List<Part> parts, long now) {
        List<Part> retry = awaited(parts);
        if (retry.isEmpty()) {
            return;
        }
        if (batchers.isEmpty()) {
            if (collecting.isEmpty()) {
                firstAt = now;
            }
            collecting.addAll(retry);
            for (Part p : retry) {
                collectingRecords += p.records().size();
                collectingBytes += MessageLimits.bytesOf(p.records());
            }
        } else {
            send(retry, now);
        }
    }

    /**
     * Times out requests, sends what the batchers' backoffs allow and
     * flushes lingering records; returns the next deadline. While no batcher
     * would take a batch now (each backs off, has its window full or batches
     * queued), lingering requests keep gathering, up to {@code app.max_batch}
     * records, so that the end of a backoff sends what it held back and one
     * batch of what came meanwhile, not one per linger that passed.
     */
    long poll(long now) {
        while (!open.isEmpty() && (open.peek().done || now - open.peek().deadline >= 0)) {
            Request r = open.poll();
            if (!r.done) {
                r.done = true;
                inFlightRecords -= r.records.size();
                inFlightBytes -= r.bytes;
                r.reply.unavailable(batchers.isEmpty() ? "no batcher is registered" : "no batcher accepted the records in time");
            }
        }
        long retryAt = sender.poll(now);
        if (!collecting.isEmpty() && someBatcherTakesNow() && now - firstAt >= config.linger().toNanos()) {
            flush(now);
            retryAt = Math.min(retryAt, sender.poll(now));
        }
        long next = Math.min(now + 1_000_000_000L, retryAt);
        if (!collecting.isEmpty() && someBatcherTakesNow()) {
            next = Math.min(next, firstAt + config.linger().toNanos());
        }
        if (!open.isEmpty()) {
            next = Math.min(next, open.peek().deadline);
        }
        return next;
    }

    /** The records of {@code parts} whose request still waits: one answered meanwhile (timed out, or taken by another copy) needs none. */
    private static List<RecordEnvelope> recordsOf(List<Part> parts) {
        List<RecordEnvelope> records = new ArrayList<>();
        for (Part p : awaited(parts)) {
            records.addAll(p.records());
        }
        return records;
    }

    /** The parts of {@code parts} whose request is not answered yet. */
    private static List<Part> awaited(Collection<Part> parts) {
        List<Part> out = new ArrayList<>(parts.size());
        for (Part p : parts) {
            if (!p.request().done) {
                out.add(p);
            }
        }
        return out;
    }

    /** Whether no batch is queued or in flight to any batcher (natural batching sends at once then). */
    private boolean nothingOnItsWay() {
        return sender.inFlightBatches() + sender.queuedBatches() == 0;
    }
}
