package io.chariots.common.frame;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.AttributeKey;

import java.util.List;

/**
 * Splits a byte stream into {@link Frame}s. Checks each header before
 * buffering its body, so a client claiming a huge length costs nothing: it
 * gets a {@link FrameException} (and its connection closed by the handler)
 * as soon as the 4 length bytes arrive. After an error the rest of the stream
 * is discarded unread.
 *
 * <p>With a {@link ByteBudget}, each frame's length ({@link ByteBudget#holdFor}:
 * more for a large frame, for its parse) is reserved from it when
 * its header arrives, before its body is buffered, and given back once the
 * frame went down the pipeline. While the budget is spent the connection is
 * marked {@link #WAITING_FOR_BUDGET} and a {@link BudgetChanged} event goes
 * down the pipeline: whoever decides the channel's auto-read stops reading it,
 * and resumes on the next event.
 */
public final class FrameDecoder extends ByteToMessageDecoder {
    /** Set on a connection while its next frame waits for the byte budget: do not read it. */
    public static final AttributeKey<Boolean> WAITING_FOR_BUDGET = AttributeKey.valueOf("chariots.frame.budget");

    /** Fired down the pipeline when {@link #WAITING_FOR_BUDGET} changes. */
    public static final class BudgetChanged {
        public static final BudgetChanged INSTANCE = new BudgetChanged();

        private BudgetChanged() {
        }
    }

    private final int maxFrameLength;
    private final ByteBudget budget;
    private boolean failed;
    private long frameReserved; // reserved for the frame whose body is being read
    private long passedOn;      // reserved for frames decoded in this read, given back once they went down
    private ChannelHandlerContext ctx;
    private final Runnable wake = this::wake;

    /** @param maxFrameLength largest accepted L (type byte plus payload), at least 1 */
    public FrameDecoder(int maxFrameLength) {
        this(maxFrameLength, null);
    }

    /**
     * @param maxFrameLength largest accepted L (type byte plus payload), at least 1, at most the budget
     * @param budget         shared by the port's connections, or null for none
     */
    public FrameDecoder(int maxFrameLength, ByteBudget budget) {
        if (maxFrameLength < 1) {
            throw new IllegalArgumentException("maxFrameLength must be at least 1, got " + maxFrameLength);
        }
        if (budget != null && budget.capacity() < maxFrameLength + 4L) {
            throw new IllegalArgumentException("a byte budget of " + budget.capacity() + " cannot hold one frame of "
                    + maxFrameLength + " bytes");
        }
        this.maxFrameLength = maxFrameLength;
        this.budget = budget;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
        this.ctx = ctx;
        super.handlerAdded(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        try {
            super.channelRead(ctx, msg);
        } finally {
            if (budget != null && passedOn > 0) {
                long p = passedOn;
                passedOn = 0;
                budget.release(p);
            }
        }
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        if (budget != null) {
            budget.cancel(wake);
            long held = frameReserved + passedOn;
            frameReserved = 0;
            passedOn = 0;
            budget.release(held);
        }
    }

    // Another connection gave bytes back (any thread): try again on ours, over what it already buffered.
    private void wake() {
        ChannelHandlerContext c = ctx;
        if (c != null) {
            c.executor().execute(() -> {
                if (waiting(c)) {
                    waiting(c, false);
                    try {
                        channelRead(c, Unpooled.EMPTY_BUFFER);
                    } catch (Exception e) {
                        c.fireExceptionCaught(e);
                    }
                }
            });
        }
    }

    /**
     * While waiting for the budget, the decoder must not ask for more bytes:
     * ByteToMessageDecoder would request a read here (it got bytes and passed
     * nothing on, with auto-read off), and the client's frame would be read
     * whole after all.
     */
    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        if (waiting(ctx)) {
            ctx.fireChannelReadComplete();
            return;
        }
        super.channelReadComplete(ctx);
    }

    private static boolean waiting(ChannelHandlerContext c) {
        return Boolean.TRUE.equals(c.channel().attr(WAITING_FOR_BUDGET).get());
    }

    private void waiting(ChannelHandlerContext c, boolean w) {
        c.channel().attr(WAITING_FOR_BUDGET).set(w);
        c.fireUserEventTriggered(BudgetChanged.INSTANCE);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        while (in.readableBytes() >= 4) {
            long length = in.getUnsignedInt(in.readerIndex());
            if (length == 0) {
                fail(in);
                throw new FrameException(FrameException.Kind.ZERO_LENGTH, 0,
                        "frame of length 0 (a frame needs at least its type byte)");
            }
            if (length > maxFrameLength) {
                fail(in);
                throw new FrameException(FrameException.Kind.TOO_LONG, length,
                        "frame of length " + length + " exceeds the maximum of " + maxFrameLength + " bytes");
            }
            if (budget != null && frameReserved == 0) {
                if (waiting(ctx)) {
                    return; // already queued for the budget: the wake decodes this again
                }
                long hold = budget.holdFor(length + 4);
                if (!budget.reserve(hold, wake)) {
                    waiting(ctx, true);
                    return;
                }
                frameReserved = hold;
            }
            if (in.readableBytes() < 4 + length) {
                return;
            }
            in.skipBytes(4);
            byte type = in.readByte();
            passedOn += frameReserved;
            frameReserved = 0;
            out.add(new Frame(type, in.readRetainedSlice((int) length - 1)));
        }
    }

    private void fail(ByteBuf in) {
        failed = true;
        in.skipBytes(in.readableBytes());
    }
}
