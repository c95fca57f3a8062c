package io.chariots.launcher.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.chariots.common.frame.FrameEncoder;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Durable appends over raw TCP in the batcher's acknowledged mode: handshake
 * {@code 'A' {"acks":1,"timeout_ms":N}}, then one {@code 's'} frame at a time, answered by one
 * {@code 'a'} frame with a result per record. A broken or silent connection is
 * dropped and the next append connects to the next batcher in turn.
 */
final class AckedTcpAppender implements Appender {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A batcher's name ({@code batcher#1}) and raw TCP address. */
    record Target(String name, String host, int port) {
    }

    private final List<Target> targets;
    private final int batch;
    private final long waitMillis;
    private final int readTimeoutMillis;
    private int current;
    private volatile Socket socket;
    private OutputStream out;
    private DataInputStream in;

    /**
     * @param first which target to use first; the others are tried in turn after a failure
     * @param waitMillis how long the batcher may wait for a record before answering "not confirmed"
     */
    AckedTcpAppender(List<Target> targets, int first, int batch, long waitMillis) {
        this.targets = List.copyOf(targets);
        this.current = first % targets.size();
        this.batch = batch;
        this.waitMillis = waitMillis;
        this.readTimeoutMillis = (int) waitMillis + 5_000;
    }

    @Override
    public List<Outcome> append(List<ChaosRecord> records) throws IOException {
        try {
            if (socket == null) {
                connect();
            }
            StringBuilder frame = new StringBuilder("[");
            for (ChaosRecord r : records) {
                frame.append(frame.length() > 1 ? "," : "").append(r.json());
            }
            send('s', frame.append(']').toString());
            String answer = next();
            if (answer.charAt(0) != 'a') {
                throw new IOException("expected an 'a' frame, got: " + answer);
            }
            JsonNode results = JSON.readTree(answer.substring(1)).path("results");
            if (results.size() != records.size()) {
                throw new IOException(records.size() + " records, " + results.size() + " results: " + answer);
            }
            List<Outcome> out = new ArrayList<>(records.size());
            for (int i = 0; i < records.size(); i++) {
                JsonNode res = results.get(i);
                if (res.has("lid")) {
                    if (!records.get(i).id().equals(res.path("id").asText())) {
                        throw new IOException("result " + i + " names another id: " + res + " (sent " + records.get(i).id() + ")");
                    }
                    out.add(new Outcome(res.get("lid").asLong(), null));
                } else if (res.path("error").asText().startsWith("rejected") || res.has("index")) {
                    out.add(new Outcome(0, res.toString()));
                } else {
                    out.add(Outcome.RETRY); // not confirmed in time: the same id again is safe
                }
            }
            return out;
        } catch (IOException | RuntimeException e) {
            close();
            current = (current + 1) % targets.size();
            throw e instanceof IOException io ? io : new IOException(e);
        }
    }

    private void connect() throws IOException {
        Target t = targets.get(current);
        Socket s = new Socket();
        try {
            s.connect(new InetSocketAddress(t.host(), t.port()), 2_000);
            s.setSoTimeout(readTimeoutMillis);
            s.setTcpNoDelay(true);
            socket = s;
            out = s.getOutputStream();
            in = new DataInputStream(s.getInputStream());
            send('A', "{\"acks\":1,\"timeout_ms\":" + waitMillis + "}");
            String hello = next();
            if (hello.charAt(0) != 'A') {
                throw new IOException("expected the 'A' handshake answer, got: " + hello);
            }
            // The batcher names the wait it uses (a shorter one, or its own maximum if it ignored ours).
            long granted = JSON.readTree(hello.substring(1)).path("timeout_ms").asLong(waitMillis);
            s.setSoTimeout((int) Math.max(readTimeoutMillis, granted + 5_000));
        } catch (IOException e) {
            s.close();
            socket = null;
            throw e;
        }
    }

    private void send(char type, String payload) throws IOException {
        out.write(FrameEncoder.encode((byte) type, payload.getBytes(StandardCharsets.UTF_8)));
        out.flush();
    }

    /** The next frame: its type character, then its payload. */
    private String next() throws IOException {
        int len = in.readInt();
        if (len <= 0 || len > (16 << 20)) {
            throw new IOException("bad frame length " + len);
        }
        byte[] b = new byte[len];
        in.readFully(b);
        return (char) b[0] + new String(b, 1, len - 1, StandardCharsets.UTF_8);
    }

    @Override
    public String path() {
        return "tcp:" + targets.get(current).name();
    }

    @Override
    public int batch() {
        return batch;
    }

    @Override
    public void close() {
        Socket s = socket;
        socket = null;
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
