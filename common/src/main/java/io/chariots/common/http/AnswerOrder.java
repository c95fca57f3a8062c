package io.chariots.common.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpExpectationFailedEvent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

import java.util.ArrayDeque;

/**
 * HTTP/1.1 answers in request order: lets one request at a time through to
 * the handlers behind it, from its head until its final response is written
 * (whoever writes it: a route, or Netty's own 413 or 417), and holds what a
 * pipelining client sent after it until then, not reading the connection
 * meanwhile. Reading is paused only when a client pipelines: pausing and
 * resuming it costs two system calls (epoll_ctl), and a client that waits for
 * each answer needs neither.
 *
 * <p>Nothing after a request that ends the connection ({@code Connection:
 * close}) is taken, nor anything sent while a stream is open on the
 * connection (it ends only with the connection). One per connection, right
 * after the HTTP codec, on the connection's event loop.
 */
final class AnswerOrder extends ChannelDuplexHandler {
    /** Set on a connection from when a request is whole until its final response is written. */
    static final io.netty.util.AttributeKey<Boolean> ANSWERING = io.netty.util.AttributeKey.valueOf("chariots.http.answering");

    private final ArrayDeque<Object> held = new ArrayDeque<>();
    private boolean answering; // from a request's head until its final response is written
    private boolean receiving; // the request let through has parts still to come
    private boolean last;      // a request that ends the connection went through: nothing after it is taken

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Channel ch = ctx.channel();
        boolean head = msg instanceof HttpRequest;
        if (ch.attr(HttpServer.STREAMING).get() != null || (last && (head || !receiving))) {
            ReferenceCountUtil.release(msg);
        } else if (!held.isEmpty() || (head && (answering || receiving))) {
            held.add(msg);
            ch.config().setAutoRead(false);
        } else {
            pass(ctx, msg);
        }
    }

    private void pass(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest req) {
            answering = true;
            receiving = true;
            last = !HttpUtil.isKeepAlive(req);
        }
        if (msg instanceof LastHttpContent) {
            receiving = false;
            if (answering) { // the request is whole: from now on the time is the server's (EdgeGuard), not the client's
                ctx.channel().attr(ANSWERING).set(Boolean.TRUE);
            }
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        boolean informational = msg instanceof HttpResponse r && r.status().codeClass() == HttpStatusClass.INFORMATIONAL;
        boolean finished = msg instanceof LastHttpContent && !informational;
        if (msg instanceof HttpResponse && ctx.channel().attr(HttpServer.STREAMING).get() != null) {
            dropHeld(); // a stream ends only with its connection: nothing waiting will have its turn
        }
        if (finished && last) {
            // The answer to a request that ends the connection, even when Netty's own (a 413 or 417) would keep it.
            promise = promise.unvoid().addListener(ChannelFutureListener.CLOSE);
        }
        ctx.write(msg, promise);
        if (finished && answering) {
            answering = false;
            ctx.channel().attr(ANSWERING).set(null);
            // Not within the write: the next request's handler may answer at once, writing from inside it.
            ctx.executor().execute(() -> next(ctx));
        }
    }

    /** The request before is answered: lets the next one through (as much of it as was read), or resumes reading. */
    private void next(ChannelHandlerContext ctx) {
        Channel ch = ctx.channel();
        if (!ch.isActive() || last || ch.attr(HttpServer.STREAMING).get() != null) {
            dropHeld();
            return;
        }
        if (answering || receiving) {
            return;
        }
        if (!held.isEmpty()) {
            pass(ctx, held.poll()); // a head: held messages start with one
            while (!held.isEmpty() && !(held.peek() instanceof HttpRequest)) {
                pass(ctx, held.poll());
            }
        }
        if (held.isEmpty() && !ch.config().isAutoRead() && ch.attr(BodyBudget.WAITING).get() == null) {
            ch.config().setAutoRead(true);
            ch.read();
        }
    }

    private void dropHeld() {
        while (!held.isEmpty()) {
            ReferenceCountUtil.release(held.poll());
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof HttpExpectationFailedEvent) {
            receiving = false; // answered 417 and the decoder reset: that request's body will not come
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        dropHeld();
        ctx.fireChannelInactive();
    }
}
