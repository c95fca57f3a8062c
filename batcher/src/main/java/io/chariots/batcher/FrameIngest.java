package io.chariots.batcher;

import com.fasterxml.jackson.databind.JsonNode;
import io.chariots.common.acks.AppendWaiters.Outcome;
import io.chariots.common.frame.Frame;
import io.chariots.common.frame.FrameDecoder;
import io.chariots.common.frame.FrameException;
import io.chariots.common.record.EdgeStamp;
import io.chariots.common.record.LogRecord;
import io.chariots.common.record.RecordFormatException;
import io.chariots.common.record.RecordJson;
import io.chariots.proto.RecordEnvelope;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.chariots.common.auth.ClientToken;
import io.chariots.common.frame.FrameEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.util.AttributeKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Reads GoChariots frames from raw TCP clients on the Netty threads: parses
 * each record once, stamps it, and hands the good ones on. A record that does
 * not parse (or names a datacenter that does not exist) is counted, logged
 * with the peer's address, and skipped; the connection and every other record
 * live on. A broken frame (length 0 or above the maximum) closes that
 * connection only.
 *
 * <p>It never writes to a client that did not ask: GoChariots clients never
 * read, and must never stall. A client that sends an {@code 'A'} handshake
 * frame (payload: a JSON object such as {@code {"acks":1}}, optionally with
 * {@code "timeout_ms"}: how long the client wants a record waited for, at
 * most {@code batcher.ack_timeout_ms}) is answered with
 * {@code 'A'} {@code {"acks":1,"timeout_ms":N}}, and from then on every one
 * of its {@code 'r'}/{@code 's'} frames gets one {@code 'a'} answer once its
 * records are persisted and indexed (see {@link AckedConnection}); its records
 * carry this batcher's gRPC address as {@code ack_to}. With client tokens
 * required ({@link ClientToken}), a connection's first frame must be that
 * handshake carrying {@code "token"} ({@code "acks":0} for a client that
 * reads nothing); any other frame first, or a wrong token, closes it.
 */
@ChannelHandler.Sharable
final class FrameIngest extends SimpleChannelInboundHandler<Frame> {
    private static final Logger LOG = LoggerFactory.getLogger(FrameIngest.class);

    /** Where parsed records go (the batcher's loop). */
    interface Pipeline {
        /** Records nobody waits for. */
        void add(List<RecordEnvelope> records);

        /**
         * Records whose client waits, for at most {@code timeoutMs}: {@code done}
         * runs once (on any thread) with an outcome per record, parallel to
         * {@code ids}, or with null when too many records wait already (then
         * they were not added).
         */
        void addAwaited(List<RecordEnvelope> records, List<String> ids, long timeoutMs, Consumer<List<Outcome>> done);

        /** Whether the pipeline's loop is too far behind to be handed more now (see {@code EventLoop#behind}). */
        default boolean behind() {
            return false;
        }

        /** Runs {@code then} (on any thread) once the loop has caught up. */
        default void whenCaughtUp(Runnable then) {
            then.run();
        }
    }

    /** Settings of the acknowledged mode. */
    record AckMode(int maxUnanswered, long timeoutMs) {
    }

    private static final AttributeKey<AckedConnection> ACKED = AttributeKey.valueOf("chariots.acked");
    /** Set once a connection showed a good client token (only when tokens are required). */
    private static final AttributeKey<Boolean> TOKEN_SHOWN = AttributeKey.valueOf("chariots.token");

    private final EdgeStamp stamp;
    private final Pipeline sink;
    private final AckMode ackMode;
    private final int maxFrameRecords;
    private volatile String ackTo = "";
    private final ChannelGroup channels;
    private final Counter frames;
    private final Counter records;
    private final Counter rejected;
    private final Counter unknownFrames;
    private final Counter brokenConnections;
    private final Counter oversizedFrames;
    private final Counter ackedConnections;
    private final Counter loopBehindPauses;
    private final AtomicLong logged = new AtomicLong();
    private volatile boolean closing;
    private volatile boolean paused;
    private final java.util.concurrent.atomic.AtomicBoolean loopBehind = new java.util.concurrent.atomic.AtomicBoolean();
    private final ClientToken clientToken;

