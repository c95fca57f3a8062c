package io.chariots.batcher;

import io.chariots.common.acks.AppendWaiters.Outcome;
import io.chariots.common.frame.FrameDecoder;
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
}
