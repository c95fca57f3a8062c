package io.chariots.queue;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.grpc.ChannelPool;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.common.metrics.IngestDelay;
import io.chariots.common.runtime.RoleRuntime;
import io.chariots.proto.RingMember;
import io.grpc.Server;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/** The queue process: one {@link TokenRing} on its event loop behind the Queue gRPC service. Wiring only. */
public final class Queue {
    /** The file in a queue's data directory that keeps its dedup memory across a clean stop ({@code .tmp} while written). */
    public static final String MEMORY_FILE = "dedup-memory";
    /** Where the memory is written before it is synced and renamed to {@link #MEMORY_FILE}. */
    public static final String MEMORY_TMP_FILE = MEMORY_FILE + ".tmp";
    private static final Logger LOG = LoggerFactory.getLogger(Queue.class);

    private Queue() {
    }

    public static RoleRuntime.Handle start(RoleConfig config) throws Exception {
        return RoleRuntime.launch(config, rt -> {
            QueueConfig qc = QueueConfig.from(config);
            NanoClock clock = NanoClock.SYSTEM;
            TokenRing[] ring = new TokenRing[1];
            QueueService[] service = new QueueService[1];
            AtomicBoolean left = new AtomicBoolean();
            Path dataDir = dataDir(rt);
            EventLoop loop = new EventLoop("queue", clock, now -> {
                long next = ring[0].poll(now);
                service[0].publish(ring[0].layout());
                if (!left.get() && ring[0].left()) {
                    keepMemory(ring[0], dataDir, now);
                    left.set(true);
                }
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
            restoreMemory(ring[0], dataDir, clock);
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

    /** Keeps the dedup memory for the next start (a clean stop, out of the ring); a failure costs only checks then. */
    private static void keepMemory(TokenRing ring, Path dir, long now) {
        if (dir == null) {
            return;
        }
        long logEnd = ring.durableLogEnd();
        if (logEnd < 0) {
            LOG.info("dedup memory not kept: LIds given out are not yet known stored, so the next start could not tell"
                    + " whether the log went on; it checks every new id against the id index for a window");
            return;
        }
        long t0 = System.nanoTime();
        try {
            DedupMemory.save(dir, out -> ring.keepMemory(out, logEnd, now, DedupMemory.Stamp.now()));
            LOG.info("kept the dedup memory in {} for the next start, the log ending at LId {} ({} ms)",
                    dir.resolve(MEMORY_FILE), Long.toUnsignedString(logEnd), (System.nanoTime() - t0) / 1_000_000);
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not keep the dedup memory in {}: the next start checks every new id against the id index for"
                    + " a window, as after a crash", dir, e);
        }
    }

    /** Takes the memory the last clean stop kept, if any, before the loop starts. */
    private static void restoreMemory(TokenRing ring, Path dir, NanoClock clock) {
        if (dir == null) {
            return;
        }
        try {
            Optional<IdLedger.Memory> kept = DedupMemory.take(dir, ring::readMemory);
            if (kept.isPresent()) {
                // Both clocks read after the file: the time taking it took must not age the memory.
                ring.restoreMemory(kept.get(), clock.nanoTime(), DedupMemory.Stamp.now());
                LOG.info("restored the dedup memory the last clean stop kept; it is used once the first epoch shows that"
                        + " nobody appended since");
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not restore the dedup memory in {} ({}): every new id is checked against the id index for a"
                    + " window, as after a crash", dir, e.toString());
        }
    }

    /** The data directory, held by this process; null (no memory kept across a stop) if it cannot be had. */
    private static Path dataDir(RoleRuntime rt) {
        try {
            return rt.dataDir();
        } catch (IOException | RuntimeException e) {
            LOG.warn("no data directory ({}): this queue keeps no dedup memory across a stop, and checks every new id"
                    + " against the id index for a window after each start", e.getMessage());
            return null;
        }
    }
}
