package io.chariots.common.net;

import io.chariots.common.config.Settings;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Keeps one listening edge (the batcher's raw TCP port, an HTTP port) within
 * bounds whatever its clients do: at most {@code max_connections} open (one
 * more is closed at once, counted and logged with its peer); a connection
 * idle for {@code idle_timeout} is closed; one that began a message (a frame,
 * a request) and has not completed it within {@code message_timeout} is
 * closed (slowloris). Time during which the role itself holds the
 * connection (backpressure, a request being answered, a stream being sent:
 * the server says which) does not count against the client; a client that
 * stops reading what it is sent does not hold the clock.
 *
 * <p>Two handlers: {@link #first()} goes first in the pipeline and sees the
 * bytes; {@link #completed()} goes after the decoder and sees each whole
 * message.
 */
public final class EdgeGuard {
    private static final Logger LOG = LoggerFactory.getLogger(EdgeGuard.class);
    private static final AttributeKey<Watch> WATCH = AttributeKey.valueOf("chariots.edge.watch");

    /**
     * Bounds of one edge, validated once at start.
     *
     * @param maxConnections connections open at once; {@code PREFIX.max_connections}
     * @param idleTimeout    a connection sending nothing for this long (while it is read) is closed; {@code PREFIX.idle_timeout_ms}
     * @param messageTimeout a message begun must be complete within this (while it is read); {@code PREFIX.MESSAGE_timeout_ms}
     */
    public record Limits(int maxConnections, Duration idleTimeout, Duration messageTimeout) {
        /**
         * Reads {@code prefix.max_connections}, {@code prefix.idle_timeout_ms} and
         * {@code prefix.<message>_timeout_ms} (e.g. {@code batcher.frame_timeout_ms}).
         */
        public static Limits from(Settings s, String prefix, String message, int maxConnections, Duration idle,
                                  Duration messageTimeout) {
            return new Limits(s.getInt(prefix + ".max_connections", maxConnections, 1, 1_000_000),
                    Duration.ofMillis(s.getLong(prefix + ".idle_timeout_ms", idle.toMillis(), 100, 86_400_000L)),
                    Duration.ofMillis(s.getLong(prefix + "." + message + "_timeout_ms", messageTimeout.toMillis(), 100,
                            86_400_000L)));
        }
    }

    private final String edge;
    private final String keys;
    private final String message;
    private final Limits limits;
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicLong logged = new AtomicLong();
    private final Counter refused;
    private final Counter closedIdle;
    private final Counter closedStalled;
    private final java.util.function.Predicate<Channel> serverHolds;
    private final ChannelHandler first = new First();
    private final ChannelHandler completed = new Completed();

    /**
     * @param edge    what the edge is, for metrics and logs ("tcp", "http")
     * @param keys    the settings prefix its limits come from, named in logs ("batcher", "http")
     * @param message what one message is called there ("frame", "request")
     * @param serverHolds whether the role itself keeps the connection waiting now (not read for its own reasons,
     *                    or answering it): that time is not the client's (called on the connection's event loop)
     */
    public EdgeGuard(String edge, String keys, String message, Limits limits,
                     java.util.function.Predicate<Channel> serverHolds, MeterRegistry meters) {
        this.serverHolds = serverHolds;
        this.edge = edge;
        this.keys = keys;
        this.message = message;
        this.limits = limits;
        this.refused = Counter.builder("chariots_edge_connections_refused_total").tag("edge", edge)
                .description("Connections closed at once: " + keys + ".max_connections were open").register(meters);
        this.closedIdle = Counter.builder("chariots_edge_connections_closed_idle_total").tag("edge", edge)
                .description("Connections closed after " + keys + ".idle_timeout_ms without a byte").register(meters);
        this.closedStalled = Counter.builder("chariots_edge_connections_closed_stalled_total").tag("edge", edge)
                .description("Connections closed with a " + message + " begun and not completed within "
                        + keys + "." + message + "_timeout_ms").register(meters);
        Gauge.builder("chariots_edge_connections_open", open, AtomicInteger::get).tag("edge", edge)
                .description("Connections open now").register(meters);
    }

    /** Goes first in each connection's pipeline. Sharable. */
    public ChannelHandler first() {
        return first;
    }

    /** Goes right after the decoder: sees each whole message. Sharable. */
    public ChannelHandler completed() {
        return completed;
    }

    /** Connections open now. */
    public int open() {
        return open.get();
    }

    public Limits limits() {
        return limits;
    }

    /** Per connection, on its event loop. */
    private static final class Watch {
        long lastRead;
        long partialSince; // 0: no message begun
        ScheduledFuture<?> check;
    }

    @ChannelHandler.Sharable
    private final class First extends ChannelDuplexHandler {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            Channel ch = ctx.channel();
            if (open.incrementAndGet() > limits.maxConnections()) {
                open.decrementAndGet();
                refused.increment();
                report("refusing a connection from " + ch.remoteAddress() + ": " + limits.maxConnections()
                        + " are open, the most this " + edge + " port takes (" + keys + ".max_connections)");
                ch.close();
                return; // never active upstream: nothing of it is read
            }
            Watch w = new Watch();
            w.lastRead = System.nanoTime();
            ch.attr(WATCH).set(w);
            long period = Math.max(50, Math.min(1000, Math.min(limits.idleTimeout().toMillis(),
                    limits.messageTimeout().toMillis()) / 4));
            w.check = ch.eventLoop().scheduleAtFixedRate(() -> check(ch, w), period, period, TimeUnit.MILLISECONDS);
            ctx.fireChannelActive();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            Watch w = ctx.channel().attr(WATCH).getAndSet(null);
            if (w != null) {
                w.check.cancel(false);
                open.decrementAndGet();
                ctx.fireChannelInactive();
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Watch w = ctx.channel().attr(WATCH).get();
            if (w == null) {
                io.netty.util.ReferenceCountUtil.release(msg); // a refused connection
                return;
            }
            if (msg instanceof ByteBuf b && b.isReadable()) {
                long now = System.nanoTime();
                w.lastRead = now;
                if (w.partialSince == 0) {
                    w.partialSince = now;
                }
            }
            ctx.fireChannelRead(msg);
        }
    }

    @ChannelHandler.Sharable
    private final class Completed extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Watch w = ctx.channel().attr(WATCH).get();
            if (w != null) {
                w.partialSince = 0;
            }
            ctx.fireChannelRead(msg);
        }
    }

    private void check(Channel ch, Watch w) {
        long now = System.nanoTime();
        if (!ch.isActive()) {
            w.check.cancel(false);
            return;
        }
        if (serverHolds.test(ch)) {
            // The role keeps it waiting (backpressure, a request being answered, a stream): not the client's time.
            w.lastRead = now;
            if (w.partialSince != 0) {
                w.partialSince = now;
            }
            return;
        }
        if (w.partialSince != 0 && now - w.partialSince >= limits.messageTimeout().toNanos()) {
            closedStalled.increment();
            report("closing " + ch.remoteAddress() + ": a " + message + " begun " + (now - w.partialSince) / 1_000_000
                    + " ms ago is not complete (" + keys + "." + message + "_timeout_ms is "
                    + limits.messageTimeout().toMillis() + ")");
            ch.close();
        } else if (now - w.lastRead >= limits.idleTimeout().toNanos()) {
            closedIdle.increment();
            LOG.debug("closing {}: idle for {} ms ({}.idle_timeout_ms)", ch.remoteAddress(), (now - w.lastRead) / 1_000_000, keys);
            ch.close();
        }
    }

    private void report(String what) {
        long n = logged.incrementAndGet();
        if (n <= 100 || n % 1000 == 0) {
            LOG.warn("{}{}", what, n == 100 ? " (further reports sampled)" : "");
        }
    }
}
