package io.chariots.launcher.fuzz;

import io.chariots.app.App;
import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;
import io.chariots.common.fuzz.Mutator;
import io.chariots.common.runtime.RoleRuntime;
import io.chariots.proto.Role;
import io.chariots.testkit.FreePorts;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Random;

/**
 * Random requests against a real app's HTTP routes (an app of its own, in
 * this process, with no cluster behind it): known and unknown paths, every
 * method, random parameters and bodies, malformed request lines. Each must
 * be answered within {@link #ANSWER_MS} with a status below 500 or a 503,
 * and an error status must carry a JSON {@code error}: never a 500, never a
 * hang, never a dropped connection for a well-formed request.
 */
final class HttpRouteTarget implements AutoCloseable {
    static final int ANSWER_MS = 10_000;
    private static final String[] PATHS = {"/record", "/record/", "/record/1", "/record/0", "/record/-1",
            "/record/18446744073709551616", "/record/abc", "/records", "/records/stream", "/trace/", "/trace/x",
            "/health", "/metrics", "/", "/nope", "/record/1/2", "//record", "/%00", "/record%2F1", "/..%2F..", "/trace/%ff"};
    private static final String[] METHODS = {"GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS", "FOO"};
    private static final String[] PARAMS = {"id", "wait", "timeout_ms", "from", "limit", "tag", "seed", "format", "lid",
            "follow", "x"};
    private static final String[] VALUES = {"", "1", "0", "-1", "true", "false", "yes", "18446744073709551616",
            "9223372036854775807", "1e3", "%zz", "%00", "a%20b", "k:v", "k%3Av", "json", "ndjson", "x".repeat(5000)};

    private final RoleRuntime.Handle app;
    private final int port;

    HttpRouteTarget() throws Exception {
        port = FreePorts.freePort();
        int deadController = FreePorts.freePort();
        app = App.start(RoleConfig.resolve(Role.APP, Settings.of(Map.of("port", port, "grpc_port", 0, "bind", "127.0.0.1",
                "advertise", "127.0.0.1", "controller", "127.0.0.1:" + deadController,
                "app.wait_timeout_ms", 2000, "app.forward_timeout_ms", 2000, "app.read_timeout_ms", 2000), "fuzz")));
    }

    /** A random request: its bytes, and what it is for the report. */
    record Request(byte[] bytes, String line, boolean wellFormed) {
    }

    static Request request(Mutator m) {
        Random r = m.random();
        String method = METHODS[r.nextInt(METHODS.length)];
        StringBuilder target = new StringBuilder(PATHS[r.nextInt(PATHS.length)]);
        int params = r.nextInt(4);
        for (int i = 0; i < params; i++) {
            target.append(i == 0 ? '?' : '&').append(PARAMS[r.nextInt(PARAMS.length)]);
            if (r.nextInt(5) > 0) {
                target.append('=').append(VALUES[r.nextInt(VALUES.length)]);
            }
        }
        byte[] body = method.equals("POST") || r.nextInt(6) == 0 ? m.json() : new byte[0];
        boolean wellFormed = r.nextInt(10) > 0;
        String line = method + " " + target + " HTTP/1.1";
        if (!wellFormed) {
            line = new String(m.mutate(line.getBytes(StandardCharsets.ISO_8859_1)), StandardCharsets.ISO_8859_1)
                    .replace("\r", "").replace("\n", "");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes((line + "\r\nHost: fuzz\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(body);
        return new Request(out.toByteArray(), line.length() > 200 ? line.substring(0, 200) + "…" : line, wellFormed);
    }

    /** Sends one request; null if it was answered as it must be, else what went wrong. */
    String check(Request req) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(ANSWER_MS);
            OutputStream out = s.getOutputStream();
            out.write(req.bytes());
            out.flush();
            String text = readAnswer(s.getInputStream());
            if (text.isEmpty()) {
                return req.wellFormed() ? "no answer to " + req.line() : null;
            }
            if (!text.startsWith("HTTP/1.1 ")) {
                return "not an HTTP answer to " + req.line() + ": " + text.substring(0, Math.min(80, text.length()));
            }
            int status = Integer.parseInt(text.substring(9, 12));
            if (status >= 500 && status != 503) {
                return status + " for " + req.line() + ": " + text.substring(0, Math.min(300, text.length()));
            }
            boolean head = req.line().startsWith("HEAD ");
            if (status >= 400 && !head && !text.contains("\"error\"")) {
                return status + " without a JSON error for " + req.line() + ": " + text.substring(0, Math.min(300, text.length()));
            }
            return null;
        } catch (SocketTimeoutException e) {
            // A stream (records/stream, a waiting append) answers its status line at once: silence is a hang.
            return "no answer within " + ANSWER_MS + " ms to " + req.line();
        } catch (IOException e) {
            return req.wellFormed() ? e + " for " + req.line() : null;
        }
    }

    /** The status line and headers, and the body when it has a Content-Length (a stream's is not waited for). */
    private static String readAnswer(InputStream in) throws IOException {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        int last4 = 0; // the last four bytes read, to find the blank line that ends the headers
        while (last4 != 0x0d0a0d0a) {
            int b = in.read();
            if (b < 0) {
                return got.toString(StandardCharsets.ISO_8859_1);
            }
            got.write(b);
            last4 = (last4 << 8) | b;
        }
        String head = got.toString(StandardCharsets.ISO_8859_1);
        java.util.regex.Matcher len = java.util.regex.Pattern.compile("(?im)^content-length:\\s*(\\d+)").matcher(head);
        if (len.find()) {
            got.writeBytes(in.readNBytes((int) Math.min(1 << 20, Long.parseLong(len.group(1)))));
        }
        return got.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() {
        app.close();
    }
}
