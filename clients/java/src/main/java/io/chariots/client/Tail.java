package io.chariots.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * A live tail of the log ({@code GET /records/stream}): {@link #next()}
 * blocks until the next record exists and returns records in LId order with
 * no gap and no duplicate. If the connection drops it reconnects from the
 * last LId it returned plus one, so nothing is missed. Close it to stop; a
 * thread blocked in {@link #next()} then gets {@link NoSuchElementException}.
 */
public final class Tail implements Iterator<LogEntry>, AutoCloseable {
    private final HttpClient http;
    private final URI base;
    private long nextLid;
    // Volatile: close() on another thread closes the body under a blocked readLine().
    private volatile BufferedReader lines;
    private volatile InputStream body;
    private volatile boolean closed;
    private LogEntry buffered;

    private final String authorization;

    Tail(HttpClient http, URI base, long from, String authorization) {
        this.authorization = authorization;
        this.http = http;
        this.base = base;
        this.nextLid = from;
    }

    /** The LId the next record will have. */
    public long nextLid() {
        return nextLid;
    }

    @Override
    public boolean hasNext() {
        if (buffered != null) {
            return true;
        }
        int failures = 0;
        while (!closed) {
            try {
                if (lines == null) {
                    connect();
                    if (closed) { // closed while connecting: disconnect() ran before there was a body
                        disconnect();
                        break;
                    }
                }
                BufferedReader in = lines;
                if (in == null) {
                    continue; // closed meanwhile
                }
                String line = in.readLine();
                if (line == null) {
                    throw new IOException("stream ended");
                }
                if (line.isBlank()) {
                    continue;
                }
                LogEntry e = LogEntry.from(Json.object(line));
                if (e.lid() != nextLid) {
                    throw new IllegalStateException("tail expected LId " + Long.toUnsignedString(nextLid) + ", got " + Long.toUnsignedString(e.lid()));
                }
                nextLid++;
                buffered = e;
                return true;
            } catch (IOException | UnavailableException e) {
                disconnect();
                if (closed) {
                    break;
                }
                Chariots.sleep(Chariots.backoffMillis(failures++));
            }
        }
        return false;
    }

    @Override
    public LogEntry next() {
        if (!hasNext()) {
            throw new NoSuchElementException("tail closed");
        }
        LogEntry e = buffered;
        buffered = null;
        return e;
    }

    private void connect() throws IOException {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve("/records/stream?from=" + Long.toUnsignedString(nextLid))).GET();
        HttpRequest req = (authorization == null ? b : b.header("Authorization", authorization)).build();
        HttpResponse<InputStream> r;
        try {
            r = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (r.statusCode() == 400) {
            String msg = new String(r.body().readAllBytes(), StandardCharsets.UTF_8);
            r.body().close();
            throw new BadRequestException(msg, "from");
        }
        if (r.statusCode() != 200) {
            r.body().close();
            throw new IOException("tail answered " + r.statusCode());
        }
        body = r.body();
        lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8), 1 << 16);
    }

    private void disconnect() {
        try {
            if (body != null) {
                body.close();
            }
        } catch (IOException ignored) {
            // already gone
        }
        body = null;
        lines = null;
    }

    @Override
    public void close() {
        closed = true;
        disconnect();
    }
}