    /**
     * @param maxFrameRecords records an {@code 's'} frame may carry ({@code batcher.max_frame_records})
     * @param clientToken     the tokens a connection must show first, or null when clients need none
     */
    FrameIngest(EdgeStamp stamp, Pipeline sink, AckMode ackMode, int maxFrameRecords, ChannelGroup channels,
                MeterRegistry meters, ClientToken clientToken) {
        this.clientToken = clientToken;
        this.stamp = stamp;
        this.sink = sink;
        this.ackMode = ackMode;
        this.maxFrameRecords = maxFrameRecords;
        this.channels = channels;
        this.frames = Counter.builder("chariots_batcher_frames_total").register(meters);
        this.records = Counter.builder("chariots_batcher_records_received_total").tag("via", "tcp").register(meters);
        this.rejected = Counter.builder("chariots_batcher_records_rejected_total").tag("via", "tcp")
                .description("Records that did not parse or were invalid; skipped").register(meters);
        this.unknownFrames = Counter.builder("chariots_batcher_unknown_frames_total").register(meters);
        this.brokenConnections = Counter.builder("chariots_batcher_connections_closed_for_bad_frames_total").register(meters);
        this.oversizedFrames = Counter.builder("chariots_batcher_frames_over_record_limit_total")
                .description("'s' frames rejected whole for carrying more than batcher.max_frame_records").register(meters);
        this.loopBehindPauses = Counter.builder("chariots_batcher_loop_behind_pauses_total")
                .description("Times raw TCP reading paused because the batcher's event loop was behind "
                        + "(loop_max_queued_tasks)").register(meters);
        this.ackedConnections = Counter.builder("chariots_batcher_acked_connections_total")
                .description("Connections that asked for acknowledgements ('A' handshake)").register(meters);
    }

    /** This batcher's gRPC address, where maintainers send the notices of acknowledged-mode records. */
    void ackTo(String address) {
        ackTo = address;
    }

    /**
     * Pauses or resumes reading on every connection (backpressure from the
     * assembler, called on its thread). Each connection's reading is decided
     * on its own event loop only: decided here as well, a decision computed
     * from the old state on the event loop could land after this one and
     * leave a connection paused with nothing left to resume it (a GoChariots
     * client is never written to, so no writability change would).
     */
    void paused(boolean p) {
        paused = p;
        channels.forEach(ch -> ch.eventLoop().execute(() -> resume(ch)));
        if (p) {
            LOG.info("pipeline full: pausing reads on {} connection(s)", channels.size());
        } else {
            LOG.info("pipeline drained: resuming reads");
        }
    }

    /**
     * A clean stop: no connection is read from now on (what was read is
     * handed on; acknowledged clients still get their answers), so the
     * batcher can drain and close.
     */
    void stopReading() {
        closing = true;
        channels.forEach(ch -> ch.eventLoop().execute(() -> updateAutoRead(ch)));
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        channels.add(ctx.channel());
        updateAutoRead(ctx.channel());
        ctx.fireChannelActive();
    }

    /** Whether the pipeline takes a large frame's records now: not full, its loop not behind. */
    boolean room() {
        return !paused && !loopBehind.get();
    }

    /** Decides {@code ch}'s reading again, and lets a large frame it holds whole go down if there is room now. */
    private void resume(Channel ch) {
        updateAutoRead(ch);
        if (room()) {
            ch.pipeline().fireUserEventTriggered(FrameDecoder.Resume.INSTANCE);
        }
    }

