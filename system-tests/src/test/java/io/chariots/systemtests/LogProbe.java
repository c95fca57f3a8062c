package io.chariots.systemtests;

import io.chariots.common.frame.FrameEncoder;
import io.chariots.common.record.LogRecord;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.MaintainerGrpc;
import io.chariots.proto.MaintainerStats;
import io.chariots.proto.ReadRequest;
import io.chariots.proto.RecordBatch;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * What a test does to a cluster from the outside: writes raw frames as a
 * GoChariots client does (never reading), posts over HTTP, and reads the
 * whole log back from the maintainers — the log read back is the evidence,
 * not counters.
 */
final class LogProbe {
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private LogProbe() {
    }

    /** A raw TCP connection to a batcher that only writes. */
    static final class RawConnection implements AutoCloseable {
        private final Socket socket;
        private final OutputStream out;

        RawConnection(int port) throws IOException {
            socket = new Socket("127.0.0.1", port);
            out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
        }

        void frame(char type, String payload) throws IOException {
            out.write(FrameEncoder.encode((byte) type, payload.getBytes(StandardCharsets.UTF_8)));
        }

        void raw(byte[] bytes) throws IOException {
            out.write(bytes);
        }

        void flush() throws IOException {
            out.flush();
        }

        @Override
        public void close() throws IOException {
            out.flush();
            socket.close();
        }
    }

    static HttpResponse<String> post(String url, String body) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(String url) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static <T> T withMaintainer(RoleProcess m, java.util.function.Function<MaintainerGrpc.MaintainerBlockingStub, T> f) {
        ManagedChannel ch = ManagedChannelBuilder.forAddress(m.host(), m.ports().grpc()).usePlaintext()
                .maxInboundMessageSize(256 << 20).build();
        try {
            return f.apply(MaintainerGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS));
        } finally {
            ch.shutdownNow();
        }
    }

    /**
     * Fair weather: no queue started an epoch after a fault (a lost token, a
     * successor taken for dead) and no hole was filled — a slow machine must
     * never be mistaken for a failure. Read from each running queue's /health.
     */
    static void assertNoRecoveries(LocalCluster c) throws IOException, InterruptedException {
        for (RoleProcess q : c.all(Role.QUEUE)) {
            if (!q.alive() || q.paused()) {
                continue;
            }
            com.fasterxml.jackson.databind.JsonNode h = new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(get("http://" + q.host() + ":" + q.ports().admin() + "/health").body());
            org.assertj.core.api.Assertions.assertThat(h.path("recoveries").asLong(-1))
                    .as("token recoveries by %s in fair weather (%s)", q, h).isZero();
            org.assertj.core.api.Assertions.assertThat(h.path("holesFilled").asLong(-1))
                    .as("holes filled by %s in fair weather (%s)", q, h).isZero();
        }
    }

    /** Records stored across all running maintainers (holes not counted). */
    static long storedCount(LocalCluster c) {
        long n = 0;
        for (RoleProcess m : c.all(Role.MAINTAINER)) {
            if (m.alive() && !m.paused()) {
                try {
                    MaintainerStats s = withMaintainer(m, stub -> stub.stats(ReadRequest.getDefaultInstance()));
                    n += s.getStored() - s.getHoles();
                } catch (RuntimeException e) {
                    // restarting: counted on the next poll
                }
            }
        }
        return n;
    }

    /** Waits until the maintainers hold at least {@code n} records; returns how many they hold. */
    static long awaitStored(LocalCluster c, long n, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        long have = 0;
        while (System.nanoTime() < deadline) {
            have = storedCount(c);
            if (have >= n) {
                return have;
            }
            Thread.sleep(200);
        }
        return have;
    }

    /**
     * The whole log, LId → record, read from every maintainer in ranges. For
     * tests without queue faults: a token recovery or a hole (an LId given out
     * at an epoch that ended before its record was stored) fails it — a slow
     * machine must never be mistaken for a failure.
     */
    static TreeMap<Long, LogRecord> readLog(LocalCluster c) throws IOException, InterruptedException {
        assertNoRecoveries(c);
        TreeMap<Long, LogRecord> log = new TreeMap<>();
        for (RoleProcess m : c.all(Role.MAINTAINER)) {
            long max = withMaintainer(m, stub -> stub.stats(ReadRequest.getDefaultInstance())).getMaxLid();
            for (long from = 1; from <= max; from += 10_000) {
                long f = from;
                RecordBatch b = withMaintainer(m, stub -> stub.read(ReadRequest.newBuilder().setFromLid(f).setLimit(10_000).build()));
                for (RecordEnvelope e : b.getRecordsList()) {
                    if (e.getHole()) {
                        throw new AssertionError("LId " + e.getLid() + " is a hole: a new epoch began without a fault");
                    }
                    LogRecord prev = log.put(e.getLid(), LogRecord.fromEnvelope(e));
                    if (prev != null) {
                        throw new AssertionError("LId " + e.getLid() + " stored by two maintainers");
                    }
                }
            }
        }
        return log;
    }

    /** Ids of {@code log} in LId order. */
    static List<String> ids(TreeMap<Long, LogRecord> log) {
        List<String> out = new ArrayList<>(log.size());
        log.values().forEach(r -> out.add(r.id()));
        return out;
    }
}
