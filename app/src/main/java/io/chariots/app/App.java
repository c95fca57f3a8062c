package io.chariots.app;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.grpc.Calls;
import io.chariots.common.grpc.ChannelPool;
import io.chariots.common.http.HttpServer;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.common.record.EdgeStamp;
import io.chariots.common.runtime.RoleRuntime;
import io.chariots.proto.BatcherGrpc;
import io.chariots.proto.RecordBatch;

import io.chariots.common.membership.Membership;
import io.grpc.Server;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The app process: the HTTP front on port 8080 and gRPC on port + 1000 (9080).
 * Wiring only; the API is {@link RecordRoutes} (appends), {@link ReadRoutes} and
 * {@link ReaderService} (reads, tails).
 */
public final class App {
    private App() {
    }

    public static RoleRuntime.Handle start(RoleConfig config) throws Exception {
        return RoleRuntime.launch(config, rt -> {
            AppConfig ac = AppConfig.from(config);
            NanoClock clock = NanoClock.SYSTEM;
            BatcherForwarder[] forwarder = new BatcherForwarder[1];
            EventLoop loop = new EventLoop("app", clock, now -> forwarder[0].poll(now));
            ChannelPool channels = rt.manage(new ChannelPool(rt.transport()));
            forwarder[0] = new BatcherForwarder(ac, (batcher, id, records) -> Calls.on(
                    BatcherGrpc.newFutureStub(channels.get(batcher)).withDeadlineAfter(ac.forwardTimeout().toMillis(), TimeUnit.MILLISECONDS)
                            .ingest(RecordBatch.newBuilder().addAllRecords(records).build()),
                    ack -> loop.execute(() -> forwarder[0].onAccepted(id)),
                    t -> loop.execute(() -> forwarder[0].onFailed(id, Calls.describe(t), clock.nanoTime()))));
            rt.manage(loop.start());
            RecordRoutes routes = new RecordRoutes(loop, clock, forwarder[0], channels,
                    new EdgeStamp("a", config.datacenter(), config.numDc()), rt.metrics().registry());
            AtomicReference<Membership> view = new AtomicReference<>(Membership.NONE);
            LogReader reader = new LogReader(channels, view::get, ac.readTimeout());
            ScheduledExecutorService tailTimer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "app-tail-timer");
                t.setDaemon(true);
                return t;
            });
            rt.manage(tailTimer::shutdownNow);
            ReadRoutes reads = new ReadRoutes(reader, tailTimer);
            rt.manage(reads.routes(routes.routes(rt.withAdminRoutes(HttpServer.builder().maxRequestBytes(ac.maxBodyBytes()))))
                    .start(rt.transport(), config.bindHost(), config.port()));
            Server grpc = rt.manage(rt.grpcServerBuilder(config.grpcPort())
                    .addService(new ReaderService(reader, tailTimer))
                    .build().start());
            rt.join(grpc.getPort(), m -> {
                view.set(m);
                routes.onMembership(m);
            });
            return () -> rt;
        });
    }
}