    /**
     * Reads a connection only while the pipeline is not full nor its loop behind, its next frame is
     * not waiting for the port's byte budget, and, for an
     * acknowledged one, while its answers drain (few unanswered records, and
     * a client that reads what is written). Runs on the connection's event
     * loop, always: it decides from the current state, so the last decision
     * made is the right one.
     */
    private void updateAutoRead(Channel ch) {
        AckedConnection acked = ch.attr(ACKED).get();
        boolean read = !paused && !closing && !loopBehind.get() && !Boolean.TRUE.equals(ch.attr(FrameDecoder.WAITING_FOR_BUDGET).get())
                && (acked == null || (!acked.throttled() && ch.isWritable()));
        if (ch.config().isAutoRead() != read) {
            ch.config().setAutoRead(read);
        }
    }

    /**
     * Whether the batcher itself keeps {@code ch} from being read now (its
     * pipeline is full, it is stopping, the frame waits for the byte budget,
     * or its acknowledgements are not yet answered) — as opposed to a client
     * that stops reading what it is sent. On the connection's event loop.
     */
    boolean serverHolds(Channel ch) {
        if (ch.config().isAutoRead()) {
            return false;
        }
        AckedConnection acked = ch.attr(ACKED).get();
        return paused || closing || loopBehind.get() || Boolean.TRUE.equals(ch.attr(FrameDecoder.WAITING_FOR_BUDGET).get())
                || acked != null && ch.isWritable();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof FrameDecoder.BudgetChanged) {
            updateAutoRead(ctx.channel());
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        updateAutoRead(ctx.channel());
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Frame frame) {
        frames.increment();
        byte type = frame.type();
        if (type == AckedConnection.HANDSHAKE) {
            handshake(ctx, frame);
            return;
        }
        if (clientToken != null && ctx.channel().attr(TOKEN_SHOWN).get() == null) {
            // Nothing of a connection is taken before its token: the frame is dropped and the connection closed.
            clientToken.refused("tcp", "missing", "a " + Frame.describeType(type) + " frame sent before a client token",
                    ctx.channel().remoteAddress());
            ctx.close();
            return;
        }
        if (type != Frame.RECORD && type != Frame.RECORDS) {
            unknownFrames.increment();
            report(ctx, "frame of unknown type " + Frame.describeType(type) + " skipped (expected 'r' or 's')");
            return;
        }
        ByteBuf p = frame.payload();
        byte[] json;
        int off;
        int len = p.readableBytes();
        if (p.hasArray()) {
            json = p.array();
            off = p.arrayOffset() + p.readerIndex();
        } else {
            json = ByteBufUtil.getBytes(p);
            off = 0;
        }
        long now = System.currentTimeMillis();
        AckedConnection acked = ctx.channel().attr(ACKED).get();
        if (acked != null) {
            readAcked(ctx, acked, type, json, off, len, now);
            return;
        }
        List<RecordEnvelope> out;
        try {
            if (type == Frame.RECORD) {
                out = new ArrayList<>(1);
                LogRecord r = RecordJson.readRecord(json, off, len);
                out.add(stamp.stamp(r, now));
            } else {
                RecordJson.Parsed parsed = RecordJson.readRecords(json, off, len, maxFrameRecords);
                out = new ArrayList<>(parsed.records().size());
                for (RecordFormatException e : parsed.rejected()) {
                    rejected.increment();
                    report(ctx, "record rejected: " + e.getMessage());
                }
                for (int i = 0; i < parsed.records().size(); i++) {
                    try {
                        out.add(stamp.stamp(parsed.records().get(i), now));
                    } catch (RecordFormatException e) {
                        rejected.increment();
                        report(ctx, "record rejected: " + e.getMessage());
                    }
                }
            }
        } catch (RecordFormatException e) {
            rejectedWhole(ctx, e);
            return;
        }
        if (!out.isEmpty()) {
            records.increment(out.size());
            sink.add(out);
            checkLoop(ctx.channel());
        }
    }

