package io.chariots.systemtests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.chariots.common.frame.FrameEncoder;
import io.chariots.common.record.LogRecord;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a client can send that took a role down on the old main, sent to real
 * role processes: each is refused with an error that names the limit, nothing
 * of it is appended, the role keeps its memory and serves everyone else.
 */
class HostileInputTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Just under the 16 MiB frame and body limits: 5.6 million empty records, {@code [{},{},…]}. */
    private static final int HUGE_BYTES = (16 << 20) - 64;

    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();
    @TempDir
    Path dir;

    /** Runs every sender on its own thread, all released at once, and waits {@code within} for each (rethrowing its failure). */
    static void allAtOnce(List<java.util.concurrent.Callable<?>> senders, Duration within) throws Exception {
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(senders.size());
        try {
            List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
            for (java.util.concurrent.Callable<?> s : senders) {
                sent.add(pool.submit(() -> {
                    go.await();
                    return s.call();
                }));
            }
            go.countDown();
            for (java.util.concurrent.Future<?> f : sent) {
                f.get(within.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** POSTs {@code record} padded with leading spaces to {@code size} bytes, on a raw socket; returns the status. */
    static int postPadded(int port, String record, int size) throws java.io.IOException {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
            s.setSoTimeout(120_000);
            java.io.OutputStream out = new java.io.BufferedOutputStream(s.getOutputStream(), 1 << 16);
            out.write(("POST /record HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + size
                    + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            byte[] spaces = new byte[1 << 16];
            Arrays.fill(spaces, (byte) ' ');
            int padding = size - record.length();
            for (int sent = 0; sent < padding; sent += spaces.length) {
                out.write(spaces, 0, Math.min(spaces.length, padding - sent));
            }
            out.write(record.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            java.io.InputStream in = s.getInputStream();
            StringBuilder line = new StringBuilder();
            int ch;
            while ((ch = in.read()) != -1 && ch != '\n') {
                line.append((char) ch);
            }
            return Integer.parseInt(line.substring(9, 12));
        }
    }

    @Test
    void falseRegistrationsAndMillionsOfEmptyRecordsAreRefusedAndEveryRoleServesOn() throws Exception {
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).start());
        c.awaitRegistered(Duration.ofSeconds(90));
        RoleProcess batcher = c.get(Role.BATCHER, 0);
        RoleProcess app = c.get(Role.APP, 0);
        int port = batcher.ports().main();
        byte[] huge = io.chariots.common.fuzz.Mutator.emptyRecords(HUGE_BYTES);
        Set<String> good = new HashSet<>();

        // A registration of an address where something listens that is no queue (here: the app's HTTP port) is
        // refused: on the old main it entered the ring with no gRPC address and every append after it timed out.
        HttpResponse<String> notAQueue = LogProbe.change(c, "/queue?host=127.0.0.1:" + app.ports().main());
        assertThat(notAQueue.statusCode()).as(notAQueue.body()).isEqualTo(400);
        assertThat(notAQueue.body()).contains("registration refused");
        // A process claiming the queue's own address under another instance id is refused, even one that holds the
        // cluster secret; the queue stays.
        RoleProcess queue = c.get(Role.QUEUE, 0);
        try (io.chariots.common.net.NettyTransport t = new io.chariots.common.net.NettyTransport("rogue", 1, c.secret());
             io.chariots.common.membership.MembershipClient rogue = new io.chariots.common.membership.MembershipClient(
                     new io.chariots.common.config.HostPort("127.0.0.1", c.controller().ports().grpc()),
                     io.chariots.proto.Member.newBuilder().setInstanceId("queue-rogue").setRole(Role.QUEUE)
                             .setAddress(queue.address()).setGrpcAddress("127.0.0.1:" + queue.ports().grpc()).build(),
                     Duration.ofMillis(200), t, m -> { }).start()) {
            Thread.sleep(3000);
            assertThat(rogue.state()).isEqualTo(io.chariots.common.membership.MembershipClient.State.CONNECTING);
            assertThat(c.live().get("queues")).containsExactly(queue.address());
            assertThat(c.getJson(c.controllerUrl() + "/cluster").toString()).doesNotContain("queue-rogue");
        }

        // An old-style client (never reads): the frame is dropped whole, counted and logged with the peer.
        try (LogProbe.RawConnection raw = new LogProbe.RawConnection(port)) {
            raw.raw(FrameEncoder.encode((byte) 's', huge));
            raw.frame('s', "[{\"id\":\"ok-1\"},{\"id\":\"ok-2\"}]");
            good.add("ok-1");
            good.add("ok-2");
        }

        // An acknowledged client: the frame's answer is an error naming the limit, and the connection goes on.
        try (AcknowledgementsTest.AckedClient acked = new AcknowledgementsTest.AckedClient(port)) {
            acked.send('A', "{\"acks\":1}");
            assertThat(acked.next()).startsWith("A");
            acked.socket.getOutputStream().write(FrameEncoder.encode((byte) 's', huge));
            JsonNode refused = acked.nextAnswer();
            assertThat(refused.path("results")).hasSize(1);
            assertThat(refused.path("results").get(0).path("error").asText())
                    .contains("more than 10000 records").contains("batcher.max_frame_records").contains("nothing");
            acked.send('s', "[{\"id\":\"ok-3\"}]");
            JsonNode ok = acked.nextAnswer();
            assertThat(ok.path("results").get(0).path("lid").asLong()).as(ok.toString()).isPositive();
            good.add("ok-3");
        }

        // HTTP: 413 naming the limit; the next request is served.
        HttpResponse<String> tooMany = LogProbe.post(c.appUrl(0) + "/record", new String(huge, StandardCharsets.US_ASCII));
        assertThat(tooMany.statusCode()).as(tooMany.body()).isEqualTo(413);
        assertThat(JSON.readTree(tooMany.body()).path("error").asText())
                .contains("more than 10000 records").contains("app.max_request_records").contains("nothing was appended");
        HttpResponse<String> fine = LogProbe.post(c.appUrl(0) + "/record?wait=true", "{\"id\":\"ok-4\"}");
        assertThat(fine.statusCode()).as(fine.body()).isEqualTo(200);
        good.add("ok-4");

        // Thirty clients send a body just under the 16 MiB limit at once: 480 MiB, more than the app's heap (on the
        // old main it died of OutOfMemoryError). The port's byte budget (64 MiB) reads a few at a time; all are served.
        int clients = 30;
        java.util.concurrent.ExecutorService senders = java.util.concurrent.Executors.newFixedThreadPool(clients);
        List<java.util.concurrent.Future<Integer>> answers = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            String id = "big-" + i;
            good.add(id);
            answers.add(senders.submit(() -> postPadded(app.ports().main(), "{\"id\":\"" + id + "\"}", HUGE_BYTES)));
        }
        for (java.util.concurrent.Future<Integer> a : answers) {
            assertThat(a.get(120, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(202);
        }
        senders.shutdownNow();
        assertThat(AppendPathTest.metric(LogProbe.get(c.appUrl(0) + "/metrics").body(), "chariots_http_body_budget_waits_total"))
                .as("bodies waited for the budget").isPositive();

        assertThat(LogProbe.awaitStored(c, good.size(), Duration.ofSeconds(60))).isEqualTo(good.size());
        Thread.sleep(500); // anything extra would have landed by now
        TreeMap<Long, LogRecord> log = LogProbe.readLog(c);
        assertThat(new HashSet<>(LogProbe.ids(log))).as("only the good records are in the log").isEqualTo(good);

        assertThat(batcher.alive()).isTrue();
        assertThat(app.alive()).isTrue();
        assertThat(LogProbe.get("http://127.0.0.1:" + batcher.ports().admin() + "/health").statusCode()).isEqualTo(200);
        String metrics = LogProbe.get("http://127.0.0.1:" + batcher.ports().admin() + "/metrics").body();
        assertThat(AppendPathTest.metric(metrics, "chariots_batcher_frames_over_record_limit_total")).isEqualTo(2.0);
        String appMetrics = LogProbe.get(c.appUrl(0) + "/metrics").body();
        assertThat(AppendPathTest.metric(appMetrics, "chariots_app_requests_over_record_limit_total")).isEqualTo(1.0);
        String batcherLog = Files.readString(batcher.log());
        assertThat(Arrays.stream(batcherLog.split("\n")).filter(l -> l.contains("batcher.max_frame_records")))
                .as("each refused frame is logged with its peer").hasSize(2)
                .allMatch(l -> l.contains("from /127.0.0.1:"));
    }

    @Test
    void idleAndSlowConnectionsAreClosedAndTheConnectionCapHoldsWhileOthersAreServed() throws Exception {
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir)
                .setting("batcher.max_connections", "4").setting("batcher.idle_timeout_ms", "3000")
                .setting("batcher.frame_timeout_ms", "1500").setting("http.idle_timeout_ms", "3000")
                .setting("http.request_timeout_ms", "1500").start());
        c.awaitRegistered(Duration.ofSeconds(90));
        RoleProcess batcher = c.get(Role.BATCHER, 0);
        int port = batcher.ports().main();

        // The cap: four connections open, a fifth is closed at once (before anything idles out).
        java.util.List<java.net.Socket> four = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                four.add(new java.net.Socket("127.0.0.1", port));
            }
            String metricsUrl = "http://127.0.0.1:" + batcher.ports().admin() + "/metrics";
            long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (tagged(LogProbe.get(metricsUrl).body(), "chariots_edge_connections_open", "tcp") < 4
                    && System.nanoTime() < until) {
                Thread.sleep(20); // each connection is counted on its own event loop
            }
            try (java.net.Socket fifth = new java.net.Socket("127.0.0.1", port)) {
                assertThat(closedWithin(fifth, Duration.ofSeconds(2))).as("the fifth connection is closed at once").isTrue();
            }
        } finally {
            for (java.net.Socket s : four) {
                s.close();
            }
        }
        Thread.sleep(300);

        // Slowloris on raw TCP: a frame's header and a few bytes, then one byte now and then.
        try (java.net.Socket slow = new java.net.Socket("127.0.0.1", port)) {
            java.io.OutputStream out = slow.getOutputStream();
            out.write(new byte[] {0, 0, 3, (byte) 232, 's', '['}); // a 1000-byte frame
            out.flush();
            long start = System.nanoTime();
            boolean closed = false;
            for (int i = 0; i < 40 && !closed; i++) {
                Thread.sleep(250);
                try {
                    out.write('{');
                    out.write('}');
                    out.write(',');
                    out.flush();
                } catch (java.io.IOException gone) {
                    closed = true;
                }
                closed = closed || closedWithin(slow, Duration.ofMillis(1));
            }
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertThat(closed).as("a frame trickling in is cut off").isTrue();
            assertThat(ms).as("cut off after batcher.frame_timeout_ms, not at once").isGreaterThanOrEqualTo(1000);
        }

        // Idle: a connection that sent a whole frame and then nothing is closed after batcher.idle_timeout_ms.
        try (LogProbe.RawConnection idle = new LogProbe.RawConnection(port)) {
            idle.frame('r', "{\"id\":\"idle-1\"}");
            idle.flush();
            assertThat(closedWithin(idle.socket(), Duration.ofSeconds(15))).as("an idle connection is closed").isTrue();
        }

        // Slowloris over HTTP: headers promising a body that never comes whole.
        try (java.net.Socket http = new java.net.Socket("127.0.0.1", c.get(Role.APP, 0).ports().main())) {
            http.getOutputStream().write(("POST /record HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 100\r\n\r\n{").getBytes(StandardCharsets.US_ASCII));
            http.getOutputStream().flush();
            assertThat(closedWithin(http, Duration.ofSeconds(15))).as("a request that never arrives whole is cut off").isTrue();
        }

        // Everyone else is served all along.
        HttpResponse<String> ok = LogProbe.post(c.appUrl(0) + "/record?wait=true", "{\"id\":\"fine-1\"}");
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(LogProbe.awaitStored(c, 2, Duration.ofSeconds(60))).isEqualTo(2);
        String metrics = LogProbe.get("http://127.0.0.1:" + batcher.ports().admin() + "/metrics").body();
        assertThat(tagged(metrics, "chariots_edge_connections_refused_total", "tcp")).isGreaterThanOrEqualTo(1.0);
        assertThat(tagged(metrics, "chariots_edge_connections_closed_stalled_total", "tcp")).isGreaterThanOrEqualTo(1.0);
        assertThat(tagged(metrics, "chariots_edge_connections_closed_idle_total", "tcp")).isGreaterThanOrEqualTo(1.0);
        String appMetrics = LogProbe.get(c.appUrl(0) + "/metrics").body();
        assertThat(tagged(appMetrics, "chariots_edge_connections_closed_stalled_total", "http")).isGreaterThanOrEqualTo(1.0);
        String log = Files.readString(batcher.log());
        assertThat(log).contains("(batcher.max_connections)").contains("batcher.frame_timeout_ms is 1500");
    }

    @Test
    void clientsSendingLargeFramesAllAtOnceShareOneByteBudgetAndEveryRecordArrivesOnce() throws Exception {
        int clients = 12;
        int perFrame = 150;
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir)
                .setting("batcher.max_frame_bytes", Integer.toString(2 << 20))
                .setting("batcher.max_buffered_bytes", Integer.toString(4 << 20)).start());
        c.awaitRegistered(Duration.ofSeconds(90));
        RoleProcess batcher = c.get(Role.BATCHER, 0);
        String pad = "p".repeat(12_000);
        Set<String> expected = new HashSet<>();
        List<java.util.concurrent.Callable<?>> senders = new ArrayList<>();
        for (int k = 0; k < clients; k++) {
            StringBuilder frame = new StringBuilder("[");
            for (int i = 0; i < perFrame; i++) {
                String id = "big-" + k + "-" + i;
                expected.add(id);
                frame.append(i == 0 ? "" : ",").append("{\"id\":\"").append(id).append("\",\"tags\":{\"pad\":\"")
                        .append(pad).append("\"}}");
            }
            byte[] bytes = FrameEncoder.encode((byte) 's', frame.append(']').toString().getBytes(StandardCharsets.UTF_8));
            assertThat(bytes.length).isBetween(1 << 20, 2 << 20);
            LogProbe.RawConnection conn = new LogProbe.RawConnection(batcher.ports().main());
            senders.add(() -> {
                try (conn) {
                    conn.raw(bytes);
                }
                return null;
            });
        }
        allAtOnce(senders, Duration.ofSeconds(60));
        assertThat(LogProbe.awaitStored(c, expected.size(), Duration.ofSeconds(120))).isEqualTo(expected.size());
        TreeMap<Long, LogRecord> log = LogProbe.readLog(c);
        assertThat(LogProbe.ids(log)).hasSize(expected.size());
        assertThat(new HashSet<>(LogProbe.ids(log))).isEqualTo(expected);
        String metrics = LogProbe.get("http://127.0.0.1:" + batcher.ports().admin() + "/metrics").body();
        double waits = AppendPathTest.metric(metrics, "chariots_batcher_frame_budget_waits_total");
        System.out.println(clients + " frames of ~1.8 MiB at once on a 4 MiB budget: " + (long) waits + " wait(s) for it");
        assertThat(waits).as("connections waited for the budget instead of all buffering at once").isPositive();
        assertThat(AppendPathTest.metric(metrics, "chariots_batcher_frame_reserved_bytes")).isZero();
        assertThat(batcher.alive()).isTrue();
    }

    /**
     * Records of 12 MiB, 32 over eight raw TCP connections and 6 over HTTP,
     * all at once (456 MiB): every stage cuts its batches at 16 MiB (a batch
     * of them by record count would exceed the 64 MiB a gRPC message may
     * hold, and fail at every filter for ever), and the batcher and the app
     * stop taking records by their bytes, not only by their count (four
     * connections of them took the batcher's heap before; a POST answered 503
     * meanwhile is sent again, as a client does). Every record arrives, once,
     * and no role dies.
     */
    @Test
    void recordsOfTwelveMebibytesAllAtOnceAllArriveAndNoRoleRunsOutOfMemory() throws Exception {
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).start());
        c.awaitRegistered(Duration.ofSeconds(90));
        RoleProcess batcher = c.get(Role.BATCHER, 0);
        int appPort = c.get(Role.APP, 0).ports().main();
        String pad = "p".repeat(12 << 20);
        java.util.concurrent.atomic.AtomicInteger refusedThenRetried = new java.util.concurrent.atomic.AtomicInteger();
        Set<String> expected = new HashSet<>();
        List<java.util.concurrent.Callable<?>> senders = new ArrayList<>();
        for (int k = 0; k < 8; k++) {
            List<String> ids = List.of("tcp-" + k + "-0", "tcp-" + k + "-1", "tcp-" + k + "-2", "tcp-" + k + "-3");
            expected.addAll(ids);
            LogProbe.RawConnection conn = new LogProbe.RawConnection(batcher.ports().main());
            senders.add(() -> {
                try (conn) {
                    for (String id : ids) {
                        conn.raw(FrameEncoder.encode((byte) 'r', ("{\"id\":\"" + id + "\",\"tags\":{\"pad\":\"" + pad
                                + "\"}}").getBytes(StandardCharsets.UTF_8)));
                    }
                }
                return null;
            });
        }
        for (int k = 0; k < 6; k++) {
            String id = "http-" + k;
            expected.add(id);
            String record = "{\"id\":\"" + id + "\",\"tags\":{\"pad\":\"" + pad + "\"}}";
            senders.add(() -> {
                // 503 while the app or the batcher holds its bound of bytes: sent again, as a client does (same id).
                int status;
                while ((status = postPadded(appPort, record, record.length())) == 503) {
                    refusedThenRetried.incrementAndGet();
                    Thread.sleep(200);
                }
                assertThat(status).as(id).isEqualTo(202);
                return null;
            });
        }
        allAtOnce(senders, Duration.ofSeconds(120));
        System.out.println("38 records of 12 MiB at once: " + refusedThenRetried.get() + " POST(s) answered 503 and sent again");
        LogProbe.awaitStored(c, expected.size(), Duration.ofSeconds(120));
        TreeMap<Long, LogRecord> log = LogProbe.readLog(c);
        Set<String> missing = new java.util.TreeSet<>(expected);
        LogProbe.ids(log).forEach(missing::remove);
        assertThat(missing).as("sent and never stored").isEmpty();
        assertThat(new HashSet<>(LogProbe.ids(log))).isEqualTo(expected);
        assertThat(LogProbe.ids(log)).hasSize(expected.size());
        for (LogRecord r : log.values()) {
            assertThat(r.tags().get("pad")).as(r.id()).hasSize(12 << 20);
        }
        for (Role role : List.of(Role.APP, Role.BATCHER, Role.FILTER, Role.QUEUE, Role.MAINTAINER, Role.INDEXER)) {
            RoleProcess p = c.get(role, 0);
            assertThat(p.alive()).as(role + " alive").isTrue();
            assertThat(Files.readString(p.log())).as(role + "'s log").doesNotContain("OutOfMemoryError");
        }
        // The filter answers the batcher once the records are indexed too, a little after they are stored.
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        double held;
        do {
            Thread.sleep(100);
            held = AppendPathTest.metric(LogProbe.get("http://127.0.0.1:" + batcher.ports().admin() + "/metrics").body(),
                    "chariots_batcher_buffered_bytes");
        } while (held > 0 && System.nanoTime() < deadline);
        assertThat(held).as("bytes the batcher holds once every record is answered").isZero();
    }

    /**
     * Every role's event loop may hold only 16 tasks: under eight raw TCP
     * clients and 32 HTTP ones the batcher stops reading while its loop is
     * behind, the app answers 503 naming its loop, and the stages refuse
     * batches (RESOURCE_EXHAUSTED) that their senders send again later; every
     * record arrives, once.
     */
    @Test
    void boundedEventLoopsPushBackAndEveryRecordArrivesOnce() throws Exception {
        int clients = 8;
        int frames = 150;
        int perFrame = 50;
        int httpClients = 32;
        java.util.concurrent.atomic.AtomicInteger behind503 = new java.util.concurrent.atomic.AtomicInteger();
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).setting("loop_max_queued_tasks", "16").start());
        c.awaitRegistered(Duration.ofSeconds(90));
        RoleProcess batcher = c.get(Role.BATCHER, 0);
        Set<String> expected = java.util.concurrent.ConcurrentHashMap.newKeySet();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(clients + httpClients);
        try {
            java.util.List<java.util.concurrent.Future<?>> sent = new java.util.ArrayList<>();
            for (int k = 0; k < clients; k++) {
                int client = k;
                sent.add(pool.submit(() -> {
                    try (LogProbe.RawConnection conn = new LogProbe.RawConnection(batcher.ports().main())) {
                        for (int f = 0; f < frames; f++) {
                            StringBuilder frame = new StringBuilder("[");
                            for (int i = 0; i < perFrame; i++) {
                                String id = "loop-" + client + "-" + f + "-" + i;
                                expected.add(id);
                                frame.append(i == 0 ? "" : ",").append("{\"id\":\"").append(id)
                                        .append("\",\"tags\":{\"k\":\"").append(i % 7).append("\"}}");
                            }
                            conn.frame('s', frame.append(']').toString());
                        }
                    }
                    return null;
                }));
            }
            // Meanwhile, single records over HTTP: a 503 names the loop, and its record is sent again.
            String url = c.appUrl(0) + "/record";
            for (int k = 0; k < httpClients; k++) {
                int client = k;
                sent.add(pool.submit(() -> {
                    for (int i = 0; i < 100; i++) {
                        String id = "http-" + client + "-" + i;
                        expected.add(id);
                        while (true) {
                            HttpResponse<String> r = LogProbe.post(url, "{\"id\":\"" + id + "\",\"tags\":{\"k\":\"h\"}}");
                            if (r.statusCode() / 100 == 2) {
                                break;
                            }
                            assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
                            if (r.body().contains("event loop is behind")) {
                                behind503.incrementAndGet();
                            }
                            Thread.sleep(20);
                        }
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : sent) {
                f.get(120, java.util.concurrent.TimeUnit.SECONDS);
            }
            System.out.println("HTTP appends answered 503 for the app's loop: " + behind503.get());
        } finally {
            pool.shutdownNow();
        }
        int total = clients * frames * perFrame + httpClients * 100;
        assertThat(LogProbe.awaitStored(c, total, Duration.ofSeconds(180))).isEqualTo(total);
        TreeMap<Long, LogRecord> log = LogProbe.readLog(c);
        assertThat(LogProbe.ids(log)).hasSize(total);
        assertThat(new HashSet<>(LogProbe.ids(log))).isEqualTo(expected);

        double pauses = AppendPathTest.metric(LogProbe.get("http://127.0.0.1:" + batcher.ports().admin() + "/metrics").body(),
                "chariots_batcher_loop_behind_pauses_total");
        StringBuilder refusals = new StringBuilder();
        double refused = 0;
        for (RoleProcess r : c.all()) {
            if (r.role() == Role.CONTROLLER) {
                continue;
            }
            double n = summed(LogProbe.get("http://127.0.0.1:" + r.ports().admin() + "/metrics").body(),
                    "chariots_loop_refused_total");
            if (r.role() == Role.APP) {
                assertThat((long) n).as("each refusal at the app is a 503 naming its loop").isEqualTo(behind503.get());
            }
            refused += n;
            refusals.append(' ').append(r.role()).append('=').append((long) n);
        }
        System.out.println(total + " records through loops of 16 tasks: " + (long) pauses
                + " TCP read pause(s) at the batcher; refused batches:" + refusals);
        assertThat(pauses + refused).as("the loops pushed back").isPositive();
        for (RoleProcess r : c.all()) {
            assertThat(r.alive()).as(r.role() + " alive").isTrue();
        }
    }

    /** The sum of every series of {@code name} in Prometheus text. */
    static double summed(String metrics, String name) {
        double sum = 0;
        boolean found = false;
        for (String line : metrics.split("\n")) {
            if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                found = true;
            }
        }
        assertThat(found).as("metric " + name).isTrue();
        return sum;
    }

    /** Whether the peer closed {@code s} within {@code d} (a read sees the end of the stream, or a reset). */
    static boolean closedWithin(java.net.Socket s, Duration d) throws java.io.IOException {
        long deadline = System.nanoTime() + d.toNanos();
        s.setSoTimeout((int) Math.max(1, d.toMillis()));
        try {
            while (System.nanoTime() < deadline) {
                if (s.getInputStream().read() < 0) {
                    return true;
                }
            }
            return false;
        } catch (java.net.SocketTimeoutException timedOut) {
            return false;
        } catch (java.net.SocketException reset) {
            return true;
        }
    }

    /** The value of {@code name{edge="edge"...}} in Prometheus text. */
    static double tagged(String metrics, String name, String edge) {
        for (String line : metrics.split("\n")) {
            if (line.startsWith(name + "{") && line.contains("edge=\"" + edge + "\"")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError("no metric " + name + " for edge " + edge + " in:\n" + metrics);
    }
}
