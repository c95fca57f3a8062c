package io.chariots.common.http;

import io.chariots.common.frame.ByteBudget;
import io.chariots.common.net.NettyTransport;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Request bodies held at once stay within the port's byte budget, over real sockets. */
class BodyBudgetTest {
    private static final int MAX_BODY = 1 << 20;
    private final NettyTransport transport = new NettyTransport("test", 2);
    private final ByteBudget budget = new ByteBudget(MAX_BODY + 1000);
    private final BlockingQueue<HttpExchange> handled = new LinkedBlockingQueue<>();
    private HttpServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        transport.close();
    }

    private int start() throws Exception {
        server = HttpServer.builder().maxRequestBytes(MAX_BODY).budget(budget)
                .post("/hold", handled::add)
                .get("/stream", ex -> ex.stream(HttpResponseStatus.OK, "text/plain"))
                .start(transport, "127.0.0.1", 0);
        return server.port();
    }

    @Test
    void aBodyThatDoesNotFitWaitsUnreadUntilAnotherIsAnswered() throws Exception {
        int port = start();
        try (Socket a = new Socket("127.0.0.1", port); Socket b = new Socket("127.0.0.1", port)) {
            send(a, "POST /hold", new byte[MAX_BODY]);
            HttpExchange first = handled.poll(10, TimeUnit.SECONDS);
            assertThat(first).isNotNull();
            assertThat(first.takeBody()).hasSize(MAX_BODY);
            assertThat(first.takeBody()).as("handed over once: the exchange no longer holds it").isEmpty();
            assertThat(budget.used()).as("reserved until answered").isEqualTo(MAX_BODY);

            send(b, "POST /hold", new byte[MAX_BODY]);
            assertThat(handled.poll(1, TimeUnit.SECONDS)).as("the second body does not fit beside the first").isNull();
            assertThat(budget.waits()).isPositive();

            first.text(HttpResponseStatus.OK, "done");
            assertThat(readStatus(a)).isEqualTo(200);
            HttpExchange second = handled.poll(10, TimeUnit.SECONDS);
            assertThat(second).as("read once the first was answered").isNotNull();
            assertThat(second.takeBody()).hasSize(MAX_BODY);
            second.text(HttpResponseStatus.OK, "done");
            assertThat(readStatus(b)).isEqualTo(200);
        }
        awaitUsed(0);
    }

    @Test
    void closedHalfwayTooLargeOrStreamedEveryReservationIsGivenBack() throws Exception {
        int port = start();
        try (Socket a = new Socket("127.0.0.1", port)) {
            OutputStream out = a.getOutputStream();
            out.write(("POST /hold HTTP/1.1\r\nHost: x\r\nContent-Length: " + MAX_BODY + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[1000]);
            out.flush();
            awaitUsed(MAX_BODY);
        }
        awaitUsed(0); // closed before the body was whole

        try (Socket a = new Socket("127.0.0.1", port)) {
            send(a, "POST /hold", new byte[MAX_BODY + 1]);
            assertThat(readStatus(a)).isEqualTo(413);
        }
        assertThat(budget.used()).isZero();

        try (Socket a = new Socket("127.0.0.1", port)) {
            OutputStream out = a.getOutputStream();
            out.write(("POST /hold HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            HttpExchange chunked = handled.poll(10, TimeUnit.SECONDS);
            assertThat(chunked).isNotNull();
            assertThat(budget.used()).as("a chunked body reserves the largest body").isEqualTo(MAX_BODY);
            chunked.text(HttpResponseStatus.OK, "done");
            assertThat(readStatus(a)).isEqualTo(200);
        }
        awaitUsed(0);

        try (Socket a = new Socket("127.0.0.1", port)) {
            send(a, "GET /stream", new byte[MAX_BODY]);
            assertThat(readStatus(a)).isEqualTo(200);
        }
        awaitUsed(0); // a streamed answer gives its request's body back too
    }

    private void awaitUsed(long bytes) throws InterruptedException {
        RawHttp.awaitUsed(budget, bytes);
    }

    private static void send(Socket s, String requestLine, byte[] body) throws Exception {
        OutputStream out = s.getOutputStream();
        out.write((requestLine + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
    }

    private static int readStatus(Socket s) throws Exception {
        return Integer.parseInt(RawHttp.readStatusAndBody(s).substring(0, 3));
    }
}
