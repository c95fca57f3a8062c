package io.chariots.queue;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.grpc.ChannelPool;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.common.metrics.IngestDelay;
import io.chariots.common.runtime.RoleRuntime;
import io.chariots.proto.RingMember;
import io.grpc.Server;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/** The queue process: one {@link TokenRing} on its event loop behind the Queue gRPC service. Wiring only. */
public final class Queue {
    private Queue() {
    }

    public static RoleRuntime.Handle start(RoleConfig config) throws Exception {
        return RoleRuntime.launch(config, rt -> {
            QueueConfig qc = QueueConfig.from(config);
            NanoClock clock = NanoClock.SYSTEM;
            TokenRing[] ring = new TokenRing[1];
            QueueService[] service = new QueueService[1];
            AtomicBoolean left = new AtomicBoolean();
            EventLoop loop = new EventLoop("queue", clock, now -> {
                long next = ring[0].poll(now);
                service[0].publish(ring[0].layout());
                left.set(ring[0].left());
                return next;
            });
            ChannelPool channels = new ChannelPool(rt.transport());
            GrpcQueueLinks links = new GrpcQueueLinks(channels, loop, clock, config.controllerGrpc().toString());
            RingMember self = RingMember.newBuilder().setInstanceId(rt.instanceId())
                    .setAddress(rt.advertiseHost() + ":" + config.grpcPort()).build();
            QueueMetrics metrics = new QueueMetrics(rt.metrics().registry());
            ring[0] = new TokenRing(qc, self, links, metrics, new java.util.Random(), clock.nanoTime());
            service[0] = new QueueService(loop, ring[0], clock,
                    new IngestDelay(rt.metrics().registry(), "queue_received", config.datacenter()));
            links.ring(ring[0]);
            rt.manage(channels);
            rt.manage(loop.start());
            Server grpc = rt.manage(rt.grpcServerBuilder(config.grpcPort()).addService(service[0]).build().start());
            // A clean stop: leave the ring at the next epoch (no hole; filters resend what this queue held
            // to the new owners), then close.
            rt.onDrain(new RoleRuntime.Drain() {
                @Override
                public void start() {
                    loop.execute(() -> ring[0].leave(clock.nanoTime()));
                }

                @Override
                public boolean done() {
                    return left.get();
                }

                @Override
                public String holding() {
                    return "still in the ring of epoch " + ring[0].status().getEpoch();
                }
            });
            rt.startAdminServer();
            rt.roleHealth(() -> {
                Map<String, Object> h = new LinkedHashMap<>();
                var s = ring[0].status();
                h.put("ring", ring[0].state().name());
                h.put("epoch", s.getEpoch());
                var known = metrics.layout();
                h.put("ringEpoch", known.getEpoch());
                h.put("ringMembers", known.getRingList().stream().map(m -> m.getAddress()).toList());
                h.put("ringInstances", known.getRingList().stream().map(m -> m.getInstanceId()).toList());
                h.put("holding", s.getHolding());
                h.put("hold", qc.hold());
                h.put("buffered", ring[0].buffered());
                h.put("recoveries", metrics.recoveries());
                h.put("holesFilled", metrics.holesFilled());
                String note = ring[0].recoveryNote();
                if (!note.isEmpty()) {
                    h.put("recovery", note);
                }
                return h;
            });
            rt.join(grpc.getPort(), view -> loop.execute(() -> ring[0].onMembership(view, clock.nanoTime())))
                    .note(ring[0]::recoveryNote);
            return () -> rt;
        });
    }
}
