package io.chariots.common.acks;

import io.chariots.common.grpc.Calls;
import io.chariots.common.grpc.ChannelPool;
import io.chariots.proto.IdStatus;
import io.chariots.proto.IndexerGrpc;
import io.chariots.proto.LookupReply;
import io.chariots.proto.LookupRequest;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The {@link AppendWaiters.Lookup} over gRPC: {@code Indexer.Lookup{ids}}
 * with a deadline, the outcome handed to the waiters' loop.
 */
public final class IndexerLookup implements AppendWaiters.Lookup {
    private final ChannelPool channels;
    private final Executor loop;
    private final Duration deadline;

    /**
     * @param channels the edge's channel pool (indexer channels are shared with its reads)
     * @param loop     the loop that owns the waiters
     * @param deadline per-call deadline
     */
    public IndexerLookup(ChannelPool channels, Executor loop, Duration deadline) {
        this.channels = channels;
        this.loop = loop;
        this.deadline = deadline;
    }

    @Override
    public void lookup(String indexer, List<String> ids, Consumer<List<IdStatus>> reply, Consumer<Throwable> failed) {
        Calls.on(IndexerGrpc.newFutureStub(channels.get(indexer))
                        .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS)
                        .lookup(LookupRequest.newBuilder().addAllIds(ids).build()),
                (LookupReply r) -> loop.execute(() -> reply.accept(r.getIdsList())),
                t -> loop.execute(() -> failed.accept(t)));
    }
}
