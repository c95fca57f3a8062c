package io.chariots.common.config;

import io.chariots.common.loop.EventLoop;

import io.chariots.proto.Role;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/**
 * What every role process needs to start, resolved once from {@link Settings}
 * and validated; immutable. Role-specific tunables are read from
 * {@link #settings()} by each role's own config class.
 *
 * <table>
 * <caption>Keys and defaults</caption>
 * <tr><th>key</th><th>default</th><th>meaning</th></tr>
 * <tr><td>controller</td><td>127.0.0.1:8081</td><td>the controller's HTTP address (GoChariots' key)</td></tr>
 * <tr><td>controller_grpc</td><td>controller host, HTTP port + 1000</td><td>its membership gRPC address</td></tr>
 * <tr><td>num_dc</td><td>1</td><td>number of datacenters (GoChariots' key)</td></tr>
 * <tr><td>id</td><td>0</td><td>this datacenter's id, below num_dc (GoChariots' key)</td></tr>
 * <tr><td>port</td><td>per role: app 8080, controller 8081, batcher 9000, filter 9010, queue 9020,
 *     maintainer 9030, indexer 9040</td><td>the main port</td></tr>
 * <tr><td>admin_port</td><td>app/controller: the main port; others: port + 100</td><td>HTTP /health and /metrics; 0 = any free port</td></tr>
 * <tr><td>grpc_port</td><td>filter/queue/maintainer/indexer: the main port; app, batcher and controller: port + 1000</td>
 *     <td>gRPC service; 0 = any free port</td></tr>
 * <tr><td>bind</td><td>0.0.0.0</td><td>address to listen on</td></tr>
 * <tr><td>advertise</td><td>the local address used to reach the controller</td><td>host others use to reach this role</td></tr>
 * <tr><td>data_dir</td><td>data/ROLE-PORT</td><td>where maintainers and indexers keep RocksDB, the controller its state and a queue its dedup memory across a clean stop; held exclusively;
 *     with {@code {slot}} in it, a pool: each instance takes the lowest free slot (replicas sharing one volume)</td></tr>
 * <tr><td>health_file</td><td>none</td><td>once serving, the role writes the URL of its /health here (for container health checks)</td></tr>
 * <tr><td>hold</td><td>false</td><td>queues: start with the token</td></tr>
 * <tr><td>heartbeat_ms</td><td>500</td><td>heartbeat interval to the controller</td></tr>
 * <tr><td>drain_ms</td><td>20000</td><td>on a clean stop (SIGTERM), longest wait for the role to hand on what it holds</td></tr>
 * <tr><td>http.max_connections</td><td>1024</td><td>connections the role's HTTP port (app, controller, admin) keeps open
 *     at once; one more is closed at once, counted and logged</td></tr>
 * <tr><td>http.idle_timeout_ms</td><td>60000</td><td>an HTTP connection that sends nothing for this long (while no request of
 *     it is being answered) is closed</td></tr>
 * <tr><td>http.max_buffered_bytes</td><td>67108864 (64 MiB)</td><td>request bodies all connections of the role's HTTP port
 *     hold at once: a request reserves its whole body when its headers arrive, and one that does not fit is not read until
 *     others are answered (at least the largest body)</td></tr>
 * <tr><td>http.request_timeout_ms</td><td>30000</td><td>a request begun must be received whole within this, or its
 *     connection is closed (slowloris)</td></tr>
 * <tr><td>remote_batchers</td><td>none</td><td>the other datacenters' batchers, by datacenter id: {@code {1: "h:9000"}}
 *     or {@code {1: {address, grpc, secret_file}}} (see {@link RemoteDatacenters})</td></tr>
 * <tr><td>loop_max_queued_tasks</td><td>10000</td><td>tasks a role's event loop lets wait: beyond it, batches from
 *     other stages are answered RESOURCE_EXHAUSTED (their senders back off and resend), HTTP appends 503, and raw TCP
 *     connections are not read until the loop is half caught up (counted in chariots_loop_refused_total)</td></tr>
 * <tr><td>loop_stall_ms</td><td>10000</td><td>a role whose event loop has been inside one task this long answers /health DOWN;
 *     after three times this it stops heartbeating, so the controller drops it from the views until the loop turns again</td></tr>
 * </table>
 */
public final class RoleConfig {
    private final Role role;
    private final HostPort controller;
    private final HostPort controllerGrpc;
    private final int numDc;
    private final int datacenter;
    private final int port;
    private final int adminPort;
    private final int grpcPort;
    private final String bindHost;
    private final String advertiseHost;
    private final Path dataDir;
    private final Path healthFile;
    private final boolean hold;
    private final Duration heartbeatInterval;
    private final Duration drainTimeout;
    private final Duration loopStall;
    private final int loopMaxQueued;
    private final RemoteDatacenters remotes;
    private final Settings settings;

