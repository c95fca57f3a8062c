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
import java.util.Map;
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

        java.net.Socket socket() {
            return socket;
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

    /** A change to {@code c}'s controller (POST {@code pathAndQuery}), proving the cluster secret as curl would. */
    static HttpResponse<String> change(LocalCluster c, String pathAndQuery) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(c.controllerUrl() + pathAndQuery)).timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.noBody());
        if (c.authorization() != null) {
            b.header("Authorization", c.authorization());
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(String url) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static <T> T withMaintainer(LocalCluster c, RoleProcess m,
                                        java.util.function.Function<MaintainerGrpc.MaintainerBlockingStub, T> f) {
        ManagedChannel ch = c.channel(m.host(), m.ports().grpc());
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
                    .as(() -> "token recoveries by " + q + " in fair weather (" + h + "); why, from its log:\n" + epochLines(q))
                    .isZero();
            org.assertj.core.api.Assertions.assertThat(h.path("holesFilled").asLong(-1))
                    .as(() -> "holes filled by " + q + " in fair weather (" + h + "); why, from its log:\n" + epochLines(q))
                    .isZero();
        }
    }

    /** A queue's log lines about epochs and the faults that start them, so a CI failure says which fault was seen. */
    static String epochLines(RoleProcess q) {
        try (java.util.stream.Stream<String> lines = java.nio.file.Files.lines(q.log(), StandardCharsets.UTF_8)) {
            List<String> hits = lines.filter(l -> l.contains("epoch") || l.contains("did not take") || l.contains("lost")
                    || l.contains("quiesce") || l.contains("left the ring") || l.contains("WARN") || l.contains("ERROR"))
                    .toList();
            return String.join("\n", hits.subList(Math.max(0, hits.size() - 30), hits.size()));
        } catch (IOException | java.io.UncheckedIOException e) {
            return "(log unreadable: " + e.getMessage() + ")";
        }
    }

    /** Records stored across all running maintainers (holes not counted). */
    static long storedCount(LocalCluster c) {
        long n = 0;
        for (RoleProcess m : c.all(Role.MAINTAINER)) {
            if (m.alive() && !m.paused()) {
                try {
                    MaintainerStats s = withMaintainer(c, m, stub -> stub.stats(ReadRequest.getDefaultInstance()));
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
        WholeLog log = readWholeLog(c);
        if (!log.holes().isEmpty()) {
            throw new AssertionError("LIds " + log.holes() + " are holes: a new epoch began without a fault");
        }
        return log.records();
    }

    /** The log after faults: LId → record, and the LIds that are holes. */
    record WholeLog(TreeMap<Long, LogRecord> records, java.util.TreeSet<Long> holes) {
        long maxLid() {
            return Math.max(records.isEmpty() ? 0 : records.lastKey(), holes.isEmpty() ? 0 : holes.last());
        }
    }

    /** Everything every maintainer holds, holes included; an LId stored by two maintainers fails it. */
    static WholeLog readWholeLog(LocalCluster c) throws IOException {
        TreeMap<Long, LogRecord> log = new TreeMap<>();
        java.util.TreeSet<Long> holes = new java.util.TreeSet<>();
        for (RoleProcess m : c.all(Role.MAINTAINER)) {
            long max = withMaintainer(c, m, stub -> stub.stats(ReadRequest.getDefaultInstance())).getMaxLid();
            for (long from = 1; from <= max; ) {
                long f = from;
                RecordBatch b = withMaintainer(c, m, stub -> stub.read(ReadRequest.newBuilder().setFromLid(f).setLimit(10_000).build()));
                // A reply may stop early (its size is capped): go on after the last LId it carried.
                from = b.getRecordsCount() == 0 ? from + 10_000 : b.getRecords(b.getRecordsCount() - 1).getLid() + 1;
                for (RecordEnvelope e : b.getRecordsList()) {
                    boolean twice = e.getHole() ? !holes.add(e.getLid()) || log.containsKey(e.getLid())
                            : log.put(e.getLid(), LogRecord.fromEnvelope(e)) != null || holes.contains(e.getLid());
                    if (twice) {
                        throw new AssertionError("LId " + e.getLid() + " stored by two maintainers");
                    }
                }
            }
        }
        return new WholeLog(log, holes);
    }

    /**
     * What a user checks after faults: LIds 1..N each hold one record or one
     * hole (I1 with holes); every acknowledged record is in the log exactly
     * once, at the LId its acknowledgement named (I2, nothing lost); no id is
     * in the log twice; every effect stands after its cause (I3).
     */
    static void assertKeepsEveryAcknowledgement(WholeLog log, SteadyLoad load) {
        org.assertj.core.api.Assertions.assertThat(load.violations()).as("what the clients were told").isEmpty();
        List<String> problems = new ArrayList<>();
        for (long lid = 1; lid <= log.maxLid(); lid++) {
            if (!log.records().containsKey(lid) && !log.holes().contains(lid)) {
                problems.add("LId " + lid + " is neither a record nor a hole");
            }
        }
        Map<String, Long> at = new java.util.HashMap<>();
        log.records().forEach((lid, r) -> {
            Long before = at.put(r.id(), lid);
            if (before != null) {
                problems.add(r.id() + " appended twice, at LIds " + before + " and " + lid);
            }
        });
        load.acked().forEach((id, lid) -> {
            if (!lid.equals(at.get(id))) {
                problems.add(id + " acknowledged at LId " + lid + " but " + (at.containsKey(id) ? "in the log at " + at.get(id) : "not in the log (lost)"));
            }
        });
        load.causes().forEach((effect, cause) -> {
            Long e = at.get(effect);
            Long c = at.get(cause);
            if (e != null && (c == null || c > e)) {
                problems.add(effect + " at LId " + e + " stands before its cause " + cause + (c == null ? " (absent)" : " at LId " + c));
            }
        });
        org.assertj.core.api.Assertions.assertThat(problems).as("the log read back whole (%d records, %d holes)",
                log.records().size(), log.holes().size()).isEmpty();
    }

    /** Ids of {@code log} in LId order. */
    static List<String> ids(TreeMap<Long, LogRecord> log) {
        List<String> out = new ArrayList<>(log.size());
        log.values().forEach(r -> out.add(r.id()));
        return out;
    }
}
