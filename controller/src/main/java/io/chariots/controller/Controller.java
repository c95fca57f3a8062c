package io.chariots.controller;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.http.HttpServer;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.common.runtime.RoleRuntime;
import io.chariots.proto.Role;
import io.grpc.Server;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;

import java.io.IOException;
import java.util.EnumSet;

/**
 * The controller process: the membership registry on its own event loop, the
 * HTTP API on {@code port} (8081) and the Join gRPC service on
 * {@code grpc_port} (9081). Startup wiring only.
 */
public final class Controller implements AutoCloseable {
    private final RoleRuntime runtime;
    private final EventLoop loop;
    private final HttpServer http;
    private final Server grpc;

    private Controller(RoleRuntime runtime, EventLoop loop, HttpServer http, Server grpc) {
        this.runtime = runtime;
        this.loop = loop;
        this.http = http;
        this.grpc = grpc;
    }

    public static Controller start(RoleConfig config) throws IOException, InterruptedException {
        RoleRuntime rt = new RoleRuntime(config);
        try {
            ControllerConfig cc = ControllerConfig.from(config);
            NanoClock clock = NanoClock.SYSTEM;
            MemberRegistry[] holder = new MemberRegistry[1];
            EventLoop loop = new EventLoop("controller", clock, now -> holder[0].poll(now));
            TcpProber prober = rt.manage(new TcpProber(loop, clock));
            MemberRegistry registry = new MemberRegistry(cc, System.currentTimeMillis(), System::currentTimeMillis, prober);
            holder[0] = registry;
            prober.registry(registry);
            rt.manage(loop.start());
            var reg = rt.metrics().registry();
            Counter bad = Counter.builder("chariots_controller_bad_requests_total")
                    .description("Malformed registrations and HTTP requests").register(reg);
            Gauge.builder("chariots_controller_membership_version", registry, MemberRegistry::version).register(reg);
            Gauge.builder("chariots_controller_membership_changes", registry, MemberRegistry::changes).register(reg);
            for (Role r : EnumSet.of(Role.APP, Role.BATCHER, Role.FILTER, Role.QUEUE, Role.MAINTAINER, Role.INDEXER)) {
                Gauge.builder("chariots_controller_live_members", registry, g -> g.listedCount(r))
                        .tag("member_role", RoleConfig.roleName(r)).register(reg);
            }
            String selfUrl = "http://" + rt.advertiseHost() + ":" + config.port();
            ControllerHttp api = new ControllerHttp(loop, registry, clock, config, selfUrl, bad);
            HttpServer http = rt.manage(api.routes(rt.withAdminRoutes(HttpServer.builder()))
                    .start(rt.transport(), config.bindHost(), config.port()));
            Server grpc = rt.manage(rt.grpcServerBuilder(config.grpcPort())
                    .addService(new ControllerService(loop, registry, clock, bad)).build().start());
            rt.roleHealth(() -> java.util.Map.of("grpcPort", grpc.getPort()));
            rt.serving();
            return new Controller(rt, loop, http, grpc);
        } catch (IOException | InterruptedException | RuntimeException e) {
            rt.close();
            throw e;
        }
    }

    public int httpPort() {
        return http.port();
    }

    public int grpcPort() {
        return grpc.getPort();
    }

    public RoleRuntime runtime() {
        return runtime;
    }

    @Override
    public void close() {
        runtime.close();
    }
}
