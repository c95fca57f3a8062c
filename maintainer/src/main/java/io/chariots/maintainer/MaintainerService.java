package io.chariots.maintainer;

import io.chariots.common.loop.EventLoop;

import io.chariots.proto.HeldReply;
import io.chariots.proto.HeldRequest;
import io.chariots.proto.HolesRequest;
import io.chariots.proto.Layout;
import io.chariots.proto.LayoutReply;
import io.chariots.proto.MaintainerGrpc;
import io.chariots.proto.MaintainerStats;
import io.chariots.proto.ReadRequest;
import io.chariots.proto.RecordBatch;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.SealReply;
import io.chariots.proto.SealRequest;
import io.chariots.proto.StoreReply;
import io.chariots.proto.StoreRequest;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * gRPC adapter of the maintainer. Every write ({@code Store},
 * {@code FillHoles}, {@code Seal}, {@code SetLayout}) runs on the loop, in
 * arrival order, and is answered only once it is in the WAL; a write that
 * fails answers {@code UNAVAILABLE} (the sender retries: every write is
 * idempotent). Reads run on a small read pool, never behind writes.
 *
 * <ul>
 * <li>{@code Store}: validates (every record has a lid and is no hole, else
 *     {@code INVALID_ARGUMENT} and nothing is written), then stores at the
 *     request's epoch (write-once LIds, see {@link FlStore#store}):
 *     {@code STORED}, {@code SEALED} or {@code CONFLICT} with the LIds. Every
 *     reply carries the sealed epoch and how far this maintainer is indexed.</li>
 * <li>{@code FillHoles}: hole markers, answered like {@code Store}
 *     (see {@link FlStore#fillHoles}).</li>
 * <li>{@code Seal}: the epoch's compare-and-set, with the report of what is
 *     stored above the floor (see {@link FlStore#seal}).</li>
 * <li>{@code SetLayout}: a newer layout (see {@link FlStore#setLayout}).</li>
 * <li>{@code Read}: the records (and holes) this maintainer holds among
 *     {@code lids}, or in {@code [from_lid, from_lid + limit)} (limit default
 *     {@value #DEFAULT_LIMIT}, at most {@value #MAX_LIMIT}), in LId order.
 *     An answer is cut after about {@value #MAX_REPLY_BYTES} bytes (so it fits
 *     gRPC's message limit), or the request's {@code max_bytes} if smaller;
 *     readers continue after the last LId they got.</li>
 * <li>{@code Held}: which ids are stored here and not yet indexed
 *     (see {@link FlStore#held}).</li>
 * <li>{@code Stats}: counts, sealed epoch, floor, indexed-through, layout.</li>
 * </ul>
 */
public final class MaintainerService extends MaintainerGrpc.MaintainerImplBase {
    private static final Logger LOG = LoggerFactory.getLogger(MaintainerService.class);

    public static final int DEFAULT_LIMIT = 1000;
    public static final int MAX_LIMIT = 10_000;
    public static final long MAX_REPLY_BYTES = 48L << 20;

    private final EventLoop loop;
    private final RecordWriter writer;
    private final FlStore store;
    private final Executor reads;
    private final java.util.function.Supplier<java.util.Set<String>> indexHolders;

    /**
     * @param loop   the maintainer's loop: the only thread that writes
     * @param reads  where reads run (not the loop, not Netty's I/O threads)
     */
    public MaintainerService(EventLoop loop, RecordWriter writer, FlStore store, Executor reads) {
        this(loop, writer, store, reads, java.util.Set::of);
    }

    /** As above; {@code indexHolders} tells {@code Stats} which indexers hold this maintainer's entries. */
    public MaintainerService(EventLoop loop, RecordWriter writer, FlStore store, Executor reads,
                             java.util.function.Supplier<java.util.Set<String>> indexHolders) {
        this.loop = loop;
        this.writer = writer;
        this.store = store;
        this.reads = reads;
        this.indexHolders = indexHolders;
    }

    @Override
    public void store(StoreRequest request, StreamObserver<StoreReply> responses) {
        String problem = RecordWriter.problemWith(request.getRecordsList());
        if (problem != null) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription(problem).asRuntimeException());
            return;
        }
        // Batches from the queues are refused while the loop is behind: the queue's sender backs off and resends.
        if (!loop.offer(onLoopTask("flstore write of " + request.getRecordsCount() + " records", responses,
                () -> storeReply(writer.write(request.getEpoch(), request.getRecordsList()))))) {
            fail(responses, Status.RESOURCE_EXHAUSTED.withDescription(loop.behindMessage()));
        }
    }

    @Override
    public void fillHoles(HolesRequest request, StreamObserver<StoreReply> responses) {
        String problem = RecordWriter.problemWithHoles(request.getLidsList());
        if (problem != null) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription(problem).asRuntimeException());
            return;
        }
        onLoop("flstore write of " + request.getLidsCount() + " holes", responses,
                () -> storeReply(writer.fillHoles(request.getEpoch(), request.getLidsList())));
    }

    private StoreReply storeReply(FlStore.StoreResult result) {
        return storeReply(store, result);
    }

    /** The reply to a write, with the state it left (read on the loop, right after it). */
    public static StoreReply storeReply(FlStore store, FlStore.StoreResult result) {
        return StoreReply.newBuilder()
                .setStatus(result.status())
                .setAccepted(result.accepted())
                .addAllConflicts(result.conflicts())
                .setSealedEpoch(store.sealedEpoch())
                .setIndexedThrough(store.indexedThrough())
                .build();
    }

    @Override
    public void seal(SealRequest request, StreamObserver<SealReply> responses) {
        if (request.getEpoch() == 0 || request.getBy().isEmpty()) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription("a seal needs an epoch above 0 and a sealer "
                    + "(by), got epoch " + Long.toUnsignedString(request.getEpoch()) + " by \"" + request.getBy() + "\"")
                    .asRuntimeException());
            return;
        }
        onLoop("seal at epoch " + Long.toUnsignedString(request.getEpoch()), responses,
                () -> store.seal(request.getEpoch(), request.getBy(), request.getAfterLid()));
    }

    @Override
    public void setLayout(Layout request, StreamObserver<LayoutReply> responses) {
        if (request.getEpoch() == 0) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription("a layout at epoch 0: epochs start at 1")
                    .asRuntimeException());
            return;
        }
        onLoop("layout " + Long.toUnsignedString(request.getEpoch()) + "." + Long.toUnsignedString(request.getVersion()),
                responses, () -> store.setLayout(request));
    }

    /** Runs {@code write} on the loop and answers with what it returns, or {@code UNAVAILABLE} if it fails. */
    private <T> void onLoop(String what, StreamObserver<T> responses, Callable<T> write) {
        loop.execute(onLoopTask(what, responses, write));
    }

    private <T> Runnable onLoopTask(String what, StreamObserver<T> responses, Callable<T> write) {
        return () -> {
            T answer;
            try {
                answer = write.call();
            } catch (Exception e) {
                LOG.error("{} failed", what, e);
                fail(responses, Status.UNAVAILABLE.withDescription(what + " failed: " + e.getMessage()));
                return;
            }
            reply(responses, answer);
        };
    }

    @Override
    public void read(ReadRequest request, StreamObserver<RecordBatch> responses) {
        if (request.getLidsCount() > MAX_LIMIT) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription("at most " + MAX_LIMIT
                    + " lids per read, got " + request.getLidsCount()).asRuntimeException());
            return;
        }
        long maxBytes = request.getMaxBytes() > 0 ? Math.min(request.getMaxBytes(), MAX_REPLY_BYTES) : MAX_REPLY_BYTES;
        onReadPool(responses, () -> {
            List<RecordEnvelope> found = request.getLidsCount() > 0
                    ? store.get(request.getLidsList(), maxBytes)
                    : store.range(request.getFromLid(), limitOf(request), maxBytes);
            return RecordBatch.newBuilder().addAllRecords(found).build();
        });
    }

    /**
     * Runs {@code read} on the read pool and answers with what it returns,
     * {@code INTERNAL} if it fails, or {@code RESOURCE_EXHAUSTED} at once if
     * the pool's queue is full.
     */
    private <T> void onReadPool(StreamObserver<T> responses, Callable<T> read) {
        try {
            reads.execute(() -> {
                T answer;
                try {
                    answer = read.call();
                } catch (Exception e) {
                    LOG.error("flstore read failed", e);
                    fail(responses, Status.INTERNAL.withDescription("flstore read failed: " + e.getMessage()));
                    return;
                }
                reply(responses, answer);
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
    public void held(HeldRequest request, StreamObserver<HeldReply> responses) {
        onReadPool(responses, () -> {
            long lowest = store.lowestUnindexed();
            return HeldReply.newBuilder().addAllIds(store.held(request.getIdsList())).setLowestUnindexed(lowest).build();
        });
    }

    @Override
    public void stats(ReadRequest request, StreamObserver<MaintainerStats> responses) {
        reply(responses, stats(store).toBuilder().addAllIndexHolders(new java.util.TreeSet<>(indexHolders.get())).build());
    }

    /** What {@code Stats} answers: counts, the seal, the layout, how far stored and indexed. */
    public static MaintainerStats stats(FlStore store) {
        return MaintainerStats.newBuilder()
                .setStored(store.count())
                .setMaxLid(store.maxLid())
                .setUnindexed(store.unindexedCount())
                .setSealedEpoch(store.sealedEpoch())
                .setIndexedThrough(store.indexedThrough())
                .setFloor(store.floor())
                .setLayout(store.layout())
                .setHoles(store.holes())
                .addAllMaxToids(store.maxToids().toList())
                .build();
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