    /**
     * A frame was handed to the loop: if the loop is behind, no connection is
     * read (each hands it at most the frame it was decoding) until it has
     * caught up.
     */
    private void checkLoop(Channel ch) {
        if (sink.behind() && loopBehind.compareAndSet(false, true)) {
            loopBehindPauses.increment();
            LOG.debug("event loop behind: pausing reads on {} connection(s)", channels.size());
            channels.forEach(c -> c.eventLoop().execute(() -> updateAutoRead(c)));
            sink.whenCaughtUp(() -> {
                loopBehind.set(false);
                channels.forEach(c -> c.eventLoop().execute(() -> resume(c)));
            });
        }
        updateAutoRead(ch);
    }

    private void handshake(ChannelHandlerContext ctx, Frame frame) {
        JsonNode asked;
        try {
            asked = AckedConnection.JSON.readTree(ByteBufUtil.getBytes(frame.payload()));
        } catch (IOException e) {
            asked = null;
        }
        if (asked == null || !asked.isObject()) {
            if (clientToken != null && ctx.channel().attr(TOKEN_SHOWN).get() == null) {
                clientToken.refused("tcp", "missing", "a handshake that is no JSON object", ctx.channel().remoteAddress());
                ctx.close();
                return;
            }
            report(ctx, "handshake ('A' frame) ignored: its payload must be a JSON object such as {\"acks\":1}");
            return;
        }
        boolean wantsAcks = !(asked.has("acks") && asked.path("acks").asInt(1) == 0);
        if (clientToken != null && ctx.channel().attr(TOKEN_SHOWN).get() == null) {
            JsonNode t = asked.path("token");
            String problem = clientToken.problem(t.isTextual() ? t.asText() : null);
            if (problem != null) {
                clientToken.refused("tcp", problem, "a connection", ctx.channel().remoteAddress());
                String why = "refused: " + (problem.equals("missing") ? "no client token" : "a wrong client token")
                        + "; send {\"acks\":0|1,\"token\":\"TOKEN\"} in the first 'A' frame";
                if (wantsAcks) {
                    ctx.writeAndFlush(Unpooled.wrappedBuffer(FrameEncoder.encode(AckedConnection.HANDSHAKE,
                            AckedConnection.JSON.createObjectNode().put("error", why).toString()
                                    .getBytes(java.nio.charset.StandardCharsets.UTF_8)))).addListener(ChannelFutureListener.CLOSE);
                } else {
                    ctx.close();
                }
                return;
            }
            ctx.channel().attr(TOKEN_SHOWN).set(Boolean.TRUE);
        }
        if (!wantsAcks) {
            return; // {"acks":0}: a token only; this client reads nothing
        }
        long timeoutMs = ackMode.timeoutMs();
        JsonNode wanted = asked.path("timeout_ms");
        if (!wanted.isMissingNode()) {
            if (wanted.canConvertToLong() && wanted.isIntegralNumber() && wanted.asLong() > 0) {
                timeoutMs = Math.min(timeoutMs, wanted.asLong());
            } else {
                report(ctx, "handshake ('A' frame): timeout_ms must be a positive whole number of milliseconds, not "
                        + wanted + "; using " + timeoutMs);
            }
        }
        Channel ch = ctx.channel();
        AckedConnection acked = ch.attr(ACKED).get();
        if (acked == null) {
            acked = new AckedConnection(ch, ackMode.maxUnanswered());
            ch.attr(ACKED).set(acked);
            ackedConnections.increment();
        }
        acked.handshake(timeoutMs);
    }

