package io.chariots.client;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Appends over raw TCP straight to a batcher (port 9000), in GoChariots'
 * frames: {@code 'r'} for one record, {@code 's'} for an array. Like
 * GoChariots' clients it never reads: the batcher acknowledges nothing, so
 * use {@link Chariots#appendDurable} (or look records up by id) when an
 * application must know a record is in the log. Not thread-safe.
 */
public final class RawBatcher implements AutoCloseable {
    private final Socket socket;
    private final OutputStream out;

    private RawBatcher(Socket socket) throws IOException {
        this.socket = socket;
        this.out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
    }

    /** Connects to the batcher at {@code host:port}. */
    public static RawBatcher connect(String host, int port) {
        return connect(host, port, null);
    }

    /**
     * Connects to the batcher at {@code host:port} and shows it {@code token}
     * first (an {@code 'A'} frame {@code {"acks":0,"token":…}}), for a cluster
     * that requires a client token; null: none.
     */
    public static RawBatcher connect(String host, int port, String token) {
        RawBatcher b = open(host, port);
        if (token != null && !token.isBlank()) {
            b.frame('A', Json.quote(new StringBuilder("{\"acks\":0,\"token\":"), token.strip()).append("}").toString());
        }
        return b;
    }

    /**
     * Connects over TLS to a batcher that serves it ({@code tls.edges}),
     * trusting the authority in {@code caPem}, and shows {@code token} first
     * (null: none).
     */
    public static RawBatcher connectTls(String host, int port, java.nio.file.Path caPem, String token) {
        RawBatcher b;
        try {
            javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) Chariots.trusting(caPem).getSocketFactory().createSocket();
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(host, port), 5000);
            javax.net.ssl.SSLParameters p = s.getSSLParameters();
            p.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must be for the name connected to
            s.setSSLParameters(p);
            s.startHandshake();
            b = new RawBatcher(s);
        } catch (IOException e) {
            throw new UnavailableException("cannot connect over TLS to batcher " + host + ":" + port + ": " + e.getMessage(), 0, e);
        }
        if (token != null && !token.isBlank()) {
            b.frame('A', Json.quote(new StringBuilder("{\"acks\":0,\"token\":"), token.strip()).append("}").toString());
        }
        return b;
    }

    private static RawBatcher open(String host, int port) {
        try {
            Socket s = new Socket();
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(host, port), 5000);
            return new RawBatcher(s);
        } catch (IOException e) {
            throw new UnavailableException("cannot connect to batcher " + host + ":" + port + ": " + e.getMessage(), 0, e);
        }
    }

    /** Sends one record in an {@code 'r'} frame (buffered; see {@link #flush}). */
    public Event send(Map<String, String> tags, Cause... causes) {
        return send(Draft.of(tags).causedBy(causes));
    }

    public Event send(Draft draft) {
        Event e = draft.event();
        frame('r', draft.json(e));
        return e;
    }

    /** Sends records in one {@code 's'} frame. */
    public List<Event> sendAll(List<Draft> drafts) {
        List<Event> events = new ArrayList<>(drafts.size());
        frame('s', Draft.jsonArray(drafts, events));
        return events;
    }

    private void frame(char type, String json) {
        byte[] payload = json.getBytes(StandardCharsets.UTF_8);
        int len = payload.length + 1;
        try {
            out.write(new byte[] {(byte) (len >>> 24), (byte) (len >>> 16), (byte) (len >>> 8), (byte) len, (byte) type});
            out.write(payload);
        } catch (IOException e) {
            throw new UnavailableException("batcher connection failed: " + e.getMessage(), 0, e);
        }
    }

    /** Pushes buffered frames to the socket. */
    public void flush() {
        try {
            out.flush();
        } catch (IOException e) {
            throw new UnavailableException("batcher connection failed: " + e.getMessage(), 0, e);
        }
    }

    /** Flushes, then closes the connection (also when the flush fails). */
    @Override
    public void close() {
        try (socket) {
            out.flush();
        } catch (IOException e) {
            throw new UnavailableException("batcher connection failed: " + e.getMessage(), 0, e);
        }
    }
}
