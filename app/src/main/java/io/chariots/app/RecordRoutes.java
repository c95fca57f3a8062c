package io.chariots.app;


import io.chariots.common.acks.AppendWaiters;
import io.chariots.common.grpc.Calls;
import io.chariots.common.grpc.ChannelPool;
import io.chariots.common.http.HttpExchange;
import io.chariots.common.http.HttpServer;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.common.membership.Membership;
import io.chariots.common.record.EdgeStamp;
import io.chariots.common.record.LogRecord;
import io.chariots.common.record.RecordFormatException;
import io.chariots.common.record.RecordJson;
import io.chariots.common.record.Unsigned64;
import io.chariots.proto.IdStatus;
import io.chariots.proto.IndexerGrpc;
import io.chariots.proto.LookupReply;
import io.chariots.proto.LookupRequest;
import io.chariots.proto.Member;
import io.chariots.proto.PendingQuery;
import io.chariots.proto.PendingRecord;
import io.chariots.proto.PendingReply;
import io.chariots.proto.QueueGrpc;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.codec.http.HttpResponseStatus;


import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The app's record API, an adapter over {@link BatcherForwarder} (appends)
 * and the maintainers, indexers and queues (reads).
 *
 * <ul>
 * <li>{@code POST /record} — one record (either JSON shape) or an array; 202 {@code {"id"}} / {@code {"ids"}} once a
 *     batcher has them; 400 naming the field and problem (nothing appended); 413 for an array of more than
 *     {@code app.max_request_records} (nothing appended); 503 with {@code Retry-After} when no batcher can take them.</li>
 * <li>{@code POST /record?wait=true[&timeout_ms=N]} — the same, answered only once every record is persisted and
 *     indexed (200 with LIds), rejected (409) or not confirmed in time (504): see {@link WaitedAppends}. The records
 *     carry this app's gRPC address as {@code ack_to}; {@link AppendWaiters} hears from the maintainers.</li>
 * <li>{@code GET /record?id=X} — appended (with its LId), pending (waiting for which cause, since when), or rejected (why).</li>
 * </ul>
 */
final class RecordRoutes {
    private final EventLoop loop;
    private final NanoClock clock;
    private final BatcherForwarder forwarder;
    private final ChannelPool channels;
    private final EdgeStamp stamp;
    private final AppendWaiters waiters;
    private final String ackTo;
    private final Duration waitCap;
    private final int maxRequestRecords;
    private volatile Membership view = Membership.NONE;
    private final Counter accepted;
    private final Counter badRequests;
    // A clean stop: appends are answered 503 (clients retry at another app) while those taken drain.
    private volatile boolean stopping;

    private final Counter unavailable;
    private final Counter overLimit;

    /**
     * @param waiters owned by {@code loop}
     * @param ackTo   this app's gRPC address, where maintainers send notices (it serves {@code Acks})
     * @param waitCap the longest a waiting append waits ({@code app.wait_timeout_ms})
     * @param maxRequestRecords records one array may carry ({@code app.max_request_records})
     */
    RecordRoutes(EventLoop loop, NanoClock clock, BatcherForwarder forwarder, ChannelPool channels, EdgeStamp stamp,
                 AppendWaiters waiters, String ackTo, Duration waitCap, int maxRequestRecords, MeterRegistry meters) {
        this.loop = loop;
        this.clock = clock;
        this.forwarder = forwarder;
        this.channels = channels;
        this.stamp = stamp;
        this.waiters = waiters;
        this.ackTo = ackTo;
        this.waitCap = waitCap;
        this.maxRequestRecords = maxRequestRecords;
        this.accepted = Counter.builder("chariots_app_records_accepted_total").register(meters);
        this.badRequests = Counter.builder("chariots_app_bad_requests_total").register(meters);
        this.unavailable = Counter.builder("chariots_app_unavailable_total").description("Requests answered 503").register(meters);
        this.overLimit = Counter.builder("chariots_app_requests_over_record_limit_total")
                .description("POST /record arrays of more than app.max_request_records, answered 413").register(meters);
    }

    /** A clean stop: new appends are answered 503 from now on. */
    void stop() {
        stopping = true;
    }

    void onMembership(Membership m) {
        view = m;
        List<String> indexers = grpcAddresses(Role.INDEXER);
        loop.execute(() -> {
            forwarder.onMembership(m, clock.nanoTime());
            waiters.onIndexers(indexers);
        });
    }

    HttpServer.Builder routes(HttpServer.Builder http) {
        return http.post("/record", this::append)
                .get("/record", this::getById);
    }

    // ------------------------------------------------------------ append

