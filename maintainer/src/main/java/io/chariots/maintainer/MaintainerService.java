package io.chariots.maintainer;

import io.chariots.proto.BatchAck;
import io.chariots.proto.MaintainerGrpc;
import io.chariots.proto.MaintainerStats;
import io.chariots.proto.ReadRequest;
import io.chariots.proto.RecordBatch;
import io.chariots.proto.RecordEnvelope;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * gRPC adapter of the maintainer.
 *
 * <ul>
 * <li>{@code Store}: validates (every record has a lid, else
 *     {@code INVALID_ARGUMENT} and nothing is written), then writes on the
 *     loop and answers {@code BatchAck{accepted}} only once the WriteBatch is
 *     in the WAL: the ack means durable. A failed write answers
 *     {@code UNAVAILABLE}; the sender retries, and re-storing is idempotent.</li>
 * <li>{@code Read}: the records this maintainer holds among {@code lids}, or
 *     in {@code [from_lid, from_lid + limit)} (limit default
 *     {@value #DEFAULT_LIMIT}, at most {@value #MAX_LIMIT}), in LId order.
 *     Served from RocksDB on a small read pool, never behind writes. An
 *     answer is cut after about {@value #MAX_REPLY_BYTES} bytes (so it fits
 *     gRPC's message limit); readers continue after the last LId they got.</li>
 * <li>{@code Stats}: stored count, max LId, records not yet indexed.</li>
 * </ul>
 */
public final class MaintainerService extends MaintainerGrpc.MaintainerImplBase {
    private static final Logger LOG = LoggerFactory.getLogger(MaintainerService.class);

    public static final int DEFAULT_LIMIT = 1000;
    public static final int MAX_LIMIT = 10_000;
    public static final long MAX_REPLY_BYTES = 48L << 20;

    private final Executor loop;
    private final RecordWriter writer;
    private final FlStore store;
    private final Executor reads;

    /**
     * @param loop   the maintainer's loop: the only thread that writes
     * @param reads  where reads run (not the loop, not Netty's I/O threads)
     */
    public MaintainerService(Executor loop, RecordWriter writer, FlStore store, Executor reads) {
        this.loop = loop;
        this.writer = writer;
        this.store = store;
        this.reads = reads;
    }

    @Override
    public void store(RecordBatch request, StreamObserver<BatchAck> responses) {
        String problem = RecordWriter.problemWith(request);
        if (problem != null) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription(problem).asRuntimeException());
            return;
        }
        List<RecordEnvelope> records = request.getRecordsList();
        loop.execute(() -> {
            int accepted;
            try {
                accepted = writer.write(records);
            } catch (Exception e) {
                LOG.error("flstore write of {} records failed", records.size(), e);
                fail(responses, Status.UNAVAILABLE.withDescription("flstore write failed: " + e.getMessage()));
                return;
            }
            reply(responses, BatchAck.newBuilder().setAccepted(accepted).build());
        });
    }

    @Override
    public void read(ReadRequest request, StreamObserver<RecordBatch> responses) {
        if (request.getLidsCount() > MAX_LIMIT) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription("at most " + MAX_LIMIT
                    + " lids per read, got " + request.getLidsCount()).asRuntimeException());
            return;
        }
        try {
            reads.execute(() -> {
                RecordBatch batch;
                try {
                    List<RecordEnvelope> found = request.getLidsCount() > 0
                            ? store.get(request.getLidsList(), MAX_REPLY_BYTES)
                            : store.range(request.getFromLid(), limitOf(request), MAX_REPLY_BYTES);
                    batch = RecordBatch.newBuilder().addAllRecords(found).build();
                } catch (Exception e) {
                    LOG.error("flstore read failed", e);
                    fail(responses, Status.INTERNAL.withDescription("flstore read failed: " + e.getMessage()));
                    return;
                }
                reply(responses, batch);
            });
        } catch (RejectedExecutionException e) {
            responses.onError(Status.RESOURCE_EXHAUSTED.withDescription("too many reads in progress; retry")
                    .asRuntimeException());
        }
    }

    /** The range length asked: {@value #DEFAULT_LIMIT} if unset, at most {@value #MAX_LIMIT}. */
    static int limitOf(ReadRequest request) {
        int limit = request.getLimit();
        if (limit == 0) {
            return DEFAULT_LIMIT;
        }
        return Integer.compareUnsigned(limit, MAX_LIMIT) > 0 ? MAX_LIMIT : limit;
    }

    @Override
    public void stats(ReadRequest request, StreamObserver<MaintainerStats> responses) {
        reply(responses, MaintainerStats.newBuilder()
                .setStored(store.count())
                .setMaxLid(store.maxLid())
                .setUnindexed(store.unindexedCount())
                .build());
    }

    private static <T> void reply(StreamObserver<T> responses, T value) {
        try {
            responses.onNext(value);
            responses.onCompleted();
        } catch (RuntimeException e) {
            LOG.debug("caller went away before the answer: {}", e.toString());
        }
    }

    private static void fail(StreamObserver<?> responses, Status status) {
        try {
            responses.onError(status.asRuntimeException());
        } catch (RuntimeException e) {
            LOG.debug("caller went away before the error: {}", e.toString());
        }
    }
}
