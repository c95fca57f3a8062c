package io.chariots.batcher;

import io.chariots.common.frame.Frame;
import io.chariots.common.frame.FrameException;
import io.chariots.common.record.EdgeStamp;
import io.chariots.common.record.LogRecord;
import io.chariots.common.record.RecordFormatException;
import io.chariots.common.record.RecordJson;
import io.chariots.proto.RecordEnvelope;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Reads GoChariots frames from raw TCP clients on the Netty threads: parses
 * each record once, stamps it, and hands the good ones on. A record that does
 * not parse (or names a datacenter that does not exist) is counted, logged
 * with the peer's address, and skipped; the connection and every other record
 * live on. A broken frame (length 0 or above the maximum) closes that
 * connection only. It never writes to the client: GoChariots clients never
 * read, and must never stall.
 */
@ChannelHandler.Sharable
final class FrameIngest extends SimpleChannelInboundHandler<Frame> {
    private static final Logger LOG = LoggerFactory.getLogger(FrameIngest.class);

    private final EdgeStamp stamp;
    private final Consumer<List<RecordEnvelope>> sink;
    private final ChannelGroup channels;
    private final Counter frames;
    private final Counter records;
    private final Counter rejected;
    private final Counter unknownFrames;
    private final Counter brokenConnections;
    private final AtomicLong logged = new AtomicLong();
    private volatile boolean paused;

    FrameIngest(EdgeStamp stamp, Consumer<List<RecordEnvelope>> sink, ChannelGroup channels, MeterRegistry meters) {
        this.stamp = stamp;
        this.sink = sink;
        this.channels = channels;
        this.frames = Counter.builder("chariots_batcher_frames_total").register(meters);
        this.records = Counter.builder("chariots_batcher_records_received_total").tag("via", "tcp").register(meters);
        this.rejected = Counter.builder("chariots_batcher_records_rejected_total").tag("via", "tcp")
                .description("Records that did not parse or were invalid; skipped").register(meters);
        this.unknownFrames = Counter.builder("chariots_batcher_unknown_frames_total").register(meters);
        this.brokenConnections = Counter.builder("chariots_batcher_connections_closed_for_bad_frames_total").register(meters);
    }

    /** Pauses or resumes reading on every connection (backpressure from the assembler). */
    void paused(boolean p) {
        paused = p;
        channels.forEach(ch -> ch.config().setAutoRead(!p));
        if (p) {
            LOG.info("pipeline full: pausing reads on {} connection(s)", channels.size());
        } else {
            LOG.info("pipeline drained: resuming reads");
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        channels.add(ctx.channel());
        if (paused) {
            ctx.channel().config().setAutoRead(false);
        }
        ctx.fireChannelActive();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Frame frame) {
        frames.increment();
        byte type = frame.type();
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
        List<RecordEnvelope> out;
        try {
            if (type == Frame.RECORD) {
                out = new ArrayList<>(1);
                LogRecord r = RecordJson.readRecord(json, off, len);
                out.add(stamp.stamp(r, now));
            } else {
                RecordJson.Parsed parsed = RecordJson.readRecords(json, off, len);
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
            rejected.increment();
            report(ctx, "record rejected: " + e.getMessage());
            return;
        }
        if (!out.isEmpty()) {
            records.increment(out.size());
            sink.accept(out);
        }
    }

    private void report(ChannelHandlerContext ctx, String what) {
        long n = logged.incrementAndGet();
        if (n <= 100 || n % 1000 == 0) {
            LOG.warn("{} from {}{}", what, ctx.channel().remoteAddress(), n == 100 ? " (further reports sampled)" : "");
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause;
        if (c instanceof FrameException fe) {
            brokenConnections.increment();
            LOG.warn("closing {}: {}", ctx.channel().remoteAddress(), fe.getMessage());
        } else if (!(c instanceof IOException)) {
            LOG.warn("closing {}: {}", ctx.channel().remoteAddress(), c.toString());
        }
        ctx.close();
    }
}
