package io.chariots.filter;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.grpc.Calls;
import io.chariots.common.grpc.ChannelPool;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.common.metrics.IngestDelay;
import io.chariots.common.runtime.RoleRuntime;
import io.chariots.proto.BatchAck;
import io.chariots.proto.EnqueueRequest;
import io.chariots.proto.FilterGrpc;
import io.chariots.proto.LayoutRequest;
import io.chariots.proto.QueueGrpc;
import io.chariots.proto.RecordBatch;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The filter process: {@link FilterCore} on its event loop, the Filter gRPC
 * service in front, queues behind. Wiring only. Setting {@code filter.window}
 * (default 1024) bounds the parts in flight to each queue: high, because a part is answered only once durable and may wait for causes in later parts; what bounds memory is the batchers' high water.
 */
public final class Filter {
    private Filter() {
    }

    public static RoleRuntime.Handle start(RoleConfig config) throws Exception {
        return RoleRuntime.launch(config, rt -> {
            NanoClock clock = NanoClock.SYSTEM;
            FilterCore[] core = new FilterCore[1];
            AtomicLong held = new AtomicLong();
            AtomicBoolean draining = new AtomicBoolean();
            EventLoop loop = new EventLoop("filter", clock, now -> {
                long next = core[0].poll(now);
                held.set(core[0].batchesInFlight());
                return next;
            });
            ChannelPool channels = rt.manage(new ChannelPool(rt.transport()));
            // A queue answers once the records are durable: seconds while a maintainer or indexer
            // recovers, so the deadline is long; a dead queue fails the call at once anyway.
            FilterCore.Sender sender = (queue, id, epoch, records) -> Calls.on(
                    QueueGrpc.newFutureStub(channels.get(queue)).withDeadlineAfter(120, TimeUnit.SECONDS)
                            .enqueue(EnqueueRequest.newBuilder().setEpoch(epoch).addAllRecords(records).build()),
                    reply -> loop.execute(() -> core[0].onReply(id, reply, clock.nanoTime())),
                    t -> loop.execute(() -> core[0].onFailed(id, queue + ": " + Calls.describe(t), clock.nanoTime())));
            FilterCore.LayoutSource layouts = queue -> Calls.on(
                    QueueGrpc.newFutureStub(channels.get(queue)).withDeadlineAfter(2, TimeUnit.SECONDS)
                            .getLayout(LayoutRequest.getDefaultInstance()),
                    layout -> loop.execute(() -> core[0].onLayout(layout, clock.nanoTime())),
                    t -> { });
            core[0] = new FilterCore(sender, layouts, config.settings().getInt("filter.window", 1024, 1, 1_000_000),
                    rt.metrics().registry());
            rt.manage(loop.start());
            IngestDelay received = new IngestDelay(rt.metrics().registry(), "filter_received", config.datacenter());
            Server grpc = rt.manage(rt.grpcServerBuilder(config.grpcPort()).addService(new FilterGrpc.FilterImplBase() {
                @Override
                public void forward(RecordBatch batch, StreamObserver<BatchAck> reply) {
                    received.batch(batch.getRecordsList());
                    if (draining.get()) {
                        reply.onError(Status.UNAVAILABLE.withDescription("filter stopping").asRuntimeException());
                        return;
                    }
                    int n = batch.getRecordsCount();
                    boolean queued = loop.offer(() -> core[0].onForward(batch.getRecordsList(), parked -> {
                        try {
                            reply.onNext(BatchAck.newBuilder().setAccepted(n - parked.size()).addAllParkedIds(parked).build());
                            reply.onCompleted();
                        } catch (RuntimeException e) {
                            // the batcher went away; it resends what it did not hear about
                        }
                    }, clock.nanoTime()));
                    if (!queued) {
                        reply.onError(Status.RESOURCE_EXHAUSTED.withDescription(loop.behindMessage()).asRuntimeException());
                    }
                }
            }).build().start());
            // A clean stop: new batches are refused (batchers send them to other filters); those taken are
            // answered once durable, then the filter closes.
            rt.onDrain(new RoleRuntime.Drain() {
                @Override
                public void start() {
                    draining.set(true);
                }

                @Override
                public boolean done() {
                    return held.get() == 0;
                }

                @Override
                public String holding() {
                    return held.get() + " batch(es) not yet durable";
                }
            });
            rt.startAdminServer();
            rt.roleHealth(() -> Map.of("epoch", core[0].epoch(), "batchesInFlight", core[0].batchesInFlight()));
            rt.join(grpc.getPort(), view -> loop.execute(() -> core[0].onMembership(view, clock.nanoTime())));
            return () -> rt;
        });
    }
}
