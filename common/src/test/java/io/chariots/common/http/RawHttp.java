package io.chariots.common.http;

import io.chariots.common.frame.ByteBudget;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** HTTP/1.1 spoken byte by byte over a plain socket, for the server's tests: requests as written, answers as read. */
final class RawHttp {
    private RawHttp() {
    }

    /** Waits up to 10 s for {@code budget} to hold exactly {@code bytes}, then asserts it. */
    static void awaitUsed(ByteBudget budget, long bytes) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (budget.used() != bytes && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(budget.used()).isEqualTo(bytes);
    }

    static String post(String path, String body) {
        return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
    }

    static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
    }

    static void write(Socket s, String requests) throws Exception {
        OutputStream out = s.getOutputStream();
        out.write(requests.getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** What has arrived on {@code s} within a short wait, without blocking longer. */
    static String available(Socket s) throws Exception {
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

    /** Whether the server closes {@code s} within 10 s: an end of stream, or a reset (it closed with bytes unread). */
    static boolean closed(Socket s) throws Exception {
        s.setSoTimeout(10_000);
        try {
            return s.getInputStream().read() == -1;
        } catch (java.net.SocketException reset) {
            return true;
        }
    }

    /** The status code and body of the next response, as "200 body". */
    static String readStatusAndBody(Socket s) throws Exception {
        s.setSoTimeout(10_000);
        InputStream in = s.getInputStream();
        String status = readLine(in);
        int length = 0;
        String line;
        while (!(line = readLine(in)).isEmpty()) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        return status.substring(9, 12) + " " + new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }

    /** The bodies of the next {@code n} responses (each with a Content-Length), in the order they arrive. */
    static List<String> readResponses(Socket s, int n) throws Exception {
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String body = readResponseOrNull(s);
            assertThat(body).as("response %d of %d", i, n).isNotNull();
            bodies.add(body);
        }
        return bodies;
    }

    /** The body of the next response, or null if the connection closes first. */
    static String readResponseOrNull(Socket s) throws Exception {
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

    static String readLine(InputStream in) throws Exception {
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