    private void append(HttpExchange ex) {
        WaitedAppends.Asked asked = WaitedAppends.parse(ex.queryParam("wait"), ex.queryParam("timeout_ms"), waitCap);
        if (asked.bad() != null) {
            bad(ex, asked.bad().name(), asked.bad().problem());
            return;
        }
        byte[] body = ex.takeBody(); // parsed here, and not held while the records wait for a batcher
        int first = 0;
        while (first < body.length && Character.isWhitespace(body[first])) {
            first++;
        }
        if (first == body.length) {
            bad(ex, "body", "empty body: expected a JSON record or an array of records");
            return;
        }
        List<LogRecord> records;
        boolean array = body[first] == '[';
        try {
            if (array) {
                RecordJson.Parsed p = RecordJson.readRecords(body, 0, body.length, maxRequestRecords);
                if (!p.rejected().isEmpty()) {
                    List<Map<String, String>> errors = new ArrayList<>();
                    for (RecordFormatException e : p.rejected()) {
                        errors.add(Map.of("field", e.field(), "problem", e.problem()));
                    }
                    badRequests.increment();
                    Map<String, Object> err = new LinkedHashMap<>();
                    err.put("error", p.rejected().size() + " of " + (p.rejected().size() + p.records().size())
                            + " records are invalid; nothing was appended: " + p.rejected().get(0).getMessage());
                    err.put("errors", errors);
                    ex.json(HttpResponseStatus.BAD_REQUEST, err);
                    return;
                }
                records = p.records();
                if (records.isEmpty()) {
                    bad(ex, "records", "empty array: nothing to append");
                    return;
                }
            } else {
                records = List.of(RecordJson.readRecord(body));
            }
        } catch (RecordFormatException e) {
            if (e.limit() > 0) {
                overLimit.increment();
                Map<String, Object> err = new LinkedHashMap<>();
                err.put("error", "more than " + e.limit() + " records in one request; at most " + e.limit()
                        + " (app.max_request_records): split the array; nothing was appended");
                err.put("field", "records");
                err.put("limit", e.limit());
                ex.json(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, err);
                return;
            }
            bad(ex, e.field(), e.problem());
            return;
        }
        long nowMs = System.currentTimeMillis();
        List<RecordEnvelope> envelopes = new ArrayList<>(records.size());
        for (int i = 0; i < records.size(); i++) {
            try {
                envelopes.add(stamp.stamp(records.get(i), nowMs, asked.waits() ? ackTo : ""));
            } catch (RecordFormatException e) {
                RecordFormatException named = array ? e.atIndex(i) : e;
                bad(ex, named.field(), named.problem());
                return;
            }
        }
        boolean queued = loop.offer(() -> {
            if (stopping) {
                unavailable(ex, "this app is stopping; send to another", envelopes);
                return;
            }
            if (!forwarder.hasBatcher()) {
                unavailable(ex, "no batcher is registered", envelopes);
                return;
            }
            if (forwarder.full(envelopes)) {
                unavailable(ex, "the pipeline is full; retry shortly", envelopes);
                return;
            }
            long now = clock.nanoTime();
            // Waiting starts before the records leave, so no notice can arrive first.
            AppendWaiters.Wait wait = null;
            if (asked.waits()) {
                List<String> ids = ids(envelopes);
                wait = waiters.await(ids, now + asked.timeout().toNanos(), now, outcomes -> {
                    WaitedAppends.Answer a = WaitedAppends.answer(ids, outcomes, array, asked.timeout());
                    ex.json(a.status(), a.body());
                });
                if (wait == null) {
                    unavailable(ex, "too many appends are waiting for acknowledgement; retry shortly", envelopes);
                    return;
                }
            }
            AppendWaiters.Wait waiting = wait;
            forwarder.submit(envelopes, new BatcherForwarder.Reply() {
                @Override
                public void accepted() {
                    accepted.increment(envelopes.size());
                    if (waiting == null) {
                        ex.json(HttpResponseStatus.ACCEPTED, idsBody(envelopes, array));
                    }
                }

                @Override
                public void unavailable(String why) {
                    waiters.cancel(waiting);
                    RecordRoutes.this.unavailable(ex, why, envelopes);
                }
            }, now);
        });
        if (!queued) {
            unavailable(ex, loop.behindMessage(), envelopes);
        }
    }

    private static List<String> ids(List<RecordEnvelope> envelopes) {
        List<String> ids = new ArrayList<>(envelopes.size());
        for (RecordEnvelope e : envelopes) {
            ids.add(e.getId());
        }
        return ids;
    }

    private static Map<String, Object> idsBody(List<RecordEnvelope> envelopes, boolean array) {
        if (!array) {
            return Map.of("id", envelopes.get(0).getId());
        }
        List<String> ids = new ArrayList<>(envelopes.size());
        for (RecordEnvelope e : envelopes) {
            ids.add(e.getId());
        }
        return Map.of("ids", ids);
    }

