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
 * <p>With a {@link ByteBudget}, each frame's length is reserved from it when
 * its header arrives, before its body is buffered, and given back once the
 * frame went down the pipeline. While the budget is spent the connection is
 * marked {@link #WAITING_FOR_BUDGET} and a {@link BudgetChanged} event goes
 * down the pipeline: whoever decides the channel's auto-read stops reading it,
 * and resumes on the next event.
 *
 * <p>With a parse budget as well, a whole frame of {@link ByteBudget#LARGE_INPUT}
 * or more waits, the same way, for its {@link ByteBudget#parseShare} of it
 * before it goes down the pipeline, and gives it back once it went: the
 * handler after the decoder parses it then and there, so the frames parsed at
 * once stay within that budget. A frame waits for it only once whole, and a
 * parse always ends, so a slow client holds no more than its frame's bytes.
 * Such a frame also waits while the pipeline has no room (a condition the
 * handler gives, which fires {@link Resume} once it has): whole large frames
 * kept in the connections' buffers while reading was paused would otherwise
 * all be parsed into records at once, past the pipeline's mark.
 *
 * <p>On a channel that allows half-closure, a client that closes after its
 * last frames (as a GoChariots client does) still has every whole frame it
 * sent go down, each as it may, and the connection is closed once none is
 * left; a frame begun and never finished is dropped. If the connection is
 * closed outright (a reset) every whole frame goes down at once, unbounded:
 * what a client sent whole is never dropped.
 */
public final class FrameDecoder extends ByteToMessageDecoder {
    /** Set on a connection while its next frame waits for a budget or for room: do not read it. */
    public static final AttributeKey<Boolean> WAITING_FOR_BUDGET = AttributeKey.valueOf("chariots.frame.budget");

    /** Fired into the pipeline once it has room again: a large frame held for it goes down. */
    public static final class Resume {
        public static final Resume INSTANCE = new Resume();

        private Resume() {
        }
    }

    /** Fired down the pipeline when {@link #WAITING_FOR_BUDGET} changes. */
    public static final class BudgetChanged {
        public static final BudgetChanged INSTANCE = new BudgetChanged();

        private BudgetChanged() {
        }
    }

    private final int maxFrameLength;
    private final ByteBudget budget;
    private final ByteBudget parse;
    private final java.util.function.BooleanSupplier room;
    private boolean heldForRoom; // a whole large frame waits for the pipeline's room
    private boolean inputClosed; // the connection closed: whole frames go down without waiting
    private boolean inputShutdown; // its client sent all it will: close once no whole frame is left
    private boolean failed;
    private final Holding receiving; // of the byte budget, or null
    private final Holding parsing;   // of the parse budget, or null
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
        this(maxFrameLength, budget, null, () -> true);
    }

    /**
     * @param maxFrameLength largest accepted L (type byte plus payload), at least 1, at most the budget
     * @param budget         shared by the port's connections, or null for none
     * @param parse          the port's parse budget, shared by its connections, or null for none
     * @param room           whether the pipeline has room for a large frame's records now (on the event loop)
     */
    public FrameDecoder(int maxFrameLength, ByteBudget budget, ByteBudget parse, java.util.function.BooleanSupplier room) {
        if (maxFrameLength < 1) {
            throw new IllegalArgumentException("maxFrameLength must be at least 1, got " + maxFrameLength);
        }
        if (budget != null && budget.capacity() < maxFrameLength + 4L) {
            throw new IllegalArgumentException("a byte budget of " + budget.capacity() + " cannot hold one frame of "
                    + maxFrameLength + " bytes");
        }
        this.maxFrameLength = maxFrameLength;
        this.budget = budget;
        this.parse = parse;
        this.room = room;
        this.receiving = budget == null ? null : new Holding(budget);
        this.parsing = parse == null ? null : new Holding(parse);
    }

    /** What this connection holds of one budget. */
    private static final class Holding {
        final ByteBudget budget;
        long reserved; // for the frame being decoded
        long passedOn; // for frames decoded in this read, given back once they went down the pipeline

        Holding(ByteBudget budget) {
            this.budget = budget;
        }

        void passOn() {
            passedOn += reserved;
            reserved = 0;
        }

        void releasePassedOn() {
            long p = passedOn;
            passedOn = 0;
            budget.release(p);
        }

        void releaseAll(Runnable wake) {
            budget.cancel(wake);
            long held = reserved + passedOn;
            reserved = 0;
            passedOn = 0;
            budget.release(held);
        }
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
            if (receiving != null) {
                receiving.releasePassedOn();
            }
            if (parsing != null) {
                parsing.releasePassedOn();
            }
            closeIfDone(ctx);
        }
    }

    /** After its client shut its output down: closes the connection once no whole frame of it waits. */
    private void closeIfDone(ChannelHandlerContext ctx) {
        if (!inputShutdown || !ctx.channel().isActive()) {
            return;
        }
        ByteBuf in = internalBuffer();
        boolean wholeFrameLeft = !failed && in.readableBytes() >= 4
                && in.readableBytes() - 4L >= in.getUnsignedInt(in.readerIndex());
        if (!wholeFrameLeft) {
            ctx.close();
        }
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        if (receiving != null) {
            receiving.releaseAll(wake);
        }
        if (parsing != null) {
            parsing.releaseAll(wake);
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

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent) {
            // Not to ByteToMessageDecoder, which would decode every whole frame at once, whatever they wait for.
            inputShutdown = true;
            closeIfDone(ctx);
            ctx.fireUserEventTriggered(evt);
            return;
        }
        if (evt instanceof Resume) {
            if (heldForRoom) {
                heldForRoom = false;
                waiting(ctx, false);
                channelRead(ctx, Unpooled.EMPTY_BUFFER);
            }
            return;
        }
        super.userEventTriggered(ctx, evt);
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
            if (receiving != null && receiving.reserved == 0 && !inputClosed) {
                if (waiting(ctx)) {
                    return; // already queued for the budget: the wake decodes this again
                }
                if (!budget.reserve(length + 4, wake)) {
                    waiting(ctx, true);
                    return;
                }
                receiving.reserved = length + 4;
            }
            if (in.readableBytes() < 4 + length) {
                return;
            }
            if (parsing != null && parsing.reserved == 0 && !inputClosed) {
                long share = parse.parseShare(length + 4);
                if (share > 0) {
                    if (waiting(ctx)) {
                        return; // queued for the share, or held for room: its wake or Resume decodes this again
                    }
                    if (!room.getAsBoolean()) {
                        // Waiting, as for a budget: the connection is not read meanwhile, and the role holds it.
                        heldForRoom = true;
                        waiting(ctx, true);
                        return;
                    }
                    if (!parse.reserve(share, wake)) {
                        waiting(ctx, true);
                        return;
                    }
                    parsing.reserved = share;
                }
            }
            in.skipBytes(4);
            byte type = in.readByte();
            if (receiving != null) {
                receiving.passOn();
            }
            if (parsing != null) {
                parsing.passOn();
            }
            out.add(new Frame(type, in.readRetainedSlice((int) length - 1)));
        }
    }

    /**
     * The connection's input ended (its client closed, or it is being
     * closed): every whole frame read goes down now, whatever it waited for.
     * Its client sent it; a client that closes after its last frame (as a
     * GoChariots client does) must not lose it, even though Netty reads a
     * closing connection to its end whether or not it is being read.
     */
    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        inputClosed = true;
        if (in.isReadable()) {
            decode(ctx, in, out);
        }
    }

    private void fail(ByteBuf in) {
        failed = true;
        in.skipBytes(in.readableBytes());
    }
}
