package io.chariots.batcher;

import io.chariots.common.acks.AppendWaiters.Outcome;
import io.chariots.common.frame.FrameDecoder;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.common.record.EdgeStamp;
import io.chariots.proto.RecordEnvelope;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.DefaultChannelId;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Backpressure at the TCP edge: when the assembler says the pipeline is full,
 * every connection stops being read — also one that opens while it is full —
 * and every one is read again once it drains.
 */
class PipelinePauseTest {
    final List<List<RecordEnvelope>> added = new ArrayList<>();
    final FrameIngest ingest = new FrameIngest(new EdgeStamp("b", 0, 1), new FrameIngest.Pipeline() {
        @Override
        public void add(List<RecordEnvelope> records) {
            added.add(records);
        }

        @Override
        public void addAwaited(List<RecordEnvelope> records, List<String> ids, long timeoutMs, Consumer<List<Outcome>> done) {
            added.add(records);
        }
    }, new FrameIngest.AckMode(100, 1500), 10_000, new DefaultChannelGroup(GlobalEventExecutor.INSTANCE), new SimpleMeterRegistry(),
            null);

    EmbeddedChannel connect() {
        // Each with its own id: embedded channels share one by default, and the ingest's channel group is a set.
        return new EmbeddedChannel(DefaultChannelId.newInstance(), new FrameDecoder(1 << 20), ingest);
    }

    @Test
    void everyConnectionPausesWhileThePipelineIsFullAndResumesAfter() {
        EmbeddedChannel plain = connect();
        EmbeddedChannel acked = connect();
        AckedModeTest.send(acked, 'A', "{}");
        assertThat(AckedModeTest.written(acked)).hasSize(1);
        assertThat(plain.config().isAutoRead()).isTrue();

        ingest.paused(true);
        // Decided on each connection's own event loop: not before it runs.
        plain.runPendingTasks();
        acked.runPendingTasks();
        assertThat(plain.config().isAutoRead()).as("plain connection while full").isFalse();
        assertThat(acked.config().isAutoRead()).as("acknowledged connection while full").isFalse();
        EmbeddedChannel late = connect();
        assertThat(late.config().isAutoRead()).as("a connection opened while full").isFalse();

        ingest.paused(false);
        for (EmbeddedChannel ch : List.of(plain, acked, late)) {
            ch.runPendingTasks();
            assertThat(ch.config().isAutoRead()).as("read again once drained").isTrue();
        }
        AckedModeTest.send(late, 'r', "{\"id\":\"after\",\"tags\":{\"k\":\"v\"}}");
        assertThat(added).hasSize(1);
        assertThat(added.get(0).get(0).getId()).isEqualTo("after");
    }

    /** Pause then resume before the event loop ran: the loop decides from the current state, so it reads. */
    @Test
    void aResumeRightAfterAPauseLeavesTheConnectionRead() {
        EmbeddedChannel plain = connect();
        ingest.paused(true);
        ingest.paused(false);
        plain.runPendingTasks();
        assertThat(plain.config().isAutoRead()).isTrue();
        ingest.paused(false);
        ingest.paused(true);
        plain.runPendingTasks();
        assertThat(plain.config().isAutoRead()).isFalse();
    }

    /**
     * A frame handed to a loop that is behind stops every connection from
     * being read (the next frame stays in the socket) until the loop has
     * caught up; a real {@link EventLoop} decides.
     */
    @Test
    void noConnectionIsReadWhileTheLoopIsBehindAndEveryOneAgainOnceItCaughtUp() throws Exception {
        EventLoop loop = new EventLoop("batcher", NanoClock.SYSTEM, now -> EventLoop.Ticker.NO_DEADLINE).maxQueued(2).start();
        CountDownLatch busy = new CountDownLatch(1);
        List<List<RecordEnvelope>> taken = new CopyOnWriteArrayList<>();
        try {
            FrameIngest behindLoop = new FrameIngest(new EdgeStamp("b", 0, 1), new FrameIngest.Pipeline() {
                @Override
                public void add(List<RecordEnvelope> records) {
                    loop.execute(() -> taken.add(records));
                }

                @Override
                public void addAwaited(List<RecordEnvelope> records, List<String> ids, long timeoutMs,
                                       Consumer<List<Outcome>> done) {
                    loop.execute(() -> taken.add(records));
                }

                @Override
                public boolean behind() {
                    return loop.behind();
                }

                @Override
                public void whenCaughtUp(Runnable then) {
                    loop.whenCaughtUp(then);
                }
            }, new FrameIngest.AckMode(100, 1500), 10_000, new DefaultChannelGroup(GlobalEventExecutor.INSTANCE),
                    new SimpleMeterRegistry(), null);
            EmbeddedChannel a = new EmbeddedChannel(DefaultChannelId.newInstance(), new FrameDecoder(1 << 20), behindLoop);
            EmbeddedChannel b = new EmbeddedChannel(DefaultChannelId.newInstance(), new FrameDecoder(1 << 20), behindLoop);
            CountDownLatch inTask = new CountDownLatch(1);
            loop.execute(() -> {
                inTask.countDown();
                try {
                    busy.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertThat(inTask.await(5, TimeUnit.SECONDS)).isTrue();
            AckedModeTest.send(a, 'r', "{\"id\":\"a1\",\"tags\":{\"k\":\"v\"}}");
            assertThat(a.config().isAutoRead()).as("one frame waiting: not behind").isTrue();
            AckedModeTest.send(b, 'r', "{\"id\":\"b1\",\"tags\":{\"k\":\"v\"}}");
            assertThat(loop.behind()).isTrue();
            a.runPendingTasks();
            b.runPendingTasks();
            assertThat(a.config().isAutoRead()).as("a connection that sent nothing more").isFalse();
            assertThat(b.config().isAutoRead()).as("the connection whose frame filled the loop").isFalse();

            busy.countDown();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!(a.config().isAutoRead() && b.config().isAutoRead()) && System.nanoTime() < deadline) {
                a.runPendingTasks();
                b.runPendingTasks();
                Thread.sleep(5);
            }
            assertThat(a.config().isAutoRead()).as("read again once caught up").isTrue();
            assertThat(b.config().isAutoRead()).as("read again once caught up").isTrue();
            assertThat(taken).hasSize(2);
            assertThat(taken.get(0).get(0).getId()).isEqualTo("a1");
            assertThat(taken.get(1).get(0).getId()).isEqualTo("b1");
        } finally {
            busy.countDown();
            loop.close();
        }
    }
}
