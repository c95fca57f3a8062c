package io.chariots.controller;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.http.HttpServer;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.common.runtime.RoleRuntime;
import io.chariots.proto.Layout;
import io.chariots.proto.Role;
import io.grpc.Server;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;

/**
 * The controller process: the membership registry on its own event loop, the
 * HTTP API on {@code port} (8081) and the Controller gRPC service (Join,
 * ReportLayout) on {@code grpc_port} (9081). Its state (members, layout, view
 * epoch) lives in its data directory ({@link StateFile}), so a restart forgets
 * nothing. The other datacenters' batchers named in {@code remote_batchers}
 * are listed from the start. Startup wiring only.
 */
public final class Controller implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Controller.class);
    private static final long SAVE_AT_START_SECONDS = 10;

    private final RoleRuntime runtime;
    private final HttpServer http;
    private final Server grpc;

    private Controller(RoleRuntime runtime, HttpServer http, Server grpc) {
        this.runtime = runtime;
        this.http = http;
        this.grpc = grpc;
    }

    /**
     * Starts a controller: restores the state saved in {@code data_dir} (or
     * starts empty when there is none usable, saying why), saves it under a
     * new view epoch, then serves.
     *
     * @throws IOException when the data directory is held by another process or the state cannot be saved
     */
    public static Controller start(RoleConfig config) throws IOException, InterruptedException {
        return start(config, System::currentTimeMillis);
    }

    /** As {@link #start(RoleConfig)}, on the given wall clock. */
    static Controller start(RoleConfig config, LongSupplier wallMillis) throws IOException, InterruptedException {
        RoleRuntime rt = new RoleRuntime(config);
        try {
            ControllerConfig cc = ControllerConfig.from(config);
            NanoClock clock = NanoClock.SYSTEM;
            StateFile file = new StateFile(rt.dataDir());
            StateFile.Loaded saved = file.load();
            long epoch = saved.nextViewEpoch(wallMillis.getAsLong());
            StateWriter state = rt.manage(new StateWriter(file));
            MemberRegistry[] holder = new MemberRegistry[1];
            EventLoop loop = new EventLoop("controller", clock, now -> holder[0].poll(now));
            TcpProber prober = rt.manage(new TcpProber(loop, clock));
            MemberRegistry registry = new MemberRegistry(cc, epoch, wallMillis, prober, state);
            holder[0] = registry;
            prober.registry(registry);
            registry.restore(saved.stateOrEmpty(), clock.nanoTime());
            // Listed at once, whether or not they answer yet: another datacenter may start later than this one.
            registry.configureRemoteBatchers(config.remoteDatacenters().all().values(), clock.nanoTime());
            awaitSaved(state, file);
            LOG.info("view epoch {}{}", epoch, saved.state() != null
                    ? " (after " + saved.state().getViewEpoch() + ")" : " (from the wall clock: no saved state)");
            rt.manage(loop.start());
            var reg = rt.metrics().registry();
            Counter bad = Counter.builder("chariots_controller_bad_requests_total")
                    .description("Malformed registrations and HTTP requests").register(reg);
            Gauge.builder("chariots_controller_membership_version", registry, MemberRegistry::version).register(reg);
            Gauge.builder("chariots_controller_membership_changes", registry, MemberRegistry::changes).register(reg);
            Gauge.builder("chariots_controller_view_epoch", registry, MemberRegistry::epoch)
                    .description("Epoch of the membership views: grows with every controller start").register(reg);
            Gauge.builder("chariots_controller_layout_epoch", registry, r -> r.layout().getEpoch())
                    .description("Fencing epoch of the newest layout reported (0: none yet)").register(reg);
            FunctionCounter.builder("chariots_controller_state_write_failures_total", state, StateWriter::failures)
                    .description("Failed writes of the controller's state file").register(reg);
            for (Role r : EnumSet.of(Role.APP, Role.BATCHER, Role.FILTER, Role.QUEUE, Role.MAINTAINER, Role.INDEXER)) {
                Gauge.builder("chariots_controller_live_members", registry, g -> g.listedCount(r))
                        .tag("member_role", RoleConfig.roleName(r)).register(reg);
            }
            Counter refused = Counter.builder("chariots_controller_registrations_refused_total")
                    .description("Registrations whose gRPC address did not answer as the role and instance claimed")
                    .register(reg);
            MemberAdmission admission = new MemberAdmission(loop, clock, rt.transport(), cc.verifyTimeout(),
                    cc.verifyMembers(), refused);
            String selfUrl = (rt.edgeTls() != null ? "https://" : "http://") + rt.advertiseHost() + ":" + config.port();
            ControllerHttp api = new ControllerHttp(loop, registry, clock, config, selfUrl, bad, admission, rt.auth());
            HttpServer http = rt.manage(api.routes(rt.withAdminRoutes(HttpServer.builder().tls(rt.edgeTls())))
                    .start(rt.transport(), config.bindHost(), config.port()));
            Server grpc = rt.manage(rt.grpcServerBuilder(config.grpcPort())
                    .addService(new ControllerService(loop, registry, state, clock, bad, admission)).build().start());
            rt.roleHealth(() -> health(grpc.getPort(), registry, state));
            rt.serving();
            return new Controller(rt, http, grpc);
        } catch (IOException | InterruptedException | RuntimeException e) {
            rt.close();
            throw e;
        }
    }

    /** A view at this start's epoch may go out only once the epoch is durable: else the next start would reuse it. */
    private static void awaitSaved(StateWriter state, StateFile file) throws IOException, InterruptedException {
        try {
            state.flush().get(SAVE_AT_START_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new IOException("cannot save the controller state to " + file.path() + ": " + cause, cause);
        }
    }

    private static Map<String, Object> health(int grpcPort, MemberRegistry registry, StateWriter state) {
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("grpcPort", grpcPort);
        h.put("viewEpoch", registry.epoch());
        Layout layout = registry.layout();
        h.put("layoutEpoch", layout.getEpoch());
        h.put("layoutVersion", layout.getVersion());
        IOException e = state.lastError();
        if (e != null) {
            h.put("stateError", e.toString());
        }
        return h;
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
