package io.chariots.common.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;

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

    ChunkedResponse(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /**
     * Sends one chunk; {@code whenWritten} runs (on a Netty thread) once it is
     * written to the socket. If the write fails the connection is closed and
     * {@code whenWritten} does not run: {@link #onClose} callbacks do.
     */
    public void write(byte[] chunk, Runnable whenWritten) {
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

    /**
     * Breaks the response off: closes the connection without the last chunk,
     * so the client sees a cut stream (and resumes from what it got), never a
     * clean end it could take for the end of the data.
     */
    public void abort() {
        ctx.channel().close();
    }
}
