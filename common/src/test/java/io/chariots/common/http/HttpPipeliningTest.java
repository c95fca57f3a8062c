package io.chariots.common.http;

import io.chariots.common.frame.ByteBudget;
import io.chariots.common.net.EdgeGuard;
import io.chariots.common.net.NettyTransport;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.chariots.common.http.RawHttp.available;
import static io.chariots.common.http.RawHttp.closed;
import static io.chariots.common.http.RawHttp.get;
import static io.chariots.common.http.RawHttp.post;
import static io.chariots.common.http.RawHttp.readLine;
import static io.chariots.common.http.RawHttp.readResponseOrNull;
import static io.chariots.common.http.RawHttp.readResponses;
import static io.chariots.common.http.RawHttp.readStatusAndBody;
import static io.chariots.common.http.RawHttp.write;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * HTTP/1.1 pipelining over real sockets: a client may send requests before
 * the answers to earlier ones, and must get the answers in request order.
 */
class HttpPipeliningTest {
    private static final int MAX_BODY = 1 << 16;
    private final NettyTransport transport = new NettyTransport("test", 2);
    private final ByteBudget budget = new ByteBudget(4 * MAX_BODY);
    private final BlockingQueue<HttpExchange> held = new LinkedBlockingQueue<>();
    private final List<String> handled = new java.util.concurrent.CopyOnWriteArrayList<>();
    private HttpServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        transport.close();
    }

    private int start(EdgeGuard guard) throws Exception {
        HttpServer.Builder b = HttpServer.builder().maxRequestBytes(MAX_BODY).budget(budget)
                .post("/hold", ex -> {
                    handled.add("hold " + new String(ex.takeBody(), StandardCharsets.UTF_8));
                    held.add(ex);
                })
                .post("/echo", ex -> {
                    String body = new String(ex.takeBody(), StandardCharsets.UTF_8);
                    handled.add("echo " + body);
                    ex.text(HttpResponseStatus.OK, "echo " + body);
                })
                .get("/fast", ex -> {
                    handled.add("fast");
                    ex.text(HttpResponseStatus.OK, "fast");
                })
                .get("/stream", ex -> {
                    handled.add("stream");
                    ex.stream(HttpResponseStatus.OK, "text/plain");
                });
        if (guard != null) {
            b.guard(guard);
        }
        server = b.start(transport, "127.0.0.1", 0);
        return server.port();
    }

    @Test
    void pipelinedRequestsAreAnsweredInRequestOrderEachAfterTheOneBefore() throws Exception {
        int port = start(null);
        try (Socket s = new Socket("127.0.0.1", port)) {
            // One write: the decoder hands all three over from a single read.
            write(s, post("/hold", "slow") + get("/fast") + post("/echo", "third"));
            HttpExchange slow = held.poll(10, TimeUnit.SECONDS);
            assertThat(slow).isNotNull();
            Thread.sleep(300);
            assertThat(handled).as("later requests wait until the one before is answered").containsExactly("hold slow");
            assertThat(available(s)).as("nothing is answered ahead of the first request").isEmpty();

            slow.text(HttpResponseStatus.OK, "slow done");
            List<String> bodies = readResponses(s, 3);
            assertThat(bodies).containsExactly("slow done", "fast", "echo third");
            assertThat(handled).containsExactly("hold slow", "fast", "echo third");

            // The connection goes on as before once the pipelined ones are through.
            write(s, get("/fast"));
            assertThat(readResponses(s, 1)).containsExactly("fast");
        }
        awaitUsed(0);
    }

    @Test
    void manyPipelinedRequestsKeepTheirOrder() throws Exception {
        int port = start(null);
        int n = 100;
        StringBuilder all = new StringBuilder();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            all.append(post("/echo", "r" + i));
            expected.add("echo r" + i);
        }
        try (Socket s = new Socket("127.0.0.1", port)) {
            write(s, all.toString());
            assertThat(readResponses(s, n)).containsExactlyElementsOf(expected);
        }
        awaitUsed(0);
    }

    @Test
    void deepPipeliningBehindASlowRequestIsAnsweredInOrder() throws Exception {
        int port = start(null);
        StringBuilder all = new StringBuilder(post("/hold", "slow"));
        for (int i = 1; i < 500; i++) {
            all.append(post("/echo", "r" + i));
        }
        List<String> answers = new ArrayList<>();
        try (Socket s = new Socket("127.0.0.1", port)) {
            write(s, all.toString());
            HttpExchange slow = held.poll(10, TimeUnit.SECONDS);
            assertThat(slow).isNotNull();
            Thread.sleep(300);
            slow.text(HttpResponseStatus.OK, "echo r0");
            // Reading pauses while requests wait, so Netty's HTTP decoder sees one read's worth at a time; should one
            // read hold more than 128 requests not yet answered, it closes the connection (readResponseOrNull: null).
            String body;
            while (answers.size() < 500 && (body = readResponseOrNull(s)) != null) {
                answers.add(body);
            }
        }
        // Each answered at once but the first: never more than one read's worth (a few dozen here) not yet answered.
        assertThat(answers).hasSize(500);
        handled.set(0, "echo r0"); // the slow one, as it was answered
        // However the reads split them: every answer in order, and if not all were answered the connection was closed.
        for (int i = 0; i < answers.size(); i++) {
            assertThat(answers.get(i)).isEqualTo("echo r" + i);
        }
        Thread.sleep(200);
        // One request at a time: the close can catch at most the one being answered (as any lost connection can).
        assertThat(handled.subList(0, answers.size())).as("every answer is its own request's").containsExactlyElementsOf(answers);
        assertThat(handled.size()).as("taken and not answered: at most the one being answered at the close").isLessThanOrEqualTo(answers.size() + 1);
        awaitUsed(0);
    }

    @Test
    void aRequestSentAfterConnectionCloseIsNotTaken() throws Exception {
        int port = start(null);
        try (Socket s = new Socket("127.0.0.1", port)) {
            String last = "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 4\r\n\r\nlast";
            write(s, last + post("/echo", "after"));
            assertThat(readResponses(s, 1)).containsExactly("echo last");
            assertThat(closed(s)).as("closed after the last answer").isTrue();
        }
        Thread.sleep(200);
        assertThat(handled).containsExactly("echo last");
        awaitUsed(0);
    }

    @Test
    void requestsWaitingForTheirTurnHoldNoBodyBudgetAndAreNotTakenOnceClosed() throws Exception {
        int port = start(null);
        try (Socket s = new Socket("127.0.0.1", port)) {
            write(s, post("/hold", "x".repeat(1000)) + post("/echo", "y".repeat(2000)) + post("/echo", "z".repeat(3000)));
            HttpExchange first = held.poll(10, TimeUnit.SECONDS);
            assertThat(first).isNotNull();
            Thread.sleep(200);
            assertThat(budget.used()).as("only the request being answered reserves its body").isEqualTo(1000);
            first.text(HttpResponseStatus.OK, "first");
            assertThat(readResponses(s, 3)).containsExactly("first", "echo " + "y".repeat(2000), "echo " + "z".repeat(3000));
            awaitUsed(0);

            write(s, post("/hold", "again") + post("/echo", "never"));
            assertThat(held.poll(10, TimeUnit.SECONDS)).isNotNull();
        }
        Thread.sleep(300);
        assertThat(handled).as("closed while it waited: never taken").doesNotContain("echo never");
        awaitUsed("again".length()); // the one held is reserved until it is answered
    }

    @Test
    void netty413ForAnOversizedRequestWaitsForItsTurn() throws Exception {
        int port = start(null);
        try (Socket s = new Socket("127.0.0.1", port)) {
            write(s, post("/hold", "slow") + "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + (MAX_BODY + 1) + "\r\n\r\n"
                    + "b".repeat(MAX_BODY + 1) + get("/fast"));
            HttpExchange slow = held.poll(10, TimeUnit.SECONDS);
            assertThat(slow).isNotNull();
            assertThat(available(s)).as("the 413 does not jump ahead of the request before it").isEmpty();
            slow.text(HttpResponseStatus.OK, "slow done");
            assertThat(readStatusAndBody(s)).isEqualTo("200 slow done");
            assertThat(readStatusAndBody(s)).startsWith("413");
            // Netty closes after a 413 it gives while reading is paused: what came after it is not taken.
            assertThat(closed(s)).isTrue();
        }
        Thread.sleep(200);
        assertThat(handled).containsExactly("hold slow");
        awaitUsed(0);
    }

    @Test
    void requestsNettyAnswersItselfGiveTheirBodyReservationBackOnce() throws Exception {
        int port = start(null);
        try (Socket s = new Socket("127.0.0.1", port)) {
            // An expectation Netty does not support: 417, and the client does not send the body it announced.
            write(s, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: something\r\nContent-Length: 5\r\n\r\n");
            assertThat(readStatusAndBody(s)).startsWith("417");
            write(s, post("/echo", "next"));
            assertThat(readStatusAndBody(s)).isEqualTo("200 echo next");
        }
        awaitUsed(0);
        try (Socket s = new Socket("127.0.0.1", port)) {
            // A head the decoder cannot read: 400, and the connection closed (the decoder reads nothing more on it).
            write(s, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nBad Header Line\r\n\r\nhello");
            assertThat(readStatusAndBody(s)).startsWith("400");
            assertThat(closed(s)).isTrue();
        }
        Thread.sleep(200);
        assertThat(budget.used()).as("given back once, not twice").isZero();
        assertThat(handled).containsExactly("echo next");
    }

    @Test
    void aStreamTakesNothingSentAfterIt() throws Exception {
        int port = start(null);
        try (Socket s = new Socket("127.0.0.1", port)) {
            write(s, post("/hold", "first") + get("/stream") + post("/echo", "after"));
            HttpExchange first = held.poll(10, TimeUnit.SECONDS);
            assertThat(first).isNotNull();
            first.text(HttpResponseStatus.OK, "first");
            assertThat(readResponses(s, 1)).containsExactly("first");
            assertThat(readLine(s.getInputStream())).isEqualTo("HTTP/1.1 200 OK");
            write(s, post("/echo", "during"));
            Thread.sleep(300);
            assertThat(handled).containsExactly("hold first", "stream");
            assertThat(budget.used()).isZero();
        }
    }

    @Test
    void aConnectionWhoseRequestIsBeingAnsweredIsNotIdle() throws Exception {
        EdgeGuard guard = new EdgeGuard("http", "http", "request",
                new EdgeGuard.Limits(16, Duration.ofMillis(400), Duration.ofMillis(400)), HttpServer.Builder::serverHolds,
                new SimpleMeterRegistry());
        int port = start(guard);
        try (Socket s = new Socket("127.0.0.1", port); Socket idle = new Socket("127.0.0.1", port);
             Socket partial = new Socket("127.0.0.1", port)) {
            write(partial, "POST /hold HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{");
            write(s, post("/hold", "long"));
            HttpExchange ex = held.poll(10, TimeUnit.SECONDS);
            assertThat(ex).isNotNull();
            Thread.sleep(2000); // five idle timeouts: its time is the server's, not the client's
            ex.text(HttpResponseStatus.OK, "answered");
            assertThat(readResponses(s, 1)).containsExactly("answered");

            idle.setSoTimeout(10_000);
            assertThat(idle.getInputStream().read()).as("a connection that sent nothing is closed").isEqualTo(-1);
            partial.setSoTimeout(10_000);
            assertThat(partial.getInputStream().read()).as("a request that never arrives whole is the client's time").isEqualTo(-1);
        }
    }

    private void awaitUsed(long bytes) throws InterruptedException {
        RawHttp.awaitUsed(budget, bytes);
    }
}