    /**
     * An {@code 'r'}/{@code 's'} frame on an acknowledged connection: every
     * record gets a result slot, in frame order; the good ones go to the
     * pipeline with this batcher as {@code ack_to}, and the frame's answer is
     * written when their outcomes are known (and the answers before it).
     */
    private void readAcked(ChannelHandlerContext ctx, AckedConnection acked, byte type, byte[] json, int off, int len,
                           long now) {
        Object[] results;
        List<RecordEnvelope> out = new ArrayList<>();
        List<Integer> positions = new ArrayList<>();
        try {
            if (type == Frame.RECORD) {
                results = new Object[1];
                addAcked(ctx, results, 0, RecordJson.readRecord(json, off, len), now, out, positions);
            } else {
                RecordJson.Parsed parsed = RecordJson.readRecords(json, off, len, maxFrameRecords);
                results = new Object[parsed.records().size() + parsed.rejected().size()];
                int good = 0;
                int bad = 0;
                for (int i = 0; i < results.length; i++) {
                    RecordFormatException e = bad < parsed.rejected().size() ? parsed.rejected().get(bad) : null;
                    if (e != null && (e.index() == i || good == parsed.records().size())) {
                        bad++;
                        rejected.increment();
                        report(ctx, "record rejected: " + e.getMessage());
                        results[i] = parseError(i, e);
                    } else {
                        addAcked(ctx, results, i, parsed.records().get(good++), now, out, positions);
                    }
                }
            }
        } catch (RecordFormatException e) {
            String why = rejectedWhole(ctx, e);
            Map<String, Object> r = new LinkedHashMap<>();
            if (type == Frame.RECORD) {
                r.put("index", 0);
            }
            r.put("error", why);
            results = new Object[] {r};
        }
        AckedConnection.Answer answer = acked.open(results, out.isEmpty() ? 0 : 1);
        if (out.isEmpty()) {
            acked.flush();
        } else {
            records.increment(out.size());
            List<String> ids = new ArrayList<>(out.size());
            for (RecordEnvelope e : out) {
                ids.add(e.getId());
            }
            Channel ch = ctx.channel();
            sink.addAwaited(out, ids, acked.timeoutMs(), outcomes -> ch.eventLoop().execute(() -> {
                acked.complete(answer, positions, ids, outcomes);
                updateAutoRead(ch);
            }));
        }
        checkLoop(ctx.channel());
    }

    /** Counts and reports a frame none of whose records was taken; returns what its client is told. */
    private String rejectedWhole(ChannelHandlerContext ctx, RecordFormatException e) {
        if (e.limit() > 0) {
            oversizedFrames.increment();
            String why = "frame rejected, nothing of it appended: more than " + e.limit() + " records; at most "
                    + e.limit() + " per frame (batcher.max_frame_records): split it";
            report(ctx, why);
            return why;
        }
        rejected.increment();
        report(ctx, "record rejected: " + e.getMessage());
        return e.getMessage();
    }

    private void addAcked(ChannelHandlerContext ctx, Object[] results, int i, LogRecord r, long now,
                          List<RecordEnvelope> out, List<Integer> positions) {
        try {
            out.add(stamp.stamp(r, now, ackTo));
            positions.add(i);
        } catch (RecordFormatException e) {
            rejected.increment();
            report(ctx, "record rejected: " + e.getMessage());
            results[i] = parseError(i, e);
        }
    }

    private static Map<String, Object> parseError(int index, RecordFormatException e) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("index", index);
        r.put("error", e.getMessage());
        return r;
    }

    private void report(ChannelHandlerContext ctx, String what) {
        long n = logged.incrementAndGet();
        if (n <= 100 || n % 1000 == 0) {
            LOG.warn("{} from {}{}", what, ctx.channel().remoteAddress(), n == 100 ? " (further reports sampled)" : "");
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause instanceof io.netty.handler.codec.DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (c instanceof io.netty.handler.ssl.NotSslRecordException) {
            report(ctx, "connection closed: it did not start TLS (this port serves TLS only: tls.edges)");
        } else if (c instanceof javax.net.ssl.SSLException) {
            report(ctx, "connection closed: TLS failed: " + c.getMessage());
        } else if (c instanceof FrameException fe) {
            brokenConnections.increment();
            LOG.warn("closing {}: {}", ctx.channel().remoteAddress(), fe.getMessage());
        } else if (!(c instanceof IOException)) {
            LOG.warn("closing {}: {}", ctx.channel().remoteAddress(), c.toString());
        }
        ctx.close();
    }
}
