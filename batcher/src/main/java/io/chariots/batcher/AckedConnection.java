package io.chariots.batcher;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.chariots.common.acks.AppendWaiters.Appended;
import io.chariots.common.acks.AppendWaiters.Outcome;
import io.chariots.common.acks.AppendWaiters.Rejected;
import io.chariots.common.frame.FrameEncoder;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;

import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One raw-TCP connection in acknowledged mode: the client sent an
 * {@code 'A'} handshake, so each of its {@code 'r'}/{@code 's'} frames gets
 * exactly one {@code 'a'} frame back, in the order the frames came, once
 * every record of the frame has an outcome:
 * {@code {"frame":n,"results":[…]}} with, per record in frame order,
 * {@code {"id","lid","host"}} (persisted and indexed), {@code {"id","error"}}
 * (rejected, or not confirmed in time), or {@code {"index","error"}} (did not
 * parse; an {@code 's'} frame that is not valid JSON gets one
 * {@code {"error"}}).
 *
 * <p>Bounded: when more than {@code maxUnanswered} records of this
 * connection wait for their answer, or the client does not read its answers
 * (the channel is not writable), the connection stops being read until that
 * drains. Other connections are unaffected.
 *
 * <p>Threads: everything runs on the connection's Netty event loop.
 */
final class AckedConnection {
    static final ObjectMapper JSON = new ObjectMapper();
    static final byte HANDSHAKE = 'A';
    static final byte ANSWER = 'a';

    /** The answer to one frame, filled in as its records' outcomes arrive. */
    static final class Answer {
        final long frame;
        final Object[] results;
        int missing;
        final byte type;
        byte[] ready;

        private Answer(long frame, Object[] results, int missing) {
            this.frame = frame;
            this.results = results;
            this.missing = missing;
            this.type = ANSWER;
        }

        private Answer(byte type, byte[] payload) {
            this.frame = 0;
            this.results = null;
            this.type = type;
            this.ready = payload;
        }
    }

    private final Channel channel;
    private final int maxUnanswered;
    private long timeoutMs; // set by each handshake
    private final ArrayDeque<Answer> answers = new ArrayDeque<>();
    private long frames;
    private int unanswered;
    private boolean throttled;

    /**
     * @param maxUnanswered records awaiting their answer above which reading stops
     */
    AckedConnection(Channel channel, int maxUnanswered) {
        this.channel = channel;
        this.maxUnanswered = maxUnanswered;
    }

    /** How long this connection's records are waited for before "not confirmed". */
    long timeoutMs() {
        return timeoutMs;
    }

    /**
     * Queues the handshake answer {@code {"acks":1,"timeout_ms":N}} behind any
     * earlier answers; frames after it are waited for {@code timeoutMs}.
     */
    void handshake(long timeoutMs) {
        this.timeoutMs = timeoutMs;
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("acks", 1);
        body.put("timeout_ms", timeoutMs);
        answers.add(new Answer(HANDSHAKE, json(body)));
        flush();
    }

    /**
     * Opens the answer of the next frame: {@code results} has one slot per
     * record, the parse errors already in place; {@code pending} slots are to
     * be filled by {@link #complete}.
     */
    Answer open(Object[] results, int pending) {
        Answer a = new Answer(++frames, results, pending);
        answers.add(a);
        unanswered += results.length;
        if (unanswered > maxUnanswered && !throttled) {
            throttled = true;
        }
        return a;
    }

    /** Fills the slots {@code positions} of {@code a} with these outcomes, and writes what is ready. */
    void complete(Answer a, List<Integer> positions, List<String> ids, List<Outcome> outcomes) {
        for (int k = 0; k < positions.size(); k++) {
            a.results[positions.get(k)] = outcomes == null ? result(ids.get(k), null) : result(ids.get(k), outcomes.get(k));
        }
        a.missing = 0;
        flush();
    }

    /** The result of one record that had an outcome ({@code null}: it was refused, not appended). */
    Map<String, Object> result(String id, Outcome o) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("id", id);
        if (o instanceof Appended ap) {
            r.put("lid", ap.lid());
            r.put("host", ap.host());
        } else if (o instanceof Rejected rj) {
            r.put("error", "rejected: " + rj.reason());
        } else if (o == null) {
            r.put("error", "not appended: too many records are waiting for acknowledgement on this batcher;"
                    + " resend it (with the same id)");
        } else {
            r.put("error", "not confirmed in the log within " + timeoutMs + " ms; it may still be appended,"
                    + " and resending it with the same id is safe");
        }
        return r;
    }

    /** Writes the answers at the head that are complete, in order, then flushes once. */
    void flush() {
        boolean wrote = false;
        while (!answers.isEmpty()) {
            Answer a = answers.peek();
            if (a.ready == null) {
                if (a.missing > 0) {
                    break;
                }
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("frame", a.frame);
                body.put("results", a.results);
                a.ready = json(body);
                unanswered -= a.results.length;
            }
            answers.poll();
            if (channel.isActive()) {
                channel.write(Unpooled.wrappedBuffer(FrameEncoder.encode(a.type, a.ready)));
                wrote = true;
            }
        }
        if (wrote) {
            channel.flush();
        }
        if (throttled && unanswered <= maxUnanswered / 2) {
            throttled = false;
        }
    }

    /** Whether this connection must not be read now (too many unanswered records). */
    boolean throttled() {
        return throttled;
    }

    private static byte[] json(Object value) {
        try {
            return JSON.writeValueAsBytes(value);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot encode an answer", e);
        }
    }
}
