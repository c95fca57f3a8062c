package io.chariots.common.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.LastHttpContent;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A response sent in chunks as it is produced (Server-Sent Events, JSON
 * lines), started by {@link HttpExchange#stream}. Any thread may write.
 *
 * <p>Flow control is the caller's: {@link #write} runs its callback once the
 * chunk has reached the socket, so a producer that writes its next chunk only
 * from that callback holds at most one chunk per slow client, and a client
 * that stops reading stops its producer, not anyone else.
 */
public final class ChunkedResponse {
    private final ChannelHandlerContext ctx;
    private final boolean keepAlive;
    private final Runnable onEnded;
    private final AtomicBoolean ended = new AtomicBoolean();

    ChunkedResponse(ChannelHandlerContext ctx, boolean keepAlive, Runnable onEnded) {
        this.ctx = ctx;
        this.keepAlive = keepAlive;
        this.onEnded = onEnded;
    }

    /** Whether the client is still connected and the response not ended. */
    public boolean open() {
        return !ended.get() && ctx.channel().isActive();
    }

    /**
     * Sends one chunk; {@code whenWritten} runs (on a Netty thread) once it is
     * written to the socket. If the write fails the connection is closed and
     * {@code whenWritten} does not run: {@link #onClose} callbacks do.
     */
    public void write(byte[] chunk, Runnable whenWritten) {
        if (ended.get()) {
            return;
        }
        ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(chunk))).addListener((ChannelFutureListener) f -> {
            if (f.isSuccess()) {
                whenWritten.run();
            } else {
                f.channel().close();
            }
        });
    }

    /** Runs {@code action} once the connection closes, for whatever reason (at once if it already has). */
    public void onClose(Runnable action) {
        ctx.channel().closeFuture().addListener(f -> action.run());
    }

    /** Ends the response; the connection stays open for further requests if the client keeps it alive. */
    public void end() {
        if (!ended.compareAndSet(false, true)) {
            return;
        }
        if (keepAlive) {
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            onEnded.run();
        } else {
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