    private void unavailable(HttpExchange ex, String why, List<RecordEnvelope> envelopes) {
        unavailable.increment();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", why);
        // With these ids a retry cannot append the records twice.
        List<String> ids = new ArrayList<>();
        for (RecordEnvelope e : envelopes) {
            ids.add(e.getId());
        }
        body.put("ids", ids);
        ex.json(HttpResponseStatus.SERVICE_UNAVAILABLE, body, "Retry-After", "1");
    }

    private void bad(HttpExchange ex, String field, String problem) {
        badRequests.increment();
        Map<String, Object> err = new LinkedHashMap<>();
        err.put("error", field + ": " + problem);
        err.put("field", field);
        err.put("problem", problem);
        ex.json(HttpResponseStatus.BAD_REQUEST, err);
    }

    // ------------------------------------------------------------ reads

    private List<String> grpcAddresses(Role role) {
        List<String> out = new ArrayList<>();
        for (Member m : view.members(role)) {
            out.add(m.getGrpcAddress());
        }
        return out;
    }

    private void getById(HttpExchange ex) {
        String id = ex.queryParam("id");
        if (id == null || id.isEmpty()) {
            bad(ex, "id", "GET /record needs ?id=<record id> (or use /record/<lid>)");
            return;
        }
        List<String> indexers = grpcAddresses(Role.INDEXER);
        List<String> queues = grpcAddresses(Role.QUEUE);
        LookupRequest req = LookupRequest.newBuilder().addIds(id).build();
        AtomicInteger left = new AtomicInteger(indexers.size());
        List<IdStatus> statuses = new java.util.concurrent.CopyOnWriteArrayList<>();
        Runnable askQueues = () -> askQueues(ex, id, queues);
        if (indexers.isEmpty()) {
            askQueues.run();
            return;
        }
        for (String ix : indexers) {
            Consumer<Object> done = x -> {
                if (left.decrementAndGet() == 0) {
                    for (IdStatus s : statuses) {
                        if (s.getLid() != 0) {
                            Map<String, Object> b = new LinkedHashMap<>();
                            b.put("id", id);
                            b.put("status", "appended");
                            b.put("lid", s.getLid());
                            ex.json(HttpResponseStatus.OK, b);
                            return;
                        }
                    }
                    for (IdStatus s : statuses) {
                        if (!s.getRejected().isEmpty()) {
                            ex.json(HttpResponseStatus.OK, Map.of("id", id, "status", "rejected", "reason", s.getRejected()));
                            return;
                        }
                    }
                    askQueues.run();
                }
            };
            Calls.on(IndexerGrpc.newFutureStub(channels.get(ix)).withDeadlineAfter(5, TimeUnit.SECONDS).lookup(req),
                    (LookupReply r) -> {
                        statuses.addAll(r.getIdsList());
                        done.accept(null);
                    }, t -> done.accept(null));
        }
    }

    private void askQueues(HttpExchange ex, String id, List<String> queues) {
        if (queues.isEmpty()) {
            notFound(ex, id);
            return;
        }
        AtomicInteger left = new AtomicInteger(queues.size());
        AtomicBoolean answered = new AtomicBoolean();
        PendingQuery q = PendingQuery.newBuilder().addIds(id).build();
        for (String queue : queues) {
            Calls.on(QueueGrpc.newFutureStub(channels.get(queue)).withDeadlineAfter(5, TimeUnit.SECONDS).pending(q),
                    (PendingReply r) -> {
                        if (r.getPendingCount() > 0 && answered.compareAndSet(false, true)) {
                            PendingRecord p = r.getPending(0);
                            List<Map<String, Object>> causes = new ArrayList<>();
                            p.getWaitingForList().forEach(k -> causes.add(Map.of(
                                    "prehash", new java.math.BigInteger(Unsigned64.toString(k.getHash())),
                                    "seed", new java.math.BigInteger(Unsigned64.toString(k.getSeed())))));
                            Map<String, Object> b = new LinkedHashMap<>();
                            b.put("id", id);
                            b.put("status", "pending");
                            b.put("waitingFor", causes);
                            b.put("since", p.getSinceMs());
                            ex.json(HttpResponseStatus.OK, b);
                        }
                        if (left.decrementAndGet() == 0 && answered.compareAndSet(false, true)) {
                            notFound(ex, id);
                        }
                    },
                    t -> {
                        if (left.decrementAndGet() == 0 && answered.compareAndSet(false, true)) {
                            notFound(ex, id);
                        }
                    });
        }
    }

    private static void notFound(HttpExchange ex, String id) {
        ex.json(HttpResponseStatus.NOT_FOUND, Map.of("id", id, "status", "unknown",
                "error", "no record with id " + id + " is appended, pending or rejected (it may still be on its way)"));
    }

}
