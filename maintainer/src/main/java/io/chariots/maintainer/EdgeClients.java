package io.chariots.maintainer;

import io.chariots.common.grpc.Calls;
import io.chariots.common.grpc.ChannelPool;
import io.chariots.common.net.NettyTransport;
import io.chariots.proto.AcksGrpc;
import io.chariots.proto.AppendedIds;

import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The {@link AppendNotices.Sender} over gRPC: {@code Acks.Appended} to the
 * edge's address, with a deadline (a hung edge must not hold a window slot),
 * completions hopping onto the maintainer's loop. One channel per edge,
 * opened on first use.
 */
public final class EdgeClients implements AppendNotices.Sender, AutoCloseable {
    private final ChannelPool channels;
    private final Executor loop;
    private final Duration deadline;

    /**
     * @param loop     where completions run (the maintainer's loop)
     * @param deadline per-call deadline of {@code Appended}
     */
    public EdgeClients(NettyTransport transport, Executor loop, Duration deadline) {
        this.channels = new ChannelPool(transport);
        this.loop = loop;
        this.deadline = deadline;
    }

    @Override
    public void send(String edge, AppendedIds ids, Consumer<Throwable> done) {
        Calls.on(AcksGrpc.newFutureStub(channels.get(edge)).withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS)
                        .appended(ids),
                ack -> loop.execute(() -> done.accept(null)),
                t -> loop.execute(() -> done.accept(t)));
    }

    @Override
    public void close() {
        channels.close();
    }
}
