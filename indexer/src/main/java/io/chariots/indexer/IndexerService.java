package io.chariots.indexer;

import io.chariots.proto.BatchAck;
import io.chariots.proto.ExistsReply;
import io.chariots.proto.ExistsRequest;
import io.chariots.proto.IndexBatch;
import io.chariots.proto.IndexerGrpc;
import io.chariots.proto.LookupReply;
import io.chariots.proto.LookupRequest;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

import java.util.function.Supplier;

/**
 * gRPC adapter of the {@code Indexer} service. {@code Index} hands the batch
 * to the {@link IndexWriter} and replies from the writer's callback, so the
 * {@link BatchAck} ({@code accepted} = entries + rejections) is sent only
 * after the write returned. {@code Exists} and {@code Lookup} run on the
 * calling gRPC thread: RocksDB reads are thread-safe and must not wait behind
 * writes.
 *
 * <p>Status codes: {@code INVALID_ARGUMENT} for a request that can never
 * succeed (message names the problem), {@code RESOURCE_EXHAUSTED} when the
 * write queue is full, {@code UNAVAILABLE} while shutting down,
 * {@code INTERNAL} when RocksDB fails; the last three are worth retrying.
 */
public final class IndexerService extends IndexerGrpc.IndexerImplBase {
    private final IndexWriter writer;
    private final IndexQueries queries;
    private final IndexerMetrics metrics;

    public IndexerService(IndexWriter writer, IndexQueries queries, IndexerMetrics metrics) {
        this.writer = writer;
        this.queries = queries;
        this.metrics = metrics;
    }

    @Override
    public void index(IndexBatch request, StreamObserver<BatchAck> responses) {
        String problem = IndexWriter.problemWith(request);
        if (problem != null) {
            metrics.badRequests.increment();
            responses.onError(Status.INVALID_ARGUMENT.withDescription(problem).asRuntimeException());
            return;
        }
        if (request.getEntriesCount() == 0 && request.getRejectionsCount() == 0) {
            reply(responses, BatchAck.newBuilder().setAccepted(0).build());
            return;
        }
        boolean queued = writer.submit(request, (accepted, error) -> {
            if (error == null) {
                reply(responses, BatchAck.newBuilder().setAccepted(accepted).build());
            } else {
                responses.onError(statusOf(error).asRuntimeException());
            }
        });
        if (!queued) {
            responses.onError(Status.RESOURCE_EXHAUSTED
                    .withDescription("indexer write queue full (" + writer.pendingBytes() + " bytes waiting); retry later")
                    .asRuntimeException());
        }
    }

    @Override
    public void exists(ExistsRequest request, StreamObserver<ExistsReply> responses) {
        metrics.existsQueries.increment();
        metrics.existsKeys.increment(request.getKeysCount());
        answer(responses, () -> queries.exists(request));
    }

    @Override
    public void lookup(LookupRequest request, StreamObserver<LookupReply> responses) {
        metrics.lookups.increment();
        answer(responses, () -> queries.lookup(request));
    }

    private <T> void answer(StreamObserver<T> responses, Supplier<T> query) {
        T result;
        try {
            result = query.get();
        } catch (RuntimeException e) {
            if (e instanceof BadRequestException) {
                metrics.badRequests.increment();
            }
            responses.onError(statusOf(e).asRuntimeException());
            return;
        }
        reply(responses, result);
    }

    private static <T> void reply(StreamObserver<T> responses, T value) {
        responses.onNext(value);
        responses.onCompleted();
    }

    static Status statusOf(RuntimeException e) {
        if (e instanceof BadRequestException) {
            return Status.INVALID_ARGUMENT.withDescription(e.getMessage());
        }
        if (e instanceof IllegalStateException) {
            return Status.UNAVAILABLE.withDescription(e.getMessage());
        }
        if (e instanceof IndexStoreException) {
            return Status.INTERNAL.withDescription(e.getMessage()).withCause(e);
        }
        return Status.INTERNAL.withDescription("unexpected " + e).withCause(e);
    }
}
