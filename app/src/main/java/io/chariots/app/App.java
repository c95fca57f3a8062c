package io.chariots.app;

import io.chariots.common.read.LogReader;
import io.chariots.common.auth.ClientToken;
import io.chariots.proto.ReaderGrpc;
import io.chariots.common.acks.AcksService;
import io.chariots.common.acks.AppendWaiters;
import io.chariots.common.acks.IndexerLookup;
import io.chariots.common.config.RoleConfig;
import io.chariots.common.grpc.Calls;
import io.chariots.common.grpc.ChannelPool;
import io.chariots.common.http.HttpServer;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.common.membership.Membership;
import io.chariots.common.record.EdgeStamp;
import io.chariots.common.runtime.RoleRuntime;
import io.chariots.proto.BatcherGrpc;
import io.chariots.proto.RecordBatch;
import io.grpc.Server;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The app process: the HTTP front on port 8080 and gRPC on port + 1000 (9080),
 * where it serves {@code Acks} (notices for {@code wait=true} appends) and
 * {@code Reader} (tails). Wiring only; the API is {@link RecordRoutes}
 * (appends), {@link ReadRoutes} and {@link ReaderService} (reads, tails).
 */
public final class App {
    private App() {
    }

    public static RoleRuntime.Handle start(RoleConfig config) throws Exception {
        return RoleRuntime.launch(config, rt -> {
            AppConfig ac = AppConfig.from(config);
            NanoClock clock = NanoClock.SYSTEM;
            BatcherForwarder[] forwarder = new BatcherForwarder[1];
            AppendWaiters[] waiters = new AppendWaiters[1];
            AtomicLong held = new AtomicLong();
            EventLoop loop = new EventLoop("app", clock, now -> {
                long next = EventLoop.Ticker.earlier(forwarder[0].poll(now), waiters[0].poll(now));
                held.set(forwarder[0].inFlightRecords() + waiters[0].waitingIds());
                return next;
            });
            ChannelPool channels = rt.manage(new ChannelPool(rt.transport()));
            waiters[0] = new AppendWaiters(new IndexerLookup(channels, loop, Duration.ofSeconds(2)),
                    AppendWaiters.Limits.defaults().withMaxWaiting(ac.maxWaiting()), config.datacenter());
            forwarder[0] = new BatcherForwarder(ac, (batcher, id, records) -> Calls.on(
                    BatcherGrpc.newFutureStub(channels.get(batcher)).withDeadlineAfter(ac.forwardTimeout().toMillis(), TimeUnit.MILLISECONDS)
                            .ingest(RecordBatch.newBuilder().addAllRecords(records).build()),
                    ack -> loop.execute(() -> forwarder[0].onAccepted(id, clock.nanoTime())),
                    t -> loop.execute(() -> forwarder[0].onFailed(id, Calls.describe(t), clock.nanoTime()))));
            rt.manage(loop.start());
            AtomicReference<Membership> view = new AtomicReference<>(Membership.NONE);
            LogReader reader = new LogReader(channels, view::get, ac.readTimeout());
            ScheduledExecutorService tailTimer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "app-tail-timer");
                t.setDaemon(true);
                return t;
            });
            rt.manage(tailTimer::shutdownNow);
            // gRPC first: its address goes into every waiting record as ack_to.
            ClientToken clientToken = ClientToken.from(config.settings(), rt.metrics().registry());
            io.grpc.netty.NettyServerBuilder grpcBuilder = rt.grpcServerBuilder(config.grpcPort());
            if (clientToken != null) {
                grpcBuilder.intercept(clientToken.grpc(ReaderGrpc.SERVICE_NAME));
            }
            Server grpc = rt.manage(grpcBuilder
                    .addService(new AcksService(loop, waiters[0]))
                    .addService(new ReaderService(reader, tailTimer, config.numDc()))
                    .build().start());
            String ackTo = rt.advertiseHost() + ":" + grpc.getPort();
            waiters[0].registerMeters(rt.metrics().registry(), "app");
            RecordRoutes routes = new RecordRoutes(loop, clock, forwarder[0], channels,
                    new EdgeStamp("a", config.datacenter(), config.numDc()), waiters[0], ackTo, ac.waitTimeout(),
                    ac.maxRequestRecords(), rt.metrics().registry());
            ReadRoutes reads = new ReadRoutes(reader, tailTimer, config.numDc());
            HttpServer.Builder http = rt.withAdminRoutes(HttpServer.builder().maxRequestBytes(ac.maxBodyBytes()).tls(rt.edgeTls()));
            if (clientToken != null) {
                http.through(clientToken::protect); // every route after /health and /metrics
            }
            rt.manage(reads.routes(routes.routes(http)).start(rt.transport(), config.bindHost(), config.port()));
            // A clean stop: appends answered 503 (clients retry at another app); what was accepted reaches a
            // batcher and every wait=true request is answered before the app closes.
            rt.onDrain(new RoleRuntime.Drain() {
                @Override
                public void start() {
                    routes.stop();
                }

                @Override
                public boolean done() {
                    return held.get() == 0;
                }

                @Override
                public String holding() {
                    return held.get() + " record(s) not yet at a batcher or awaited";
                }
            });
            rt.join(grpc.getPort(), m -> {
                view.set(m);
                routes.onMembership(m);
            });
            return () -> rt;
        });
    }
}
