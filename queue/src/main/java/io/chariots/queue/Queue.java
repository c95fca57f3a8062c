package io.chariots.queue;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.grpc.ChannelPool;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.common.runtime.RoleRuntime;
import io.grpc.Server;

import java.util.LinkedHashMap;
import java.util.Map;

/** The queue process: one {@link TokenRing} on its event loop behind the Queue gRPC service. Wiring only. */
public final class Queue {
    private Queue() {
    }

    public static RoleRuntime.Handle start(RoleConfig config) throws Exception {
        return RoleRuntime.launch(config, rt -> {
            QueueConfig qc = QueueConfig.from(config);
            NanoClock clock = NanoClock.SYSTEM;
            TokenRing[] ring = new TokenRing[1];
            EventLoop loop = new EventLoop("queue", clock, now -> ring[0].poll(now));
            ChannelPool channels = new ChannelPool(rt.transport());
            GrpcQueueLinks links = new GrpcQueueLinks(channels, loop, clock);
            String self = rt.advertiseHost() + ":" + config.grpcPort();
            ring[0] = new TokenRing(qc, self, links, rt.metrics().registry());
            ring[0].maintainerLink(links);
            links.ring(ring[0]);
            rt.manage(channels);
            rt.manage(loop.start());
            Server grpc = rt.manage(rt.grpcServerBuilder(config.grpcPort())
                    .addService(new QueueService(loop, ring[0], clock)).build().start());
            rt.startAdminServer();
            rt.roleHealth(() -> {
                Map<String, Object> h = new LinkedHashMap<>();
                h.put("ring", ring[0].state().name());
                h.put("hold", qc.hold());
                h.put("buffered", ring[0].buffered());
                return h;
            });
            rt.join(grpc.getPort(), view -> loop.execute(() -> {
                ring[0].onMembership(view, clock.nanoTime());
            }));
            return () -> rt;
        });
    }
}
