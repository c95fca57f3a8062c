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
