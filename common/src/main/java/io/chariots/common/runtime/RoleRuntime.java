package io.chariots.common.runtime;

import io.chariots.common.auth.ClusterAuth;
import io.chariots.common.auth.ClusterSecret;
import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;
import io.chariots.common.frame.ByteBudget;
import io.chariots.common.grpc.MessageLimits;
import io.chariots.common.http.HttpServer;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.membership.Membership;
import io.chariots.common.membership.MembershipClient;
import io.chariots.common.metrics.RoleMetrics;
import io.chariots.common.net.ClusterTls;
import io.chariots.common.net.EdgeGuard;
import io.chariots.common.net.NettyTransport;
import io.chariots.proto.Member;
import io.chariots.proto.IdentityGrpc;
import io.chariots.proto.ReaderGrpc;
import io.chariots.proto.Role;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The process-level parts every role has: Netty event loops, metrics, the
 * admin HTTP endpoint ({@code /health}, {@code /metrics}), a gRPC server
 * builder, and the membership link to the controller. A role's {@code Main}
 * creates one, adds its own servers, then {@link #join joins}.
 *
 * <p>Lifecycle: {@code STARTING → SERVING → DRAINING → STOPPING → STOPPED};
 * SERVING once every server is bound, whether or not the controller has
 * answered yet. A clean stop (SIGTERM) first drains: each {@link Drain} the
 * role registered stops taking new work and hands on what it holds, and the
 * process waits until all say they are done (at most {@code drain_ms},
 * default 20000) before it closes — so scaling a stage down loses nothing.
 *
 * <p>The runtime watches the role's {@link EventLoop}s: one that has been
 * inside a task for {@code loop_stall_ms} (or died) makes {@code /health}
 * answer DOWN; after three times that it stops the heartbeats, so the
 * controller drops the member from the views instead of routing to a role
 * that no longer works.
 */
public final class RoleRuntime implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RoleRuntime.class);

    /** Lifecycle of a role process. */
    public enum State { STARTING, SERVING, DRAINING, STOPPING, STOPPED }

    /** What a role does on a clean stop before it closes. */
    public interface Drain {
        /** Stops taking new work and starts handing on what this part holds. Called once. */
        void start();

        /** Whether nothing is held here anymore (polled from another thread: read volatile state). */
        boolean done();

        /** What is still held, for the log line when draining takes long. */
        String holding();
    }

    private final RoleConfig config;
    private final String instanceId;
    private final NettyTransport transport;
    private final RoleMetrics metrics;
    private final ClusterAuth auth;
    private final ClusterTls tls;
    private final String advertiseHost;
    private final CopyOnWriteArrayList<AutoCloseable> closeables = new CopyOnWriteArrayList<>();
    private final CopyOnWriteArrayList<Drain> drains = new CopyOnWriteArrayList<>();
    private final CopyOnWriteArrayList<EventLoop> loops = new CopyOnWriteArrayList<>();
    private final long startedAtMs = System.currentTimeMillis();
    private volatile State state = State.STARTING;
    private volatile MembershipClient membership;
    private volatile Supplier<Map<String, Object>> roleHealth = Map::of;
    private HttpServer adminServer;
    private DataDir dataDir;

    public RoleRuntime(RoleConfig config) {
        this.config = config;
        this.instanceId = RoleConfig.roleName(config.role()) + "-" + UUID.randomUUID().toString().substring(0, 8);
        this.metrics = new RoleMetrics(RoleConfig.roleName(config.role()), instanceId);
        this.auth = ClusterAuth.from(config.settings(), metrics.registry());
        if (auth == null) {
            LOG.warn("no cluster secret (cluster_secret or cluster_secret_file): this cluster is open; any process that"
                    + " reaches its gRPC ports can join it or call its roles (see the README, Security)");
        } else {
            Settings s = config.settings();
            LOG.info("cluster secret {}: every call between roles proves it", s.has(ClusterSecret.FILE_KEY)
                    ? "read from " + s.getString(ClusterSecret.FILE_KEY, "") + " (" + ClusterSecret.FILE_KEY + " from "
                    + s.sourceOf(ClusterSecret.FILE_KEY) + ")"
                    : "from " + ClusterSecret.KEY + " (" + s.sourceOf(ClusterSecret.KEY) + ")");
        }
        this.tls = ClusterTls.from(config.settings());
        if (tls != null) {
            LOG.info("TLS: gRPC between roles over mutual TLS (authority {}){}", tls.authority(),
                    tls.edgeServer() != null ? "; the client-facing ports serve TLS" : "; the client-facing ports stay plaintext (tls.edges)");
        }
        this.transport = new NettyTransport(RoleConfig.roleName(config.role()),
                Math.max(2, Math.min(4, Runtime.getRuntime().availableProcessors())), auth == null ? null : auth.secret(), tls);
        this.advertiseHost = config.advertiseHost() != null ? config.advertiseHost() : detectAdvertiseHost(config);
    }

    /**
     * The address others reach us at: the local address of a connection to
     * the controller — right in Docker (the container's address on the network
     * it shares with the controller) and on loopback alike. A remote controller
     * that is not up yet is waited for (up to {@value #ADVERTISE_WAIT_MS} ms:
     * in a Swarm nothing orders the starts); then loopback when the controller
     * is on loopback, else this host's address. The controller itself never
     * waits: everyone else waits for it, and its own port is not bound yet.
     */
    static String detectAdvertiseHost(RoleConfig config) {
        String host = config.controller().host();
        boolean loopback;
        InetAddress controller = null;
        try {
            controller = InetAddress.getByName(host);
            loopback = controller.isLoopbackAddress();
        } catch (IOException unresolved) {
            loopback = false; // not in DNS yet: a remote controller still starting
        }
        if (config.role() == Role.CONTROLLER) {
            // Its name resolves to one of its own addresses in Docker: that one is right.
            return controller != null && !loopback && isLocal(controller) ? controller.getHostAddress()
                    : fallbackHost(host, loopback);
        }
        long deadline = System.nanoTime() + ADVERTISE_WAIT_MS * 1_000_000L;
        for (int attempt = 0; ; attempt++) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(host, config.controller().port()), 500);
                return s.getLocalAddress().getHostAddress();
            } catch (IOException e) {
                if (loopback || System.nanoTime() > deadline) {
                    break;
                }
                if (attempt == 0) {
                    LOG.info("controller {} not reachable yet ({}); waiting up to {} s to learn this role's address"
                            + " (set advertise to skip)", config.controller(), e.getMessage(), ADVERTISE_WAIT_MS / 1000);
                }
                try {
                    Thread.sleep(500);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        return fallbackHost(host, loopback);
    }

    /** Heartbeats stop after this many times {@code loop_stall_ms} in one task (/health says DOWN after one). */
    static final int HEARTBEAT_STALLS = 3;

    /** How long a role waits for a remote controller to learn the address to advertise. */
    static final long ADVERTISE_WAIT_MS = 30_000;

    private static boolean isLocal(InetAddress address) {
        try {
            return NetworkInterface.getByInetAddress(address) != null;
        } catch (IOException e) {
            return false;
        }
    }

    private static String fallbackHost(String controllerHost, boolean loopback) {
        try {
            return loopback ? InetAddress.getByName(controllerHost).getHostAddress() : InetAddress.getLocalHost().getHostAddress();
        } catch (IOException e) {
            return "127.0.0.1";
        }
    }

    /** Wires a role on a fresh runtime; on failure everything started so far is closed. */
    @FunctionalInterface
    public interface Wiring<T> {
        T wire(RoleRuntime runtime) throws Exception;
    }

    /**
     * Creates the runtime and runs {@code wiring}, which binds the role's
     * servers and calls {@link #join}. If it throws, the runtime is closed and
     * the exception rethrown: a role never half-starts.
     */
    public static <T> T launch(RoleConfig config, Wiring<T> wiring) throws Exception {
        RoleRuntime rt = new RoleRuntime(config);
        try {
            return wiring.wire(rt);
        } catch (Exception | Error e) {
            rt.close();
            throw e;
        }
    }

    /** A running role process: what {@code launch} wirings return. */
    public interface Handle extends AutoCloseable {
        RoleRuntime runtime();

        @Override
        default void close() {
            runtime().close();
        }
    }

    /**
     * Starts a role that so far serves only its gRPC port (empty of services
     * until its pipeline exists), admin endpoint and membership.
     */
    public static Handle launchGrpcRole(RoleConfig config) throws Exception {
        return launch(config, rt -> {
            Server grpc = rt.manage(rt.grpcServerBuilder(config.grpcPort()).build().start());
            rt.startAdminServer();
            rt.join(grpc.getPort(), m -> { });
            return () -> rt;
        });
    }

    public RoleConfig config() {
        return config;
    }

    public String instanceId() {
        return instanceId;
    }

    public NettyTransport transport() {
        return transport;
    }

    public RoleMetrics metrics() {
        return metrics;
    }

    public String advertiseHost() {
        return advertiseHost;
    }

    public State state() {
        return state;
    }

    /** Extra fields for {@code /health}; a {@code "status"} other than "UP" makes it answer 503. */
    public void roleHealth(Supplier<Map<String, Object>> health) {
        this.roleHealth = health;
    }

    /**
     * Watches {@code loop} (see the class comment) and closes it with the role.
     *
     * @return the loop, started
     */
    public EventLoop manage(EventLoop loop) {
        watch(loop);
        closeables.add(loop);
        return loop;
    }

    /**
     * Watches a loop that something else closes: bounds it by
     * {@code loop_max_queued_tasks}, counts its queue and refusals, and lets a
     * stall of it make the role unhealthy.
     */
    public EventLoop watch(EventLoop loop) {
        loop.maxQueued(config.loopMaxQueued());
        io.micrometer.core.instrument.Gauge.builder("chariots_loop_queued_tasks", loop, EventLoop::queuedTasks)
                .description("Tasks waiting on the event loop").tag("loop", loop.name())
                .register(metrics.registry());
        io.micrometer.core.instrument.FunctionCounter.builder("chariots_loop_refused_total", loop, EventLoop::refused)
                .description("Work refused (its sender told to retry) because loop_max_queued_tasks tasks waited, or the loop had stopped")
                .tag("loop", loop.name()).register(metrics.registry());
        loops.add(loop);
        return loop;
    }

    /** The event loops watched, in the order managed. */
    public List<EventLoop> loops() {
        return List.copyOf(loops);
    }

    /**
     * What is wrong with the role's loops now: which one died, or has been in
     * one task longer than {@code loop_stall_ms} and where; null if they all turn.
     */
    public String stuckLoop() {
        return stuckLoop(1);
    }

    /** As {@link #stuckLoop()}, for a stall of {@code times} × {@code loop_stall_ms}. */
    private String stuckLoop(int times) {
        long limit = config.loopStall().toNanos() * times;
        for (EventLoop l : loops) {
            Throwable died = l.died();
            if (died != null) {
                return "loop " + l.name() + " died of " + died;
            }
            long stalled = l.stalledNanos();
            if (stalled >= limit) {
                return "loop " + l.name() + " has been in one task for " + stalled / 1_000_000 + " ms (at " + l.where() + ")";
            }
        }
        return null;
    }

    /** The {@code /health} body. */
    public Map<String, Object> health() {
        Map<String, Object> h = new LinkedHashMap<>();
        String stuck = stuckLoop();
        h.put("status", stuck != null ? "DOWN" : state == State.SERVING ? "UP" : state.name());
        if (stuck != null) {
            h.put("loop", stuck);
        }
        h.put("role", RoleConfig.roleName(config.role()));
        h.put("instance", instanceId);
        h.put("address", advertiseHost + ":" + config.port());
        h.put("uptimeMs", System.currentTimeMillis() - startedAtMs);
        DataDir d = dataDir;
        if (d != null) {
            h.put("dataDir", d.path().toAbsolutePath().toString());
        }
        MembershipClient mc = membership;
        if (mc != null) {
            h.put("controller", mc.state().name());
            h.put("membershipVersion", mc.current().epoch() + "." + mc.current().version());
        }
        if (stuck != null) {
            return h; // the role's own fields are read from its stuck loop's state: not worth the risk
        }
        Map<String, Object> extra = roleHealth.get();
        h.putAll(extra);
        return h;
    }

    /**
     * Adds /health and /metrics to the role's HTTP server (the app's and
     * controller's own, the admin port of the others), and bounds its
     * connections with the {@code http.*} limits ({@link EdgeGuard}).
     */
    public HttpServer.Builder withAdminRoutes(HttpServer.Builder http) {
        EdgeGuard.Limits limits = EdgeGuard.Limits.from(config.settings(), "http", "request", 1024,
                Duration.ofSeconds(60), Duration.ofSeconds(30));
        ByteBudget budget = new ByteBudget(config.settings().getLong("http.max_buffered_bytes", 64L << 20, 1L << 20, 1L << 40));
        io.micrometer.core.instrument.Gauge.builder("chariots_http_buffered_bytes", budget, ByteBudget::used)
                .description("Request body bytes reserved now against http.max_buffered_bytes").register(metrics.registry());
        io.micrometer.core.instrument.FunctionCounter.builder("chariots_http_body_budget_waits", budget, ByteBudget::waits)
                .description("Requests that waited for http.max_buffered_bytes before their body was read")
                .register(metrics.registry());
        return metrics.addRoutes(http, this::health).budget(budget).guard(new EdgeGuard("http", "http", "request", limits,
                HttpServer.Builder::serverHolds, metrics.registry()));
    }

    /** Starts the admin HTTP server on {@code admin_port}, for roles without an HTTP port of their own. */
    public int startAdminServer() throws InterruptedException {
        adminServer = withAdminRoutes(HttpServer.builder()).start(transport, config.bindHost(), config.adminPort());
        closeables.add(adminServer);
        return adminServer.port();
    }

    /** The admin port actually bound (the main port for roles that serve admin routes there). */
    public int adminPort() {
        return adminServer != null ? adminServer.port() : config.adminPort();
    }

    /**
     * The role's data directory, taken for this process on first call and held
     * until the role closes: {@code data_dir}, or the lowest free slot of it
     * when it contains {@value DataDir#SLOT}.
     *
     * @throws IOException naming the directory when another process holds it
     */
    public synchronized Path dataDir() throws IOException {
        if (dataDir == null) {
            dataDir = manage(DataDir.claim(config.dataDir()));
            LOG.info("data directory {}{}", dataDir.path().toAbsolutePath(),
                    dataDir.slot() > 0 ? " (slot " + dataDir.slot() + " of " + config.dataDir() + ")" : "");
        }
        return dataDir.path();
    }

    /**
     * A gRPC server builder on the role's gRPC port and this process's event
     * loops, serving {@code Identity} (who answers here: the controller checks
     * it before this member enters a view). With a cluster secret, every call
     * must prove it but those of clients ({@code Reader}) and {@code Identity}
     * (which proves the secret in its answer, so the asker learns whether a
     * process holds it, not only that it refuses calls).
     */
    public NettyServerBuilder grpcServerBuilder(int port) {
        NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress(config.bindHost(), port));
        if (tls != null) {
            b.sslContext(tls.grpcServer());
        }
        if (auth != null) {
            b.intercept(auth.grpc(Set.of(ReaderGrpc.SERVICE_NAME, IdentityGrpc.SERVICE_NAME)));
        }
        return b
                .addService(new IdentityService(config.role(), instanceId, config.datacenter(), auth == null ? null : auth.secret()))
                .bossEventLoopGroup(transport.boss())
                .workerEventLoopGroup(transport.workers())
                .channelType(transport.serverChannelType())
                .maxInboundMessageSize(MessageLimits.MAX_MESSAGE_BYTES)
                .permitKeepAliveTime(1, java.util.concurrent.TimeUnit.SECONDS) // the peers' 2 s keepalive (ChannelPool)
                .permitKeepAliveWithoutCalls(true)
                .directExecutor();
    }

    /** TLS for the client-facing ports (app and controller HTTP, batcher raw TCP), or null for plaintext. */
    public io.netty.handler.ssl.SslContext edgeTls() {
        return tls == null ? null : tls.edgeServer();
    }

    /** The cluster secret's gatekeeper, or null for an open cluster. */
    public ClusterAuth auth() {
        return auth;
    }

    /** Registers a started gRPC server to be shut down with the role. */
    public Server manage(Server server) {
        closeables.add(() -> {
            server.shutdown();
            if (!server.awaitTermination(2, java.util.concurrent.TimeUnit.SECONDS)) {
                server.shutdownNow();
            }
        });
        return server;
    }

    /** Registers anything else to close, in reverse order of registration. */
    public <T extends AutoCloseable> T manage(T closeable) {
        closeables.add(closeable);
        return closeable;
    }

    /** https where /health and /metrics are on a client-facing port that serves TLS (app, controller). */
    private String adminScheme() {
        return (config.role() == Role.APP || config.role() == Role.CONTROLLER) && edgeTls() != null ? "https" : "http";
    }

    /** Marks the role SERVING: every server is bound. */
    public void serving() {
        state = State.SERVING;
        writeHealthFile();
    }

    /**
     * With {@code health_file} set, writes the URL of this role's {@code /health}
     * there, so a container health check needs to know neither role nor port;
     * removed again when the role closes.
     */
    private void writeHealthFile() {
        Path file = config.healthFile();
        if (file == null) {
            return;
        }
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(tmp, adminScheme() + "://127.0.0.1:" + adminPort() + "/health\n");
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            closeables.add(() -> Files.deleteIfExists(file));
        } catch (IOException e) {
            LOG.warn("cannot write health_file {}: {}", file, e.toString());
        }
    }

    /**
     * Marks the role SERVING and registers with the controller.
     *
     * @param grpcPort bound gRPC port, or 0 if the role serves none
     * @param listener receives each newer membership view (on the membership thread)
     */
    public MembershipClient join(int grpcPort, Consumer<Membership> listener) {
        Member self = Member.newBuilder()
                .setInstanceId(instanceId)
                .setRole(config.role())
                .setAddress(advertiseHost + ":" + config.port())
                .setGrpcAddress(grpcPort > 0 ? advertiseHost + ":" + grpcPort : "")
                .setAdminUrl(adminScheme() + "://" + advertiseHost + ":" + adminPort())
                .setDatacenter(config.datacenter())
                .setHold(config.hold())
                .setStartedAtMs(startedAtMs)
                .build();
        serving();
        membership = new MembershipClient(config.controllerGrpc(), self, config.heartbeatInterval(), transport, listener)
                .heartbeatOnlyIf(() -> stuckLoop(HEARTBEAT_STALLS)).start();
        LOG.info("{} serving at {} (admin {}, gRPC {}), registering with controller {}",
                RoleConfig.roleName(config.role()), self.getAddress(), self.getAdminUrl(),
                grpcPort > 0 ? self.getGrpcAddress() : "none", config.controllerGrpc());
        return membership;
    }

    public MembershipClient membership() {
        return membership;
    }

    private void drain() {
        long start = System.nanoTime();
        long limit = config.drainTimeout().toNanos();
        LOG.info("draining before stop (at most {} ms)", config.drainTimeout().toMillis());
        for (Drain d : drains) {
            try {
                d.start();
            } catch (RuntimeException e) {
                LOG.warn("drain failed to start: {}", e.toString());
            }
        }
        long nextLog = start + 2_000_000_000L;
        while (true) {
            boolean done = true;
            for (Drain d : drains) {
                done &= d.done();
            }
            if (done) {
                LOG.info("drained in {} ms", (System.nanoTime() - start) / 1_000_000);
                return;
            }
            long now = System.nanoTime();
            if (now - start > limit) {
                StringBuilder held = new StringBuilder();
                drains.forEach(d -> held.append(d.holding()).append("; "));
                LOG.warn("not drained after {} ms, stopping anyway; still held: {}", limit / 1_000_000, held);
                return;
            }
            if (now - nextLog > 0) {
                StringBuilder held = new StringBuilder();
                drains.forEach(d -> held.append(d.holding()).append("; "));
                LOG.info("draining: {}", held);
                nextLog = now + 2_000_000_000L;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Registers what this role does on a clean stop before closing (see {@link Drain}). */
    public void onDrain(Drain d) {
        drains.add(d);
    }

    /**
     * Drains (if serving and the role registered drains), then closes. A
     * drain that does not finish within {@code drain_ms} is given up with a
     * warning naming what it still held: what is not handed on then is what
     * a crash would have lost.
     */
    @Override
    public void close() {
        if (state == State.STOPPED) {
            return;
        }
        if (state == State.SERVING && !drains.isEmpty()) {
            state = State.DRAINING;
            drain();
        }
        state = State.STOPPING;
        if (membership != null) {
            membership.close();
        }
        for (int i = closeables.size() - 1; i >= 0; i--) {
            try {
                closeables.get(i).close();
            } catch (Exception e) {
                LOG.warn("error while stopping: {}", e.toString());
            }
        }
        transport.close();
        metrics.close();
        state = State.STOPPED;
    }
}
