package io.chariots.common.http;

import io.chariots.common.frame.ByteBudget;
import io.chariots.common.net.EdgeGuard;
import io.chariots.common.net.NettyTransport;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

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
    void pipeliningDeeperThanTheCodecTakesClosesTheConnectionAndEveryRequestTakenIsAnswered() throws Exception {
        int port = start(null);
        StringBuilder all = new StringBuilder();
        for (int i = 0; i < 500; i++) {
            all.append(post("/echo", "r" + i));
        }
        List<String> answers = new ArrayList<>();
        try (Socket s = new Socket("127.0.0.1", port)) {
            write(s, all.toString());
            // Netty's HTTP codec holds at most 128 requests not yet answered on a connection, then closes it.
            String body;
            while ((body = readResponseOrNull(s)) != null) {
                answers.add(body);
            }
        }
        assertThat(answers).as("answered in order up to the close").hasSizeLessThan(500);
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
            s.setSoTimeout(10_000);
            assertThat(s.getInputStream().read()).as("closed after the last answer").isEqualTo(-1);
        }
        Thread.sleep(200);
        assertThat(handled).containsExactly("echo last");
        awaitUsed(0);
    }

    @Test
    void closingWithRequestsWaitingGivesTheirBodiesBack() throws Exception {
        int port = start(null);
        try (Socket s = new Socket("127.0.0.1", port)) {
            write(s, post("/hold", "x".repeat(1000)) + post("/echo", "y".repeat(2000)) + post("/echo", "z".repeat(3000)));
            assertThat(held.poll(10, TimeUnit.SECONDS)).isNotNull();
            awaitUsed(6000);
        }
        awaitUsed(1000); // the two waiting are given back at the close; the one held until it is answered
        held.clear();
        assertThat(handled).hasSize(1);
    }

    @Test
    void aConnectionWhoseRequestIsBeingAnsweredIsNotIdle() throws Exception {
        EdgeGuard guard = new EdgeGuard("http", "http", "request",
                new EdgeGuard.Limits(16, Duration.ofMillis(400), Duration.ofMillis(400)), HttpServer.Builder::serverHolds,
                new SimpleMeterRegistry());
        int port = start(guard);
        try (Socket s = new Socket("127.0.0.1", port); Socket idle = new Socket("127.0.0.1", port)) {
            write(s, post("/hold", "long"));
            HttpExchange ex = held.poll(10, TimeUnit.SECONDS);
            assertThat(ex).isNotNull();
            Thread.sleep(2000); // five idle timeouts: its time is the server's, not the client's
            ex.text(HttpResponseStatus.OK, "answered");
            assertThat(readResponses(s, 1)).containsExactly("answered");

            idle.setSoTimeout(10_000);
            assertThat(idle.getInputStream().read()).as("a connection that sent nothing is closed").isEqualTo(-1);
        }
    }

    private void awaitUsed(long bytes) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (budget.used() != bytes && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(budget.used()).isEqualTo(bytes);
    }

    private static String post(String path, String body) {
        return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
    }

    private static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
    }

    private static void write(Socket s, String requests) throws Exception {
        OutputStream out = s.getOutputStream();
        out.write(requests.getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** What has arrived on {@code s} within a short wait, without blocking longer. */
    private static String available(Socket s) throws Exception {
        s.setSoTimeout(200);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        try {
            int c;
            while ((c = s.getInputStream().read()) != -1) {
                got.write(c);
            }
        } catch (SocketTimeoutException e) {
            // nothing more
        }
        return got.toString(StandardCharsets.US_ASCII);
    }

    /** The bodies of the next {@code n} responses (each with a Content-Length), in the order they arrive. */
    private static List<String> readResponses(Socket s, int n) throws Exception {
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String body = readResponseOrNull(s);
            assertThat(body).as("response %d of %d", i, n).isNotNull();
            bodies.add(body);
        }
        return bodies;
    }

    /** The body of the next response, or null if the connection closes first. */
    private static String readResponseOrNull(Socket s) throws Exception {
        s.setSoTimeout(10_000);
        InputStream in = s.getInputStream();
        String status = readLine(in);
        if (status.isEmpty()) {
            return null;
        }
        int length = -1;
        String line;
        while (!(line = readLine(in)).isEmpty()) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        assertThat(length).as("a Content-Length in the response to %s", status).isGreaterThanOrEqualTo(0);
        byte[] body = in.readNBytes(length);
        assertThat(body).hasSize(length);
        return new String(body, StandardCharsets.UTF_8);
    }

    private static String readLine(InputStream in) throws Exception {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) != -1 && c != '\n') {
            if (c != '\r') {
                line.append((char) c);
            }
        }
        return line.toString();
    }
}
