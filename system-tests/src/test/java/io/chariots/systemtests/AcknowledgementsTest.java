package io.chariots.systemtests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.chariots.common.frame.FrameEncoder;
import io.chariots.common.record.Fnv1a64;
import io.chariots.common.record.LogRecord;
import io.chariots.common.record.Unsigned64;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Durable acknowledgements across real role processes: the acknowledged raw
 * TCP mode of batchers and {@code POST /record?wait=true} at the app. What a
 * user would check: an acknowledged LId, read back, is that record; an
 * answer comes only once the record can be read; a retry after a timeout
 * appends once.
 */
class AcknowledgementsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();

    @TempDir
    Path dir;

    /** A raw TCP client that reads its answers. */
    static final class AckedClient implements AutoCloseable {
        final Socket socket;
        final OutputStream out;
        final DataInputStream in;

        AckedClient(int port) throws IOException {
            this(new Socket("127.0.0.1", port));
        }

        AckedClient(Socket connected) throws IOException {
            socket = connected;
            socket.setSoTimeout(60_000);
            out = socket.getOutputStream();
            in = new DataInputStream(socket.getInputStream());
        }

        void send(char type, String payload) throws IOException {
            out.write(FrameEncoder.encode((byte) type, payload.getBytes(StandardCharsets.UTF_8)));
            out.flush();
        }

        /** The next frame: its type character followed by its payload. */
        String next() throws IOException {
            int len = in.readInt();
            byte[] b = new byte[len];
            in.readFully(b);
            return (char) b[0] + new String(b, 1, len - 1, StandardCharsets.UTF_8);
        }

        JsonNode nextAnswer() throws IOException {
            String f = next();
            assertThat(f.charAt(0)).as(f).isEqualTo('a');
            return JSON.readTree(f.substring(1));
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    static JsonNode json(HttpResponse<String> r) throws IOException {
        return JSON.readTree(r.body());
    }

    /** GET /record/{lid} answers 200 with the record {@code id}. */
    static void assertReadable(LocalCluster c, long lid, String id) throws Exception {
        HttpResponse<String> r = LogProbe.get(c.appUrl(0) + "/record/" + lid);
        assertThat(r.statusCode()).as("GET /record/%d: %s", lid, r.body()).isEqualTo(200);
        assertThat(json(r).get("id").asText()).isEqualTo(id);
    }

    @Test
    void acknowledgedTcpModeAnswersEveryFrameInOrderWithLidsThatReadBackAsTheRecords() throws Exception {
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).start());
        c.awaitRegistered(Duration.ofSeconds(60));
        int port = c.get(Role.BATCHER, 0).ports().main();

        try (Socket oldStyle = new Socket("127.0.0.1", port);
             AckedClient client = new AckedClient(port)) {
            // A GoChariots client on the same batcher: never asks, never reads.
            oldStyle.getOutputStream().write(FrameEncoder.encode((byte) 'r',
                    "{\"Id\":\"old-1\",\"Tags\":{\"k\":\"v\"}}".getBytes(StandardCharsets.UTF_8)));
            oldStyle.getOutputStream().flush();

            client.send('A', "{\"acks\":1}");
            JsonNode hello = JSON.readTree(client.next().substring(1));
            assertThat(hello.get("acks").asInt()).isEqualTo(1);
            assertThat(hello.get("timeout_ms").asLong()).isEqualTo(10_000);

            client.send('r', "{\"Id\":\"t-1\",\"Tags\":{\"k1\":\"v1\"},\"Seed\":7}");
            client.send('s', "[{\"id\":\"t-2\",\"tags\":{\"a\":\"1\"}},{\"id\":\"t-bad\",\"seed\":-1},"
                    + "{\"tags\":{\"generated\":\"id\"}},{\"id\":\"t-3\",\"seed\":7,\"prehash\":"
                    + Unsigned64.toString(Fnv1a64.hashTag("k1", "v1")) + "}]");
            client.send('r', "{\"id\":");
            client.send('s', "not json");
            client.send('r', "{\"id\":\"t-4\"}");

            Map<String, Long> lids = new HashMap<>();
            JsonNode a1 = client.nextAnswer();
            assertThat(a1.get("frame").asInt()).isEqualTo(1);
            assertThat(a1.get("results")).hasSize(1);
            lids.put("t-1", a1.get("results").get(0).get("lid").asLong());
            assertThat(a1.get("results").get(0).get("host").asInt()).isZero();

            JsonNode a2 = client.nextAnswer();
            assertThat(a2.get("frame").asInt()).isEqualTo(2);
            JsonNode r2 = a2.get("results");
            assertThat(r2).hasSize(4);
            assertThat(r2.get(0).get("id").asText()).isEqualTo("t-2");
            lids.put("t-2", r2.get(0).get("lid").asLong());
            assertThat(r2.get(1).get("index").asInt()).isEqualTo(1);
            assertThat(r2.get(1).get("error").asText()).contains("seed");
            String generated = r2.get(2).get("id").asText();
            assertThat(generated).isNotEmpty();
            lids.put(generated, r2.get(2).get("lid").asLong());
            lids.put("t-3", r2.get(3).get("lid").asLong());
            assertThat(lids.get("t-3")).as("an effect after its cause").isGreaterThan(lids.get("t-1"));

            JsonNode a3 = client.nextAnswer();
            assertThat(a3.get("frame").asInt()).isEqualTo(3);
            assertThat(a3.get("results").get(0).get("index").asInt()).isZero();
            assertThat(a3.get("results").get(0).get("error").asText()).isNotEmpty();
            JsonNode a4 = client.nextAnswer();
            assertThat(a4.get("frame").asInt()).isEqualTo(4);
            assertThat(a4.get("results")).hasSize(1);
            assertThat(a4.get("results").get(0).get("error").asText()).isNotEmpty();
            JsonNode a5 = client.nextAnswer();
            assertThat(a5.get("frame").asInt()).isEqualTo(5);
            lids.put("t-4", a5.get("results").get(0).get("lid").asLong());

            for (Map.Entry<String, Long> e : lids.entrySet()) {
                assertReadable(c, e.getValue(), e.getKey());
            }
            // The old-style record is in the log too, and its connection got not one byte.
            assertThat(LogProbe.awaitStored(c, 6, Duration.ofSeconds(30))).isEqualTo(6);
            TreeMap<Long, LogRecord> log = LogProbe.readLog(c);
            assertThat(LogProbe.ids(log)).contains("old-1").doesNotContain("t-bad").hasSize(6);
            assertThat(oldStyle.getInputStream().available()).isZero();
            oldStyle.setSoTimeout(300);
            try {
                int b = oldStyle.getInputStream().read();
                assertThat(b).as("the old-style connection was written to").isEqualTo(-2);
            } catch (SocketTimeoutException expected) {
                // nothing came
            }
        }
    }

    @Test
    void waitTrueAnswersOnlyOnceTheRecordCanBeReadBackAndTimeoutsRetryToExactlyOnce() throws Exception {
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).start());
        c.awaitRegistered(Duration.ofSeconds(60));
        String app = c.appUrl(0);

        HttpResponse<String> one = LogProbe.post(app + "/record?wait=true", "{\"id\":\"w-1\",\"tags\":{\"k\":\"v\"}}");
        assertThat(one.statusCode()).as(one.body()).isEqualTo(200);
        JsonNode b = json(one);
        assertThat(b.get("id").asText()).isEqualTo("w-1");
        assertThat(b.get("host").asInt()).isZero();
        assertReadable(c, b.get("lid").asLong(), "w-1");

        HttpResponse<String> arr = LogProbe.post(app + "/record?wait=true&timeout_ms=5000",
                "[{\"id\":\"w-2\"},{\"tags\":{\"x\":\"y\"}},{\"id\":\"w-3\"}]");
        assertThat(arr.statusCode()).as(arr.body()).isEqualTo(200);
        JsonNode recs = json(arr).get("records");
        assertThat(recs).hasSize(3);
        for (JsonNode r : recs) {
            assertReadable(c, r.get("lid").asLong(), r.get("id").asText());
        }
        assertThat(recs.get(0).get("id").asText()).isEqualTo("w-2");

        // Without wait: 202 as before.
        HttpResponse<String> plain = LogProbe.post(app + "/record", "{\"id\":\"p-1\"}");
        assertThat(plain.statusCode()).isEqualTo(202);
        assertThat(plain.body()).isEqualTo("{\"id\":\"p-1\"}");

        // Bad parameters: 400 naming them, nothing appended.
        assertBadParameter(app + "/record?wait=maybe", "wait");
        assertBadParameter(app + "/record?wait=true&timeout_ms=0", "timeout_ms");
        assertBadParameter(app + "/record?wait=true&timeout_ms=soon", "timeout_ms");
        assertBadParameter(app + "/record?timeout_ms=100", "timeout_ms");

        // A record held back by its missing cause cannot be confirmed in 50 ms: 504, with the id and the advice.
        long cause = Fnv1a64.hashTag("step", "first");
        String effect = "{\"id\":\"w-effect\",\"seed\":9,\"prehash\":" + Unsigned64.toString(cause) + "}";
        HttpResponse<String> late = LogProbe.post(app + "/record?wait=true&timeout_ms=50", effect);
        assertThat(late.statusCode()).as(late.body()).isEqualTo(504);
        assertThat(json(late).get("id").asText()).isEqualTo("w-effect");
        assertThat(json(late).get("error").asText()).contains("may still complete").contains("same id is safe");
        HttpResponse<String> causeAnswer = LogProbe.post(app + "/record?wait=true",
                "{\"id\":\"w-cause\",\"seed\":9,\"tags\":{\"step\":\"first\"}}");
        assertThat(causeAnswer.statusCode()).as(causeAnswer.body()).isEqualTo(200);
        // The retry, same id: confirmed (by the first append's notice, or by lookup if that came first)...
        HttpResponse<String> retry = LogProbe.post(app + "/record?wait=true", effect);
        assertThat(retry.statusCode()).as(retry.body()).isEqualTo(200);
        long effectLid = json(retry).get("lid").asLong();
        assertThat(effectLid).isGreaterThan(json(causeAnswer).get("lid").asLong());
        assertReadable(c, effectLid, "w-effect");
        // ...and in the log once. A third attempt, after the fact, gets the same LId (by lookup: no notice comes).
        HttpResponse<String> again = LogProbe.post(app + "/record?wait=true", effect);
        assertThat(again.statusCode()).as(again.body()).isEqualTo(200);
        assertThat(json(again).get("lid").asLong()).isEqualTo(effectLid);
        assertThat(LogProbe.awaitStored(c, 7, Duration.ofSeconds(30))).isEqualTo(7); // w-1, w-2, w-3, a generated id, p-1, w-cause, w-effect
        List<String> ids = LogProbe.ids(LogProbe.readLog(c));
        assertThat(ids.stream().filter("w-effect"::equals).count()).isEqualTo(1);
        assertThat(ids).hasSize(7);

        measureLatency(app);
    }

    /** Median time of sequential appends with and without wait=true; printed, not asserted (a shared 2-core box). */
    static void measureLatency(String app) throws Exception {
        int n = 300;
        long[] without = new long[n];
        long[] with = new long[n];
        for (int round = 0; round < 2; round++) { // the first round warms up
            for (int i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                HttpResponse<String> r = LogProbe.post(app + "/record", "{\"tags\":{\"m\":\"" + i + "\"}}");
                without[i] = System.nanoTime() - t0;
                assertThat(r.statusCode()).isEqualTo(202);
                t0 = System.nanoTime();
                r = LogProbe.post(app + "/record?wait=true", "{\"tags\":{\"m\":\"" + i + "\"}}");
                with[i] = System.nanoTime() - t0;
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            }
        }
        Arrays.sort(without);
        Arrays.sort(with);
        System.out.printf("POST /record latency over %d sequential requests: p50 %.2f ms (202) vs %.2f ms (wait=true, 200);"
                        + " p99 %.2f ms vs %.2f ms%n", n, without[n / 2] / 1e6, with[n / 2] / 1e6,
                without[n * 99 / 100] / 1e6, with[n * 99 / 100] / 1e6);
    }

    static void assertBadParameter(String url, String name) throws Exception {
        HttpResponse<String> r = LogProbe.post(url, "{\"id\":\"never\"}");
        assertThat(r.statusCode()).as(url + " -> " + r.body()).isEqualTo(400);
        assertThat(json(r).get("field").asText()).isEqualTo(name);
        assertThat(json(r).get("error").asText()).startsWith(name + ":");
    }

    @Test
    void aWaitingAppendIsStillConfirmedWhenItsMaintainerIsKilledAndRestartedMeanwhile() throws Exception {
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).setting("app.wait_timeout_ms", "90000").start());
        c.awaitRegistered(Duration.ofSeconds(60));
        RoleProcess maintainer = c.get(Role.MAINTAINER, 0);
        RoleProcess indexer = c.get(Role.INDEXER, 0);
        // With the indexer down, the record is persisted but cannot be indexed: the wait goes on.
        c.expectDown(indexer, true);
        indexer.kill();
        CompletableFuture<HttpResponse<String>> waiting = LogProbe.HTTP.sendAsync(
                HttpRequest.newBuilder(URI.create(c.appUrl(0) + "/record?wait=true&timeout_ms=90000"))
                        .timeout(Duration.ofSeconds(120)).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"id\":\"survivor\",\"tags\":{\"k\":\"v\"}}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(LogProbe.awaitStored(c, 1, Duration.ofSeconds(30))).isEqualTo(1);
        // The maintainer dies holding it unindexed; its ack_to was stored with it.
        c.expectDown(maintainer, true);
        maintainer.kill();
        maintainer.start();
        c.expectDown(maintainer, false);
        assertThat(waiting).as("no answer while the record is not indexed").isNotDone();
        indexer.start();
        c.expectDown(indexer, false);

        HttpResponse<String> r = waiting.get(90, TimeUnit.SECONDS);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode b = json(r);
        assertThat(b.get("id").asText()).isEqualTo("survivor");
        assertReadable(c, b.get("lid").asLong(), "survivor");
        assertThat(LogProbe.ids(LogProbe.readLog(c))).containsExactly("survivor");
    }
}
