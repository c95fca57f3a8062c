package io.chariots.client;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Error handling and retries against a scripted HTTP server (the real cluster is in system-tests' JavaClientTest). */
class ChariotsHttpTest {
    HttpServer server;
    final List<String> bodies = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger calls = new AtomicInteger();
    volatile int failFirst;
    volatile int failStatus = 503;
    volatile String answer = "{\"id\":\"x\"}";
    volatile int answerStatus = 202;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            bodies.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            int n = calls.incrementAndGet();
            int code = n <= failFirst ? failStatus : answerStatus;
            byte[] out = (n <= failFirst ? "{\"error\":\"the pipeline is full; retry shortly\"}" : answer).getBytes(StandardCharsets.UTF_8);
            if (code == 503) {
                ex.getResponseHeaders().set("Retry-After", "0");
            }
            ex.sendResponseHeaders(code, out.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(out);
            }
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    Chariots client() {
        return Chariots.builder("http://127.0.0.1:" + server.getAddress().getPort()).retries(3).build();
    }

    @Test
    void aRetriedAppendCarriesTheSameIdSoItLandsOnce() {
        failFirst = 2;
        try (Chariots log = client()) {
            Event e = log.append(Map.of("k", "v"));
            assertThat(calls.get()).isEqualTo(3);
            assertThat(bodies).allSatisfy(b -> assertThat(b).contains("\"id\":\"" + e.id() + "\""));
        }
    }

    @Test
    void unavailableAfterTheRetriesRunOut() {
        failFirst = 100;
        try (Chariots log = client()) {
            assertThatThrownBy(() -> log.append(Map.of("k", "v")))
                    .isInstanceOf(UnavailableException.class).hasMessageContaining("pipeline is full");
            assertThat(calls.get()).isEqualTo(4);
        }
    }

    @Test
    void badInputIsABadRequestNamingTheField() {
        answerStatus = 400;
        answer = "{\"error\":\"seed: must not be negative\",\"field\":\"seed\",\"problem\":\"must not be negative\"}";
        try (Chariots log = client()) {
            assertThatThrownBy(() -> log.append(Map.of("k", "v")))
                    .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.field()).isEqualTo("seed"))
                    .hasMessageContaining("must not be negative");
            assertThat(calls.get()).as("no retry of a bad request").isEqualTo(1);
        }
    }

    @Test
    void durableAppendsReturnTheirLIdOrSayTheyTimedOut() {
        answerStatus = 200;
        answer = "{\"id\":\"x\",\"lid\":18446744073709551000,\"host\":0}";
        try (Chariots log = client()) {
            Event e = log.appendDurable(Map.of("k", "v"));
            assertThat(Long.toUnsignedString(e.lid())).isEqualTo("18446744073709551000");
            assertThat(bodies.get(0)).contains(e.id());
            answerStatus = 504;
            answer = "{\"error\":\"not durable within 10 s; retry with the same id\",\"id\":\"abc\"}";
            assertThatThrownBy(() -> log.appendDurable(Draft.of(Map.of("k", "v")).id("abc")))
                    .isInstanceOfSatisfying(AppendTimeoutException.class, t -> assertThat(t.ids()).containsExactly("abc"));
            answerStatus = 409;
            answer = "{\"id\":\"abc\",\"status\":\"rejected\",\"reason\":\"cause never came\"}";
            assertThatThrownBy(() -> log.appendDurable(Map.of("k", "v"))).isInstanceOf(RejectedException.class)
                    .hasMessageContaining("cause never came");
        }
    }

    /** Reads carry {@code toid}, the record's number among its origin's records (unsigned 64-bit, like the LId); absent: 0. */
    @Test
    void readsCarryTheirTOIdOrZeroWhenAbsent() {
        answerStatus = 200;
        answer = "{\"lid\":2,\"host\":1,\"toid\":18446744073709551000,\"id\":\"a\",\"tags\":{\"k\":\"v\"},\"seed\":1,\"prehash\":0,\"timestamp\":5}";
        try (Chariots log = client()) {
            LogEntry e = log.get(2).orElseThrow();
            assertThat(e.host()).isEqualTo(1);
            assertThat(Long.toUnsignedString(e.toid())).isEqualTo("18446744073709551000");
            assertThat(e.toidText()).isEqualTo("18446744073709551000");
            assertThat(e.toString()).contains("host=1, toid=18446744073709551000");

            answer = "{\"records\":[{\"lid\":1,\"host\":0,\"toid\":1,\"id\":\"a\",\"tags\":{},\"seed\":1,\"prehash\":0},"
                    + "{\"lid\":2,\"host\":0,\"id\":\"b\",\"tags\":{},\"seed\":1,\"prehash\":0}],\"next\":3}";
            Chariots.Page page = log.records(1, 10);
            assertThat(page.records()).extracting(LogEntry::toid).containsExactly(1L, 0L);
            assertThat(page.records().get(1).toString()).doesNotContain("toid");

            answer = "{\"lid\":1,\"host\":0,\"toid\":3,\"id\":\"a\",\"tags\":{},\"seed\":1,\"prehash\":0}\n"
                    + "{\"lid\":2,\"host\":0,\"id\":\"b\",\"tags\":{},\"seed\":1,\"prehash\":0}\n";
            try (Tail tail = log.tail(1)) {
                assertThat(tail.next().toid()).isEqualTo(3L);
                assertThat(tail.next().toid()).isZero();
            }
        }
    }

    /** Two reads of one record are equal only if their TOIds are. */
    @Test
    void theTOIdTakesPartInEquality() {
        LogEntry a = new LogEntry(1, 0, 4, "a", Map.of(), 1, new long[0], 5, new long[0]);
        LogEntry b = new LogEntry(1, 0, 4, "a", Map.of(), 1, new long[0], 5, new long[0]);
        LogEntry old = new LogEntry(1, 0, "a", Map.of(), 1, new long[0], 5, new long[0]);
        assertThat(a).isEqualTo(b).hasSameHashCodeAs(b).isNotEqualTo(old);
        assertThat(old.toid()).isZero();
        assertThat(old).isEqualTo(new LogEntry(1, 0, 0, "a", Map.of(), 1, new long[0], 5, new long[0]));
    }

    @Test
    void asyncAppendsShareRequests() throws Exception {
        try (Chariots log = Chariots.builder("http://127.0.0.1:" + server.getAddress().getPort())
                .linger(Duration.ofMillis(20)).build()) {
            List<CompletableFuture<Event>> fs = new ArrayList<>();
            for (int i = 0; i < 500; i++) {
                fs.add(log.appendAsync(Map.of("n", Integer.toString(i))));
            }
            log.flush();
            assertThat(fs).allSatisfy(f -> assertThat(f).isCompleted());
            assertThat(calls.get()).as("500 records in a few requests").isLessThan(50);
            int records = 0;
            for (String b : bodies) {
                records += ((List<?>) Json.parse(b)).size();
            }
            assertThat(records).isEqualTo(500);
        }
    }

    /** A draft reused (or changed) after appendAsync returns must not change what that append sends. */
    @Test
    void anAsyncAppendSendsTheDraftAsItWasWhenAppended() throws Exception {
        try (Chariots log = Chariots.builder("http://127.0.0.1:" + server.getAddress().getPort())
                .linger(Duration.ofMillis(50)).build()) {
            Draft d = Draft.of(Map.of("k", "v"));
            List<CompletableFuture<Event>> fs = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                fs.add(log.appendAsync(d.id("reused-" + i)));
            }
            log.flush();
            List<String> sent = new ArrayList<>();
            for (String b : bodies) {
                for (Object r : (List<?>) Json.parse(b)) {
                    sent.add(String.valueOf(((Map<?, ?>) r).get("id")));
                }
            }
            assertThat(sent).containsExactly("reused-0", "reused-1", "reused-2");
            assertThat(fs).extracting(f -> f.join().id()).containsExactly("reused-0", "reused-1", "reused-2");
        }
    }
}
