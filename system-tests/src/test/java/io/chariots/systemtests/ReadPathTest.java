package io.chariots.systemtests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.chariots.common.record.Fnv1a64;
import io.chariots.common.record.LogRecord;
import io.chariots.common.record.Unsigned64;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.proto.ReaderGrpc;
import io.chariots.proto.RecordBatch;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;
import io.chariots.proto.TailRequest;
import io.chariots.systemtests.AppendPathTest.Rec;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The read side across real role processes (2 apps, 2 batchers, 2 queues,
 * 3 maintainers, 2 indexers): tails that follow the log while 100,000 records
 * are appended, range pages, tag lookups and chain traces, all checked
 * against the log read straight from the maintainers.
 */
class ReadPathTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();

    @TempDir
    Path dir;

    final List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());

    /** An HTTP JSON-lines tail from LId 1 that checks each line is the next LId. */
    final class HttpTail extends Thread {
        final String url;
        final int expect;
        final List<String> ids = Collections.synchronizedList(new ArrayList<>());

        HttpTail(String url, int expect) {
            this.url = url;
            this.expect = expect;
        }

        @Override
        public void run() {
            try {
                HttpResponse<Stream<String>> r = LogProbe.HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(),
                        HttpResponse.BodyHandlers.ofLines());
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.headers().firstValue("Content-Type")).hasValue("application/x-ndjson");
                try (Stream<String> lines = r.body()) {
                    Iterator<String> it = lines.iterator();
                    while (ids.size() < expect && it.hasNext()) {
                        JsonNode rec = JSON.readTree(it.next());
                        assertThat(rec.get("lid").asLong()).as("tail line %d", ids.size() + 1).isEqualTo(ids.size() + 1L);
                        ids.add(rec.get("id").asText());
                    }
                }
            } catch (Throwable t) {
                failures.add(t);
            }
        }
    }

    /** A gRPC tail that disconnects after {@code stopAfter} records and resumes from the last LId it got plus one. */
    final class GrpcTail extends Thread {
        final int port;
        final int expect;
        final int stopAfter;
        final List<String> ids = Collections.synchronizedList(new ArrayList<>());
        volatile int sessions;

        GrpcTail(int port, int expect, int stopAfter) {
            this.port = port;
            this.expect = expect;
            this.stopAfter = stopAfter;
        }

        @Override
        public void run() {
            try {
                while (ids.size() < expect) {
                    sessions++;
                    long from = ids.size() + 1;
                    ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
                            .maxInboundMessageSize(64 << 20).build();
                    try {
                        Iterator<RecordBatch> it = ReaderGrpc.newBlockingStub(ch)
                                .tail(TailRequest.newBuilder().setFromLid(from).setMaxBatch(700).build());
                        while (ids.size() < expect && it.hasNext()) {
                            for (RecordEnvelope e : it.next().getRecordsList()) {
                                assertThat(e.getLid()).as("gRPC tail record %d", ids.size() + 1).isEqualTo(ids.size() + 1L);
                                ids.add(e.getId());
                            }
                            if (sessions == 1 && ids.size() >= stopAfter) {
                                break; // hang up mid-stream, then resume
                            }
                        }
                    } finally {
                        ch.shutdownNow();
                        ch.awaitTermination(5, TimeUnit.SECONDS);
                    }
                }
            } catch (Throwable t) {
                failures.add(t);
            }
        }
    }

    @Test
    void tailsRangesTagsAndTracesMatchWhatWasAppended() throws Exception {
        // Effects often go out long before their causes (the lanes run at different speeds, slower still on a
        // loaded machine): the default 30 s cause timeout would reject some. That is tested elsewhere; here
        // every record must land.
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).setting("queue.cause_timeout_ms", "600000")
                .apps(2).batchers(2).queues(2).maintainers(3).indexers(2).start());
        c.awaitRegistered(Duration.ofSeconds(90));
        int total = 100_000;
        // Four entry points; consecutive links of each chain enter through different ones.
        List<List<Rec>> lanes = AppendPathTest.workload(new Random(5), total, 0.12, 4);
        Set<String> sent = new HashSet<>();
        lanes.forEach(l -> l.forEach(r -> sent.add(r.id())));

        // Subscribers first: they see the log grow.
        HttpTail httpTail = new HttpTail(c.appUrl(0) + "/records/stream?from=1", total);
        GrpcTail grpcTail = new GrpcTail(c.get(Role.APP, 1).ports().grpc(), total, 30_000);
        httpTail.start();
        grpcTail.start();
        // A subscriber that never reads: its stream must stall alone.
        try (Socket stalled = new Socket()) {
            stalled.setReceiveBufferSize(4096);
            stalled.connect(new java.net.InetSocketAddress("127.0.0.1", c.get(Role.APP, 0).ports().main()));
            OutputStream o = stalled.getOutputStream();
            o.write("GET /records/stream?from=1 HTTP/1.1\r\nHost: test\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            o.flush();

            List<Thread> senders = List.of(
                    new Thread(() -> run(() -> AppendPathTest.sendR(c.get(Role.BATCHER, 0).ports().main(), lanes.get(0)))),
                    new Thread(() -> run(() -> AppendPathTest.sendS(c.get(Role.BATCHER, 1).ports().main(), lanes.get(1), 100))),
                    new Thread(() -> run(() -> AppendPathTest.sendHttp(c.appUrl(0), lanes.get(2), 200))),
                    new Thread(() -> run(() -> AppendPathTest.sendHttp(c.appUrl(1), lanes.get(3), 200))));
            senders.forEach(Thread::start);
            for (Thread t : senders) {
                t.join();
            }
            assertThat(failures).isEmpty();
            assertThat(LogProbe.awaitStored(c, total, Duration.ofSeconds(180))).isEqualTo(total);
            httpTail.join(Duration.ofSeconds(120).toMillis());
            grpcTail.join(Duration.ofSeconds(120).toMillis());
        }
        assertThat(failures).isEmpty();
        TreeMap<Long, LogRecord> log = LogProbe.readLog(c);
        AppendPathTest.checkLog(log, sent);
        List<String> logIds = LogProbe.ids(log);

        // A stalled tail shows as a count, not as two 100,000-element lists.
        assertThat(httpTail.isAlive()).as("HTTP tail still waiting 120 s after the log was whole, at %d of %d records",
                httpTail.ids.size(), total).isFalse();
        assertThat(grpcTail.isAlive()).as("gRPC tail still waiting 120 s after the log was whole, at %d of %d records"
                + " (session %d)", grpcTail.ids.size(), total, grpcTail.sessions).isFalse();
        assertThat(httpTail.ids).as("HTTP tail: exactly the log, in order").isEqualTo(logIds);
        assertThat(grpcTail.sessions).as("the gRPC tail hung up and resumed").isEqualTo(2);
        assertThat(grpcTail.ids).as("gRPC tail across a reconnect: exactly the log, in order").isEqualTo(logIds);

        // Range pages through the other app, following `next`.
        List<String> paged = new ArrayList<>();
        long from = 1;
        while (from <= total) {
            JsonNode page = ok(c.appUrl(1) + "/records?from=" + from + "&limit=1000");
            page.get("records").forEach(r -> paged.add(r.get("id").asText()));
            long next = page.get("next").asLong();
            assertThat(next).as("next after %d", from).isGreaterThan(from);
            from = next;
        }
        assertThat(paged).as("range pages: exactly the log").isEqualTo(logIds);
        assertThat(ok(c.appUrl(0) + "/records?from=" + (total + 1)).get("records")).isEmpty();

        checkTags(c, log);
        checkTraces(c, log, lanes);
        checkBadParameters(c);
    }

    private void checkTags(LocalCluster c, TreeMap<Long, LogRecord> log) throws Exception {
        // A tag every chain head carries (thousands of records, several pages).
        List<Long> expected = new ArrayList<>();
        log.values().forEach(r -> {
            if ("s0".equals(r.tags().get("step"))) {
                expected.add(r.lid());
            }
        });
        assertThat(expected.size()).isGreaterThan(1000);
        // Indexers index after maintainers persist: give the index a moment to reach the log's end.
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (lidsOf(c.appUrl(0) + "/records?tag=step:s0&limit=1000").size() < expected.size() && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertThat(lidsOf(c.appUrl(0) + "/records?tag=step:s0&limit=1000")).as("tag step:s0 across pages").isEqualTo(expected);

        // A tag one plain record carries; and a chain's link by tag and seed.
        LogRecord plain = log.values().stream().filter(r -> r.id().startsWith("p")).findFirst().orElseThrow();
        String tag = "k:" + plain.tags().get("k");
        assertThat(lidsOf(c.appUrl(1) + "/records?tag=" + tag)).containsExactly(plain.lid());
        LogRecord link = log.values().stream().filter(r -> "s1".equals(r.tags().get("step"))).findFirst().orElseThrow();
        assertThat(lidsOf(c.appUrl(1) + "/records?tag=step:s1&seed=" + Unsigned64.toString(link.seed()))).containsExactly(link.lid());
        JsonNode none = ok(c.appUrl(0) + "/records?tag=no:such");
        assertThat(none.get("records")).isEmpty();
        assertThat(none.get("hash").asText()).isEqualTo(Unsigned64.toString(Fnv1a64.hashTag("no", "such")));
    }

    private List<Long> lidsOf(String firstPage) throws Exception {
        List<Long> lids = new ArrayList<>();
        String url = firstPage;
        while (true) {
            JsonNode page = ok(url);
            page.get("records").forEach(r -> lids.add(r.get("lid").asLong()));
            if (page.get("records").size() < 1000) {
                return lids;
            }
            url = firstPage + "&from=" + page.get("next").asText();
        }
    }

    private void checkTraces(LocalCluster c, TreeMap<Long, LogRecord> log, List<List<Rec>> lanes) throws Exception {
        Map<Long, List<LogRecord>> bySeed = new HashMap<>();
        Map<String, Long> lowest = new HashMap<>(); // (tag hash, seed) → lowest LId
        for (LogRecord r : log.values()) {
            bySeed.computeIfAbsent(r.seed(), s -> new ArrayList<>()).add(r);
            for (long h : r.tagHashes()) {
                lowest.putIfAbsent(h + "/" + r.seed(), r.lid());
            }
        }
        List<Long> chainSeeds = new ArrayList<>();
        lanes.forEach(l -> l.forEach(r -> {
            if (r.id().endsWith(".2") && chainSeeds.size() < 40) {
                chainSeeds.add(r.seed());
            }
        }));
        assertThat(chainSeeds).hasSize(40);
        for (long seed : chainSeeds) {
            JsonNode trace = ok(c.appUrl((int) (seed & 1)) + "/trace/" + Unsigned64.toString(seed));
            assertThat(trace.get("seed").asText()).isEqualTo(Unsigned64.toString(seed));
            List<LogRecord> chain = bySeed.get(seed);
            assertThat(trace.get("records")).as("trace %s", Unsigned64.toString(seed)).hasSize(chain.size());
            long previous = 0;
            for (int i = 0; i < chain.size(); i++) {
                JsonNode got = trace.get("records").get(i);
                LogRecord want = chain.get(i);
                assertThat(got.get("id").asText()).isEqualTo(want.id());
                assertThat(got.get("lid").asLong()).as("log order").isEqualTo(want.lid()).isGreaterThan(previous);
                previous = want.lid();
                List<Long> causes = new ArrayList<>();
                got.get("causes").forEach(n -> causes.add(n.asLong()));
                List<Long> wantCauses = new ArrayList<>();
                for (long h : want.prehashes()) {
                    wantCauses.add(lowest.get(h + "/" + seed));
                }
                assertThat(causes).as("causes of %s", want.id()).isEqualTo(wantCauses);
                causes.forEach(cause -> assertThat(cause).as("a cause before its effect").isLessThan(want.lid()));
            }
        }
    }

    private void checkBadParameters(LocalCluster c) throws Exception {
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("/records?from=0", "from");
        cases.put("/records?from=abc", "from");
        cases.put("/records?limit=5000", "limit");
        cases.put("/records?limit=-1", "limit");
        cases.put("/records?frm=3", "frm");
        cases.put("/records?seed=5", "seed");
        cases.put("/records?tag=nocolon", "tag");
        cases.put("/records?tag=a:b&seed=-3", "seed");
        cases.put("/records?tag=a:b&limit=x", "limit");
        cases.put("/trace/xyz", "seed");
        cases.put("/trace/18446744073709551616", "seed");
        cases.put("/trace/7?limit=0", "limit");
        cases.put("/records/stream?from=x", "from");
        cases.put("/records/stream?format=xml", "format");
        for (Map.Entry<String, String> e : cases.entrySet()) {
            HttpResponse<String> r = LogProbe.get(c.appUrl(0) + e.getKey());
            assertThat(r.statusCode()).as(e.getKey()).isEqualTo(400);
            JsonNode body = JSON.readTree(r.body());
            assertThat(body.get("parameter").asText()).as(e.getKey()).isEqualTo(e.getValue());
            assertThat(body.get("error").asText()).as(e.getKey()).startsWith(e.getValue() + ": ");
        }
        assertThat(LogProbe.get(c.appUrl(0) + "/record/100001").statusCode()).isEqualTo(404);
    }

    private static JsonNode ok(String url) throws Exception {
        HttpResponse<String> r = LogProbe.get(url);
        assertThat(r.statusCode()).as("%s: %s", url, r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    void run(AppendPathTest.Step s) {
        try {
            s.run();
        } catch (Throwable t) {
            failures.add(t);
        }
    }
}
