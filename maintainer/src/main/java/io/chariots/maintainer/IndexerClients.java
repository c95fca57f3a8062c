package io.chariots.maintainer;

import io.chariots.common.net.NettyTransport;
import io.chariots.proto.BatchAck;
import io.chariots.proto.IndexBatch;
import io.chariots.proto.IndexerGrpc;
import io.grpc.ManagedChannel;
import io.chariots.common.grpc.ChannelPool;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The {@link IndexFeeder.Sender} over gRPC: one channel per indexer address,
 * on the process's Netty event loops, opened on first use and closed when
 * the indexer leaves the membership ({@link #retain}). Each {@code Index}
 * call has a deadline, so a hung indexer turns into a failure (and a retry)
 * rather than a window slot lost for good. Completions hop onto the
 * maintainer's loop.
 *
 * <p>Threads: {@link #send} and {@link #retain} run on the loop; {@link #close}
 * after the loop stopped.
 */
public final class IndexerClients implements IndexFeeder.Sender, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(IndexerClients.class);

    private final ChannelPool channels;
    private final Executor loop;
    private final Duration deadline;

    /**
     * @param loop     where completions run (the feeder's loop)
     * @param deadline per-call deadline of {@code Index}
     */
    public IndexerClients(NettyTransport transport, Executor loop, Duration deadline) {
        this.channels = new ChannelPool(transport);
        this.loop = loop;
        this.deadline = deadline;
    }

    @Override
    public void send(String indexer, IndexBatch batch, Consumer<Throwable> done) {
        ManagedChannel channel = channels.get(indexer);
        IndexerGrpc.newStub(channel)
                .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS)
                .index(batch, new StreamObserver<>() {
                    private BatchAck ack;

                    @Override
                    public void onNext(BatchAck value) {
                        ack = value;
                    }

                    @Override
                    public void onError(Throwable t) {
                        loop.execute(() -> done.accept(t));
                    }

                    @Override
                    public void onCompleted() {
                        if (ack != null && ack.getAccepted() != batch.getEntriesCount()) {
                            LOG.debug("indexer {} accepted {} of {} entries", indexer, ack.getAccepted(),
                                    batch.getEntriesCount());
                        }
                        loop.execute(() -> done.accept(null));
                    }
                });
    }

    /**
     * Closes the channels of indexers no longer listed. Calls in flight on
     * them finish (or fail) normally, and their batches are retried
     * elsewhere if they fail.
     */
    public void retain(Collection<String> indexers) {
        channels.retainOnly(indexers);
    }

    /** Number of open channels. */
    public int channelCount() {
        return channels.size();
    }

    @Override
    public void close() {
        channels.close();
    }
}