    private RoleConfig(Role role, Settings s) {
        this.role = role;
        this.settings = s;
        this.controller = HostPort.parse(s.getString("controller", "127.0.0.1:8081"), "controller", s.sourceOf("controller"));
        this.controllerGrpc = s.has("controller_grpc")
                ? HostPort.parse(s.getString("controller_grpc", ""), "controller_grpc", s.sourceOf("controller_grpc"))
                : new HostPort(controller.host(), controller.port() + GRPC_OFFSET);
        this.numDc = s.getInt("num_dc", 1, 1, 1024);
        this.datacenter = s.getInt("id", 0, 0, 1023);
        if (datacenter >= numDc) {
            throw new ConfigException("setting id = " + datacenter + " (from " + s.sourceOf("id")
                    + ") must be below num_dc = " + numDc + " (from " + s.sourceOf("num_dc") + ")");
        }
        this.port = s.getInt("port", defaultPort(role), 1, 65535);
        this.adminPort = s.getInt("admin_port", defaultAdminPort(role, port), 0, 65535);
        this.grpcPort = s.getInt("grpc_port", defaultGrpcPort(role, port), 0, 65535);
        this.bindHost = s.getString("bind", "0.0.0.0");
        String adv = s.getString("advertise", "");
        this.advertiseHost = adv.isBlank() ? null : adv.trim();
        this.dataDir = Path.of(s.getString("data_dir", "data/" + roleName(role) + "-" + port));
        String hf = s.getString("health_file", "");
        this.healthFile = hf.isBlank() ? null : Path.of(hf.trim());
        this.hold = s.getBoolean("hold", false);
        this.heartbeatInterval = Duration.ofMillis(s.getLong("heartbeat_ms", 500, 10, 60_000));
        this.drainTimeout = Duration.ofMillis(s.getLong("drain_ms", 20_000, 0, 3_600_000));
        this.loopStall = Duration.ofMillis(s.getLong("loop_stall_ms", 10_000, 100, 3_600_000));
        this.remotes = RemoteDatacenters.from(s, datacenter, numDc);
        this.loopMaxQueued = (int) s.getLong("loop_max_queued_tasks", EventLoop.DEFAULT_MAX_QUEUED, 16, 10_000_000);
    }

    /** Offset of the gRPC port from the main port, for roles whose main port is not gRPC. */
    public static final int GRPC_OFFSET = 1000;
    /** Offset of the admin HTTP port from the main port, for roles whose main port is not HTTP. */
    public static final int ADMIN_OFFSET = 100;

    /**
     * Resolves and validates the settings for {@code role}.
     *
     * @throws ConfigException naming the first invalid setting
     */
    public static RoleConfig resolve(Role role, Settings settings) {
        return new RoleConfig(role, settings);
    }

    /** GoChariots' default port of each role. */
    public static int defaultPort(Role role) {
        return switch (role) {
            case APP -> 8080;
            case CONTROLLER -> 8081;
            case BATCHER, REMOTE_BATCHER -> 9000;
            case FILTER -> 9010;
            case QUEUE -> 9020;
            case MAINTAINER -> 9030;
            case INDEXER -> 9040;
            default -> throw new IllegalArgumentException("no port for role " + role);
        };
    }

    /** The admin port a role uses when {@code admin_port} is not set. */
    public static int defaultAdminPort(Role role, int port) {
        return role == Role.APP || role == Role.CONTROLLER ? port : port + ADMIN_OFFSET;
    }

    /** The gRPC port a role uses when {@code grpc_port} is not set. */
    public static int defaultGrpcPort(Role role, int port) {
        return switch (role) {
            case APP, BATCHER, REMOTE_BATCHER, CONTROLLER -> port + GRPC_OFFSET;
            default -> port;
        };
    }

    /** Lower-case role name as used on the command line and in GET /: "batcher". */
    public static String roleName(Role role) {
        return role.name().toLowerCase(Locale.ROOT);
    }

    public Role role() {
        return role;
    }

    /** The controller's HTTP address (GoChariots' {@code controller} key). */
    public HostPort controller() {
        return controller;
    }

    /** The controller's gRPC (membership) address. */
    public HostPort controllerGrpc() {
        return controllerGrpc;
    }

    public int numDc() {
        return numDc;
    }

    /** This datacenter's id, in [0, numDc). */
    public int datacenter() {
        return datacenter;
    }

    public int port() {
        return port;
    }

    public int adminPort() {
        return adminPort;
    }

    public int grpcPort() {
        return grpcPort;
    }

    public String bindHost() {
        return bindHost;
    }

    /** The host to advertise, or null to use the address that reaches the controller. */
    public String advertiseHost() {
        return advertiseHost;
    }

    public Path dataDir() {
        return dataDir;
    }

    /** Where to write the /health URL once serving, or null. */
    public Path healthFile() {
        return healthFile;
    }

    public boolean hold() {
        return hold;
    }

    public Duration heartbeatInterval() {
        return heartbeatInterval;
    }

    /** The other datacenters this one replicates to ({@code remote_batchers}). */
    public RemoteDatacenters remoteDatacenters() {
        return remotes;
    }

    /** Tasks an event loop lets wait before it refuses more ({@code loop_max_queued_tasks}). */
    public int loopMaxQueued() {
        return loopMaxQueued;
    }

    /** How long an event loop may stay inside one task before the role counts as not serving ({@code loop_stall_ms}). */
    public Duration loopStall() {
        return loopStall;
    }


    /** On a clean stop, the longest wait for the role to hand on what it holds ({@code drain_ms}). */
    public Duration drainTimeout() {
        return drainTimeout;
    }

    /** All settings, for role-specific keys. */
    public Settings settings() {
        return settings;
    }

    @Override
    public String toString() {
        return roleName(role) + " port=" + port + " admin=" + adminPort + " grpc=" + grpcPort + " controller=" + controller
                + " dc=" + datacenter + "/" + numDc + (hold ? " hold" : "");
    }
}
