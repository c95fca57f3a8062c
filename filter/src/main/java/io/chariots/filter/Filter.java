package io.chariots.filter;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.grpc.Calls;
import io.chariots.common.grpc.ChannelPool;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.common.runtime.RoleRuntime;
import io.chariots.proto.BatchAck;
import io.chariots.proto.FilterGrpc;
import io.chariots.proto.QueueGrpc;
import io.chariots.proto.RecordBatch;
import io.grpc.Server;
import io.grpc.stub.StreamObserver;

import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The filter process: {@link FilterCore} on its event loop, the Filter gRPC
 * service in front, queues behind. Wiring only. Setting {@code filter.dedup_capacity}
 * (default 1000000) bounds how many recent ids it remembers.
 */
public final class Filter {
    private Filter() {
    }

    public static RoleRuntime.Handle start(RoleConfig config) throws Exception {
        return RoleRuntime.launch(config, rt -> {
            NanoClock clock = NanoClock.SYSTEM;
            FilterCore[] core = new FilterCore[1];
            EventLoop loop = new EventLoop("filter", clock, now -> core[0].poll(now));
            ChannelPool channels = rt.manage(new ChannelPool(rt.transport()));
            core[0] = new FilterCore((queue, id, records) -> Calls.on(
                    QueueGrpc.newFutureStub(channels.get(queue)).withDeadlineAfter(60, TimeUnit.SECONDS)
                            .enqueue(RecordBatch.newBuilder().addAllRecords(records).build()),
                    ack -> loop.execute(() -> core[0].onEnqueued(id)),
                    t -> loop.execute(() -> core[0].onEnqueueFailed(id, queue + ": " + Calls.describe(t), clock.nanoTime()))),
                    config.settings().getInt("filter.dedup_capacity", 1_000_000, 1, 100_000_000), rt.metrics().registry());
            rt.manage(loop.start());
            Server grpc = rt.manage(rt.grpcServerBuilder(config.grpcPort()).addService(new FilterGrpc.FilterImplBase() {
                @Override
                public void forward(RecordBatch batch, StreamObserver<BatchAck> reply) {
                    int n = batch.getRecordsCount();
                    loop.execute(() -> core[0].onForward(batch.getRecordsList(), () -> {
                        reply.onNext(BatchAck.newBuilder().setAccepted(n).build());
                        reply.onCompleted();
                    }, clock.nanoTime()));
                }
            }).build().start());
            rt.startAdminServer();
            rt.roleHealth(() -> Map.of("rememberedIds", core[0].remembered()));
            rt.join(grpc.getPort(), view -> loop.execute(() -> core[0].onMembership(view, clock.nanoTime())));
            return () -> rt;
        });
    }
}
