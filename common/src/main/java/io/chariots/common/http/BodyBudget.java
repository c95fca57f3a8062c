package io.chariots.common.http;

import io.chariots.common.frame.ByteBudget;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

import java.util.ArrayDeque;

/**
 * Holds a connection's request bodies to the port's shared {@link ByteBudget}
 * ({@code http.max_buffered_bytes}): when a request's headers arrive, its
 * whole body (its Content-Length; the largest allowed body when it is sent
 * chunked) is reserved before any of it is read. A request that does not fit
 * waits — its connection is not read, and what was already read of it is held
 * — until others are answered. The reservation travels with the request to
 * the dispatcher, which gives it back once the request is answered (or here,
 * if its connection closes before the request is whole). So however many
 * connections send the largest body at once, the bodies held stay within the
 * budget plus one socket read per connection; and since a request reserves all
 * it needs at once, two half-read requests can never wait on each other.
 * One per connection, on its event loop, between the HTTP codec and the
 * aggregator.
 */
final class BodyBudget extends ChannelInboundHandlerAdapter {
    /**
     * Carries a request's reservation from here to the dispatcher, which gives
     * it back when the request is answered; set only here (a client's own is removed).
     */
    static final String RESERVED = "x-chariots-body-reserved";
    /** Set on a connection while its request waits for the budget: nothing may resume its reading but this. */
    static final io.netty.util.AttributeKey<Boolean> WAITING = io.netty.util.AttributeKey.valueOf("chariots.http.budget.waiting");

    private final ByteBudget budget;
    private final long maxBody;
    private final ArrayDeque<Object> held = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    /** Reserved for the request whose body is being read (not yet handed to the dispatcher). */
    private long receiving;
    private long receivedBytes;
    /** What the held request waits to reserve; 0 when not waiting. */
    private long wanted;
    private final Runnable wake = () -> {
        ChannelHandlerContext c = ctx;
        if (c != null) {
            c.channel().eventLoop().execute(this::retry);
        }
    };

    BodyBudget(ByteBudget budget, long maxBody) {
        this.budget = budget;
        this.maxBody = maxBody;
    }

    /** The reservation {@code headers} carry (removing it), to give back once the request is answered. */
    static long takeReservation(io.netty.handler.codec.http.HttpHeaders headers) {
        String r = headers.get(RESERVED);
        headers.remove(RESERVED);
        return r == null ? 0 : Long.parseLong(r);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (wanted > 0) {
            held.add(msg);
            return;
        }
        if (msg instanceof HttpRequest req) {
            req.headers().remove(RESERVED);
            receivedBytes = 0;
            long n;
            try {
                n = HttpUtil.isTransferEncodingChunked(req) ? maxBody : HttpUtil.getContentLength(req, 0L);
            } catch (NumberFormatException badLength) {
                n = 0; // the decoder has marked the request malformed: it is answered 400 without a body
            }
            if (!req.decoderResult().isSuccess() || unsupportedExpectation(req)) {
                // Answered 400 or (by Netty's aggregator) 417 without its body, which the dispatcher may never see.
                n = 0;
            }
            if (n > 0 && n <= maxBody) { // larger: the aggregator answers 413 without reading it
                if (!budget.reserve(n, wake)) {
                    wanted = n;
                    held.add(msg);
                    ctx.channel().attr(WAITING).set(Boolean.TRUE);
                    ctx.channel().config().setAutoRead(false);
                    return;
                }
                receiving = n;
                req.headers().set(RESERVED, Long.toString(n));
            }
        }
        if (msg instanceof HttpContent c) {
            receivedBytes += c.content().readableBytes();
            if (msg instanceof LastHttpContent && receiving > 0) {
                if (receivedBytes > maxBody) {
                    budget.release(receiving); // the aggregator drops it (413): the dispatcher never sees it
                }
                receiving = 0; // else the dispatcher gives it back once it is answered
            }
        }
        ctx.fireChannelRead(msg);
    }

    /** As Netty's aggregator decides to answer 417: an {@code Expect} other than 100-continue, from HTTP/1.1 on. */
    private static boolean unsupportedExpectation(HttpRequest req) {
        String expect = req.headers().get(HttpHeaderNames.EXPECT);
        return expect != null && req.protocolVersion().compareTo(HttpVersion.HTTP_1_1) >= 0
                && !HttpHeaderValues.CONTINUE.contentEqualsIgnoreCase(expect);
    }

    private void retry() {
        if (wanted == 0 || !ctx.channel().isActive() || !budget.reserve(wanted, wake)) {
            return;
        }
        HttpRequest req = (HttpRequest) held.poll();
        receiving = wanted;
        wanted = 0;
        req.headers().set(RESERVED, Long.toString(receiving));
        ctx.fireChannelRead(req);
        while (wanted == 0 && !held.isEmpty()) {
            channelRead(ctx, held.poll());
        }
        if (wanted == 0) {
            // Reading resumes; the dispatcher stops it again while it answers the request.
            ctx.channel().attr(WAITING).set(null);
            ctx.channel().config().setAutoRead(true);
            ctx.read();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        budget.cancel(wake);
        wanted = 0;
        held.forEach(ReferenceCountUtil::release);
        held.clear();
        budget.release(receiving);
        receiving = 0;
        ctx.fireChannelInactive();
    }
}
