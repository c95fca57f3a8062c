package io.chariots.app;

import io.chariots.common.membership.Membership;
import io.chariots.proto.Member;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Forwards records accepted over HTTP to the batchers in batches: requests
 * that arrive together share one gRPC call. A request is answered (through
 * its {@link Reply}) once a batcher has all its records, or with an error when
 * no batcher could take them in time. Owned by the app loop.
 */
final class BatcherForwarder {
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
        final Reply reply;
        final long deadline;
        int unacked;
        boolean done;

        Request(List<RecordEnvelope> records, Reply reply, long deadline) {
            this.records = records;
            this.reply = reply;
            this.deadline = deadline;
        }
    }

    private record Part(Request request, List<RecordEnvelope> records) {
    }

    private final AppConfig config;
    private final Sender sender;
    private List<String> batchers = List.of();
    private final ArrayDeque<Part> collecting = new ArrayDeque<>();
    private int collectingRecords;
    private long firstAt;
    private final Map<Long, List<Part>> inFlight = new HashMap<>();
    private final ArrayDeque<Request> open = new ArrayDeque<>();
    private long inFlightRecords;
    private long nextId = 1;
    private int roundRobin;

    BatcherForwarder(AppConfig config, Sender sender) {
        this.config = config;
        this.sender = sender;
    }

    void onMembership(Membership m) {
        List<String> bs = new ArrayList<>();
        for (Member b : m.members(Role.BATCHER)) {
            bs.add(b.getGrpcAddress());
        }
        batchers = bs;
    }

    boolean hasBatcher() {
        return !batchers.isEmpty();
    }

    /** Records accepted and not yet taken by a batcher. */
    long inFlightRecords() {
        return inFlightRecords;
    }

    /** Whether {@code n} more records would exceed the in-flight bound. */
    boolean full(int n) {
        return inFlightRecords + n > config.maxInFlight();
    }

    void submit(List<RecordEnvelope> records, Reply reply, long now) {
        Request r = new Request(records, reply, now + config.forwardTimeout().toNanos());
        r.unacked = records.size();
        inFlightRecords += records.size();
        open.add(r);
        if (collecting.isEmpty()) {
            firstAt = now;
        }
        collecting.add(new Part(r, records));
        collectingRecords += records.size();
        // Natural batching: with nothing in flight, send at once; otherwise requests that
        // arrive meanwhile share the next batch (sent when one returns, or after the linger).
        if (inFlight.isEmpty() || collectingRecords >= config.maxBatch() || config.linger().isZero()) {
            flush();
        }
    }

    private void flush() {
        if (collecting.isEmpty() || batchers.isEmpty()) {
            return;
        }
        List<Part> parts = new ArrayList<>(collecting);
        collecting.clear();
        collectingRecords = 0;
        send(parts);
    }

    private void send(List<Part> parts) {
        List<RecordEnvelope> records = new ArrayList<>();
        for (Part p : parts) {
            records.addAll(p.records());
        }
        long id = nextId++;
        inFlight.put(id, parts);
        sender.ingest(batchers.get(Math.floorMod(roundRobin++, batchers.size())), id, records);
    }

    void onAccepted(long batchId) {
        List<Part> parts = inFlight.remove(batchId);
        if (parts == null) {
            return;
        }
        if (inFlight.isEmpty()) {
            flush();
        }
        for (Part p : parts) {
            Request r = p.request();
            r.unacked -= p.records().size();
            if (r.unacked == 0 && !r.done) {
                r.done = true;
                inFlightRecords -= r.records.size();
                r.reply.accepted();
            }
        }
    }

    /** A batcher failed the batch: try another (its records' ids make a retry harmless). */
    void onFailed(long batchId, String why, long now) {
        List<Part> parts = inFlight.remove(batchId);
        if (parts == null) {
            return;
        }
        List<Part> retry = new ArrayList<>();
        for (Part p : parts) {
            if (!p.request().done) {
                retry.add(p);
            }
        }
        if (!retry.isEmpty()) {
            if (batchers.isEmpty()) {
                collecting.addAll(retry);
                for (Part p : retry) {
                    collectingRecords += p.records().size();
                }
            } else {
                send(retry);
            }
        }
    }

    /** Flushes lingering records and times out requests; returns the next deadline. */
    long poll(long now) {
        if (!collecting.isEmpty() && now - firstAt >= config.linger().toNanos()) {
            flush();
        }
        while (!open.isEmpty() && (open.peek().done || now - open.peek().deadline >= 0)) {
            Request r = open.poll();
            if (!r.done) {
                r.done = true;
                inFlightRecords -= r.records.size();
                r.reply.unavailable(batchers.isEmpty() ? "no batcher is registered" : "no batcher accepted the records in time");
            }
        }
        long next = now + 1_000_000_000L;
        if (!collecting.isEmpty() && !batchers.isEmpty()) {
            next = Math.min(next, firstAt + config.linger().toNanos());
        }
        if (!open.isEmpty()) {
            next = Math.min(next, open.peek().deadline);
        }
        return next;
    }
}
