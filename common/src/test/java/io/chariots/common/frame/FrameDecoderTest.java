package io.chariots.common.frame;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FrameDecoderTest {
    static byte[] frame(char type, String payload) {
        return FrameEncoder.encode((byte) type, payload.getBytes(StandardCharsets.UTF_8));
    }

    static List<String> drain(EmbeddedChannel ch) {
        List<String> out = new ArrayList<>();
        Frame f;
        while ((f = ch.readInbound()) != null) {
            out.add((char) f.type() + f.payload().toString(StandardCharsets.UTF_8));
            f.release();
        }
        return out;
    }

    @Test
    void frameSplitOverManyReads() {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1024));
        byte[] bytes = frame('r', "{\"seed\":1}");
        for (byte b : bytes) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
        assertThat(drain(ch)).containsExactly("r{\"seed\":1}");
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void manyFramesInOneRead() {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1024));
        ByteBuf all = Unpooled.wrappedBuffer(frame('r', "a"), frame('s', "[]"), frame('r', ""), frame('x', "b"));
        ch.writeInbound(all);
        assertThat(drain(ch)).containsExactly("ra", "s[]", "r", "xb");
    }

    @Test
    void lengthZeroClosesWithTypedError() {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1024));
        ch.writeInbound(Unpooled.wrappedBuffer(frame('r', "ok")));
        assertThatThrownBy(() -> ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0, 0, 0, 0, 'r'})))
                .isInstanceOfSatisfying(FrameException.class, e -> assertThat(e.kind()).isEqualTo(FrameException.Kind.ZERO_LENGTH));
        assertThat(drain(ch)).containsExactly("rok");
        // Anything after the error is discarded, not decoded.
        ch.writeInbound(Unpooled.wrappedBuffer(frame('r', "late")));
        assertThat(drain(ch)).isEmpty();
    }

    @Test
    void lengthAboveMaximumFailsBeforeBufferingTheBody() {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(16));
        // Claims 2 GiB; only the header arrives. Must fail at once, not wait or allocate.
        assertThatThrownBy(() -> ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {(byte) 0x80, 0, 0, 0})))
                .isInstanceOfSatisfying(FrameException.class, e -> {
                    assertThat(e.kind()).isEqualTo(FrameException.Kind.TOO_LONG);
                    assertThat(e.length()).isEqualTo(0x80000000L);
                });
        EmbeddedChannel ch2 = new EmbeddedChannel(new FrameDecoder(16));
        assertThatThrownBy(() -> ch2.writeInbound(Unpooled.wrappedBuffer(frame('r', "x".repeat(16)))))
                .isInstanceOf(FrameException.class).hasMessageContaining("17 exceeds the maximum of 16");
    }

    @Test
    void frameAtExactlyTheMaximumIsAccepted() {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(16));
        ch.writeInbound(Unpooled.wrappedBuffer(frame('r', "x".repeat(15))));
        assertThat(drain(ch)).containsExactly("r" + "x".repeat(15));
    }

    @Test
    void encoderAndDecoderAgree() {
        EmbeddedChannel out = new EmbeddedChannel(new FrameEncoder());
        out.writeOutbound(new Frame(Frame.RECORDS, Unpooled.copiedBuffer("[1]", StandardCharsets.UTF_8)));
        ByteBuf wire = out.readOutbound();
        EmbeddedChannel in = new EmbeddedChannel(new FrameDecoder(64));
        in.writeInbound(wire);
        assertThat(drain(in)).containsExactly("s[1]");
    }

    /** Counts the budget events a connection's decoder fires. */
    static final class BudgetEvents extends io.netty.channel.ChannelInboundHandlerAdapter {
        final List<Boolean> seen = new ArrayList<>();

        @Override
        public void userEventTriggered(io.netty.channel.ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof FrameDecoder.BudgetChanged) {
                seen.add(ctx.channel().attr(FrameDecoder.WAITING_FOR_BUDGET).get());
            }
        }
    }

    /** Counts the read requests that reach it (put it before the decoder). */
    static final class ReadCounter extends io.netty.channel.ChannelOutboundHandlerAdapter {
        int reads;

        @Override
        public void read(io.netty.channel.ChannelHandlerContext ctx) {
            reads++;
            ctx.read();
        }
    }

    /** Turns auto-read off and on with the budget, as the batcher does (put it after the decoder). */
    static final class ReadGate extends io.netty.channel.ChannelInboundHandlerAdapter {
        @Override
        public void userEventTriggered(io.netty.channel.ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof FrameDecoder.BudgetChanged) {
                ctx.channel().config().setAutoRead(!Boolean.TRUE.equals(ctx.channel().attr(FrameDecoder.WAITING_FOR_BUDGET).get()));
            }
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Test
    void aConnectionWaitingForTheBudgetAsksForNoMoreBytes() {
        ByteBudget budget = new ByteBudget(100);
        assertThat(budget.reserve(90, () -> { })).isTrue();
        ReadCounter gate = new ReadCounter();
        EmbeddedChannel ch = new EmbeddedChannel(gate, new FrameDecoder(90, budget), new ReadGate());
        int before = gate.reads;
        ch.writeInbound(Unpooled.wrappedBuffer(frame('r', "y".repeat(20))));
        assertThat(ch.config().isAutoRead()).isFalse();
        assertThat(gate.reads).as("no read asked for while waiting").isEqualTo(before);
        ch.writeInbound(Unpooled.wrappedBuffer(frame('r', "z")));
        assertThat(gate.reads).isEqualTo(before);
        assertThat(budget.waits()).as("queued once, not once per read").isEqualTo(1);
        budget.release(90);
        ch.runPendingTasks();
        assertThat(ch.config().isAutoRead()).isTrue();
        assertThat(drain(ch)).containsExactly("r" + "y".repeat(20), "rz");
        ch.finishAndReleaseAll();
    }

    @Test
    void aWholeLargeFrameWaitsForItsParseShareWhileAPartialOneHoldsOnlyItsBytes() {
        int mib = 1 << 20;
        ByteBudget budget = new ByteBudget(64L * mib);
        ByteBudget parse = new ByteBudget(12L * mib);
        assertThat(parse.parseShare(mib - 1)).as("a small frame parses without a share").isZero();
        assertThat(parse.parseShare(mib)).isEqualTo(4L * mib);
        assertThat(parse.parseShare(4L * mib)).as("never more than the budget: the largest frame is parsed alone").isEqualTo(12L * mib);
        BudgetEvents e1 = new BudgetEvents();
        BudgetEvents e2 = new BudgetEvents();
        EmbeddedChannel ch1 = new EmbeddedChannel(new FrameDecoder(4 * mib, budget, parse, () -> true), e1);
        EmbeddedChannel ch2 = new EmbeddedChannel(new FrameDecoder(4 * mib, budget, parse, () -> true), e2);
        byte[] large = frame('r', "x".repeat(2 * mib - 5)); // L + 4 = 2 MiB: a share of 8 MiB
        byte[] small = frame('r', "y".repeat(20));

        ch1.writeInbound(Unpooled.wrappedBuffer(large, 0, 1000));
        assertThat(budget.used()).as("a frame being received holds its bytes").isEqualTo(2L * mib);
        assertThat(parse.used()).as("and no share of the parse budget").isZero();
        assertThat(parse.reserve(8L * mib, () -> { })).as("another frame being parsed").isTrue();
        ch1.writeInbound(Unpooled.wrappedBuffer(large, 1000, large.length - 1000));
        assertThat(drain(ch1)).as("whole, it waits for its share").isEmpty();
        assertThat(e1.seen).containsExactly(true);
        ch2.writeInbound(Unpooled.wrappedBuffer(small));
        assertThat(drain(ch2)).as("a small frame needs none").containsExactly("r" + "y".repeat(20));

        parse.release(8L * mib);
        ch1.runPendingTasks();
        assertThat(e1.seen).containsExactly(true, false);
        assertThat(drain(ch1)).hasSize(1);
        assertThat(parse.used()).as("given back once it went down the pipeline").isZero();
        assertThat(budget.used()).isZero();

        // A connection that closes while its whole frame waits for its share gives its bytes back and waits no more.
        assertThat(parse.reserve(8L * mib, () -> { })).isTrue();
        ch1.writeInbound(Unpooled.wrappedBuffer(large));
        assertThat(budget.used()).isEqualTo(2L * mib);
        ch1.finishAndReleaseAll();
        assertThat(budget.used()).isZero();
        parse.release(8L * mib);
        assertThat(parse.used()).isZero();
        ch2.finishAndReleaseAll();
    }

    @Test
    void aWholeLargeFrameWaitsForThePipelinesRoomAndGoesDownOnResume() {
        int mib = 1 << 20;
        java.util.concurrent.atomic.AtomicBoolean room = new java.util.concurrent.atomic.AtomicBoolean(false);
        ByteBudget parse = new ByteBudget(12L * mib);
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(4 * mib, new ByteBudget(64L * mib), parse, room::get));
        byte[] large = frame('r', "x".repeat(2 * mib - 5));
        byte[] small = frame('r', "y".repeat(20));
        ch.writeInbound(Unpooled.wrappedBuffer(small));
        assertThat(drain(ch)).as("a small frame goes down whatever the room").hasSize(1);
        ch.writeInbound(Unpooled.wrappedBuffer(large));
        assertThat(drain(ch)).as("no room: the whole large frame is kept").isEmpty();
        ch.pipeline().fireUserEventTriggered(FrameDecoder.Resume.INSTANCE);
        assertThat(drain(ch)).as("a resume while there is still no room changes nothing").isEmpty();
        room.set(true);
        ch.pipeline().fireUserEventTriggered(FrameDecoder.Resume.INSTANCE);
        assertThat(drain(ch)).hasSize(1);
        assertThat(parse.used()).isZero();
        ch.pipeline().fireUserEventTriggered(FrameDecoder.Resume.INSTANCE);
        assertThat(drain(ch)).isEmpty();
        ch.finishAndReleaseAll();
    }

    @Test
    void aWholeFrameThatWaitsWhenItsConnectionClosesStillGoesDown() {
        int mib = 1 << 20;
        ByteBudget budget = new ByteBudget(64L * mib);
        ByteBudget parse = new ByteBudget(12L * mib);
        EmbeddedChannel held = new EmbeddedChannel(new FrameDecoder(4 * mib, budget, parse, () -> false));
        held.writeInbound(Unpooled.wrappedBuffer(frame('r', "x".repeat(2 * mib - 5))));
        assertThat(drain(held)).as("no room").isEmpty();
        held.finish();
        assertThat(drain(held)).as("its client closed after sending it: it goes down all the same").hasSize(1);

        assertThat(budget.reserve(64L * mib - 10, () -> { })).isTrue();
        EmbeddedChannel waiting = new EmbeddedChannel(new FrameDecoder(4 * mib, budget, parse, () -> true));
        waiting.writeInbound(Unpooled.wrappedBuffer(frame('r', "y".repeat(20))));
        assertThat(drain(waiting)).as("no budget").isEmpty();
        waiting.finish();
        assertThat(drain(waiting)).containsExactly("r" + "y".repeat(20));
        budget.release(64L * mib - 10);
        assertThat(budget.used()).isZero();
        assertThat(parse.used()).isZero();
    }

    @Test
    void aClientThatShutsItsOutputDownHasItsHeldFramesGoDownInTurnThenItsConnectionClosed() {
        int mib = 1 << 20;
        java.util.concurrent.atomic.AtomicBoolean room = new java.util.concurrent.atomic.AtomicBoolean(false);
        ByteBudget parse = new ByteBudget(12L * mib);
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(4 * mib, new ByteBudget(64L * mib), parse, room::get));
        ch.writeInbound(Unpooled.wrappedBuffer(frame('r', "x".repeat(2 * mib - 5))));
        ch.pipeline().fireUserEventTriggered(io.netty.channel.socket.ChannelInputShutdownEvent.INSTANCE);
        assertThat(drain(ch)).as("its end does not let the frame skip the pipeline's room").isEmpty();
        assertThat(ch.isOpen()).as("open while a whole frame of it waits").isTrue();
        room.set(true);
        ch.pipeline().fireUserEventTriggered(FrameDecoder.Resume.INSTANCE);
        assertThat(drain(ch)).hasSize(1);
        assertThat(ch.isOpen()).as("closed once none is left").isFalse();
        assertThat(parse.used()).isZero();

        EmbeddedChannel partial = new EmbeddedChannel(new FrameDecoder(4 * mib, new ByteBudget(64L * mib), parse, () -> true));
        byte[] f = frame('r', "y".repeat(20));
        partial.writeInbound(Unpooled.wrappedBuffer(f, 0, 10));
        partial.pipeline().fireUserEventTriggered(io.netty.channel.socket.ChannelInputShutdownEvent.INSTANCE);
        assertThat(partial.isOpen()).as("a frame begun and never finished: nothing to wait for").isFalse();
        assertThat(drain(partial)).isEmpty();
    }

    @Test
    void connectionsShareOneByteBudgetAndWaitForItWithoutLosingBytes() {
        ByteBudget budget = new ByteBudget(100);
        BudgetEvents e1 = new BudgetEvents();
        BudgetEvents e2 = new BudgetEvents();
        EmbeddedChannel ch1 = new EmbeddedChannel(new FrameDecoder(90, budget), e1);
        EmbeddedChannel ch2 = new EmbeddedChannel(new FrameDecoder(90, budget), e2);
        byte[] big = frame('s', "x".repeat(89)); // L = 90: reserves 94
        byte[] small = frame('r', "y".repeat(20)); // L = 21: reserves 25

        ch1.writeInbound(Unpooled.wrappedBuffer(big, 0, 50));
        assertThat(budget.used()).isEqualTo(94);
        ch2.writeInbound(Unpooled.wrappedBuffer(small));
        assertThat(drain(ch2)).as("no room: the frame waits, its bytes kept").isEmpty();
        assertThat(e2.seen).containsExactly(true);
        assertThat(budget.waits()).isEqualTo(1);

        ch1.writeInbound(Unpooled.wrappedBuffer(big, 50, big.length - 50));
        assertThat(drain(ch1)).containsExactly("s" + "x".repeat(89));
        assertThat(budget.used()).as("given back once the frame went down the pipeline").isZero();
        ch2.runPendingTasks();
        assertThat(e2.seen).containsExactly(true, false);
        assertThat(drain(ch2)).containsExactly("r" + "y".repeat(20));
        assertThat(budget.used()).isZero();

        // A connection that closes with part of a frame gives its reservation back.
        ch1.writeInbound(Unpooled.wrappedBuffer(big, 0, 10));
        assertThat(budget.used()).isEqualTo(94);
        ch1.finishAndReleaseAll();
        assertThat(budget.used()).isZero();
        ch2.finishAndReleaseAll();
    }

    @Test
    void aBudgetSmallerThanOneFrameIsRefusedAtStart() {
        assertThatThrownBy(() -> new FrameDecoder(1000, new ByteBudget(1000)))
                .hasMessageContaining("cannot hold one frame of 1000 bytes");
    }
}
