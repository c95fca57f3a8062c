package io.chariots.launcher.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.chariots.common.auth.ClusterSecret;
import io.chariots.common.auth.Proof;
import io.chariots.common.auth.Prover;
import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.chariots.launcher.ChariotsCli;
import io.chariots.proto.Role;
import io.chariots.testkit.ChildProcess;
import io.chariots.testkit.FreePorts;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * One datacenter's Chariots cluster of real role processes on 127.0.0.1:
 * one JVM per instance. Used by {@code ./chariots up} (default ports,
 * detached) and by every cross-process test (free ports, stopped on close);
 * several linked datacenters are started together by {@link MultiDatacenter}.
 * Any instance can be killed, stopped, paused, resumed and restarted;
 * {@link #describe()} prints the state for a failing test.
 */
public final class LocalCluster implements AutoCloseable {
    /** Roles in start order; the controller comes first and alone. */
    public static final List<Role> ROLES = List.of(Role.CONTROLLER, Role.INDEXER, Role.MAINTAINER, Role.QUEUE,
            Role.FILTER, Role.BATCHER, Role.APP);

    /** The most instances of one role a spec starts. */
    public static final int MAX_INSTANCES = 9;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SECRET_FILE = "cluster_secret";

    private final Spec spec;
    private final Map<Role, List<RoleProcess>> processes = new EnumMap<>(Role.class);
    private final HttpClient http;
    private final LocalCa.Files3 tls;
    private ClusterSecret secret;
    private boolean secretInEnvironment; // the roles inherit it
    private Path configFile; // given to every role with -f; null: none
    private Prover prover;

    private LocalCluster(Spec spec, LocalCa.Files3 tls) {
        this.spec = spec;
        this.tls = tls;
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2));
        if (tls != null) {
            b.sslContext(sslContext(tls));
        }
        this.http = b.build();
    }

    /** Compiles with C1 alone: quick to compile, code a little slower than C2's (the roles in {@code Spec.roleJvmOptions}). */
    private static final String C1_ONLY = "-XX:TieredStopAtLevel=1";
    /** The heap on transparent huge pages, where the kernel allows them (the queues, in {@code Spec.roleJvmOptions}). */
    private static final String HUGE_PAGES = "-XX:+UseTransparentHugePages";

    /** What to start; every field has a default that gives one of each role on free ports. */
    public static final class Spec {
        private final Map<Role, Integer> counts = new EnumMap<>(Role.class);
        private boolean defaultPorts;
        private boolean detached;
        private Path workDir;
        private String classpath = System.getProperty("java.class.path");
        private String java = ChildProcess.javaBinary();
        private final List<String> jvmOptions = new ArrayList<>(List.of(
                // A fixed 128 MiB young generation: every record's garbage dies young, and a small
                // one (ParallelGC starts with ~20 MiB) collects so often that batches in flight get
                // promoted and copied again; measured, it cut the roles' CPU per record by a fifth.
                // The old generation fills with what was promoted before a full collection empties it,
                // so the heap's peak is its maximum whatever a role keeps (under 100 MiB live in each
                // under 10x overload): 320 MiB brought the queue's and indexer's peak resident memory
                // under 10x overload from ~560 to ~500 MiB (the batcher's to ~530 MiB: it gets less, below).
                "-Xms200m", "-Xmn128m", "-Xmx320m", "-XX:+UseParallelGC",
                "-XX:ParallelGCThreads=1", "-Xss512k", "-XX:CICompilerCount=2",
                // Out of memory, a role exits (and is restarted) rather than live on half-working.
                "-XX:+ExitOnOutOfMemoryError"));
        // After the common options (the last -Xmx wins). The batcher keeps under 50 MiB live on its heap under
        // 10x overload but has the most native memory (Netty's buffers, 16 connections' worth): with 320 MiB of
        // heap its peak was 531 MiB, with 256 MiB 452 MiB, the others' 450-500. Its direct memory (by default as much
        // as its heap) holds frames being read (batcher.max_buffered_bytes, 64 MiB), the app's batches being taken
        // (app.max_in_flight_bytes, 64 MiB) and its own on their way to a filter (batcher.high_water_bytes, 32 MiB, plus
        // what was being read when it was reached): with records of 12 MiB on eight connections it ran out at 213 MiB.
        // The controller, filters and indexers compile with C1 only: their CPU per record was the same with C2's
        // code, warm at full speed and at a fixed rate (the indexer's work is RocksDB's native code, the filter's
        // hash lookups), while C2 compiling them took a tenth of a fresh cluster's CPU. Measured, a fresh cluster's
        // first 500k records ran at 40-45k records/s instead of 37-42k, and at a fixed 25k records/s the roles
        // spent 42-47 us a record instead of 51-54. Batchers and maintainers keep C2 (with C1 their CPU per record
        // was a fifth to a half higher), and so do queues: at a fixed rate, small batches, C1's code cost the
        // queue 3-4 us a record more. Apps keep it untried: their HTTP parsing is most of a request's CPU.
        // Queues back their heap with 2 MiB pages where the kernel offers them (THP "madvise" or "always"): their
        // maps of recent pairs and settled ids are 48 MiB of hash tables read at random, so with 4 KiB pages nearly
        // every lookup also missed the TLB (as does its 64 MiB filter of recent ids). Measured (README, Performance),
        // the maps cost the queue a third less and its CPU per record fell by a few percent, its peak RSS under 10x
        // overload within the range it had (its heap is touched throughout anyway); on every role, the others showed
        // no gain and the maintainer grew by ~10 MiB.
        private final Map<Role, List<String>> roleJvmOptions = new EnumMap<>(Map.of(
                Role.BATCHER, List.of("-Xmx256m", "-XX:MaxDirectMemorySize=384m"),
                Role.CONTROLLER, List.of(C1_ONLY), Role.FILTER, List.of(C1_ONLY), Role.INDEXER, List.of(C1_ONLY),
                Role.QUEUE, List.of(HUGE_PAGES)));
        private final Map<String, String> settings = new LinkedHashMap<>();
        private boolean debug;
        private boolean open;
        private boolean tls;
        private int portOffset;
        private PortPlan ports;
        private DatacenterConfig datacenter;

        public Spec() {
            for (Role r : ROLES) {
                counts.put(r, 1);
            }
        }

        public Spec count(Role role, int n) {
            if (role == Role.CONTROLLER && n != 1) {
                throw new IllegalArgumentException("a cluster has exactly one controller");
            }
            if (n < 0 || n > MAX_INSTANCES) {
                throw new IllegalArgumentException(RoleConfig.roleName(role) + " count must be 0.." + MAX_INSTANCES
                        + ", got " + n);
            }
            counts.put(role, n);
            return this;
        }

        public Spec apps(int n) {
            return count(Role.APP, n);
        }

        public Spec batchers(int n) {
            return count(Role.BATCHER, n);
        }

        public Spec filters(int n) {
            return count(Role.FILTER, n);
        }

        public Spec queues(int n) {
            return count(Role.QUEUE, n);
        }

        public Spec maintainers(int n) {
            return count(Role.MAINTAINER, n);
        }

        public Spec indexers(int n) {
            return count(Role.INDEXER, n);
        }

        /** GoChariots' ports (controller 8081, batcher 9000, …, next instances on the next ports) instead of free ones. */
        public Spec defaultPorts(boolean b) {
            this.defaultPorts = b;
            return this;
        }

        /**
         * With {@link #defaultPorts}: every port shifted by {@code offset} (datacenter d of
         * {@code ./chariots up --dcs N} runs on the default ports + 10000·d).
         */
        public Spec portOffset(int offset) {
            this.portOffset = offset;
            return this;
        }

        /** These ports instead of default or free ones; the plan must have as many instances of each role as this spec. */
        public Spec ports(PortPlan plan) {
            this.ports = plan;
            return this;
        }

        /**
         * The ports start will use: those {@linkplain #ports given}, else the default ones (shifted by
         * {@link #portOffset}), else free ones — chosen anew on each call; give them with {@link #ports} to fix them.
         */
        public PortPlan plannedPorts() {
            if (ports != null) {
                return ports;
            }
            return defaultPorts ? PortPlan.defaults(this::count, portOffset) : PortPlan.free(this::count);
        }

        /**
         * Which datacenter this cluster is and the other datacenters' batchers: written to
         * {@code WORKDIR/config.yaml} at start and given to every role with {@code -f}. Without it, the roles run
         * with GoChariots' defaults ({@code num_dc: 1}, {@code id: 0}) and no config file.
         */
        public Spec datacenter(DatacenterConfig config) {
            this.datacenter = config;
            return this;
        }

        /** Start each process in its own session so it outlives the launcher ({@code ./chariots up}). */
        public Spec detached(boolean b) {
            this.detached = b;
            return this;
        }

        /** Where logs/ and data/ go. */
        public Spec workDir(Path dir) {
            this.workDir = dir;
            return this;
        }

        /** The classpath role JVMs run with (default: this JVM's). */
        public Spec classpath(String cp) {
            this.classpath = cp;
            return this;
        }

        /**
         * Replaces the JVM options of every role process, the batcher's smaller heap, the roles compiled with
         * C1 alone and the queues' huge pages included (a role still exits when out of memory).
         */
        public Spec jvmOptions(List<String> opts) {
            jvmOptions.clear();
            roleJvmOptions.clear();
            jvmOptions.addAll(opts);
            if (!opts.contains("-XX:+ExitOnOutOfMemoryError") && !opts.contains("-XX:-ExitOnOutOfMemoryError")) {
                jvmOptions.add("-XX:+ExitOnOutOfMemoryError");
            }
            return this;
        }

        /** A setting passed to every role as {@code --set key=value}. */
        public Spec setting(String key, String value) {
            settings.put(key, value);
            return this;
        }

        /**
         * Start the roles without a cluster secret (an open cluster). By
         * default they share the one in {@code WORKDIR/cluster_secret},
         * made on first start.
         */
        public Spec open(boolean b) {
            this.open = b;
            return this;
        }

        /**
         * Runs the cluster over TLS: certificates from a throwaway CA in
         * {@code WORKDIR/tls} ({@link LocalCa}), mutual TLS between roles,
         * HTTPS and TLS raw TCP at the edges.
         */
        public Spec tls(boolean b) {
            this.tls = b;
            return this;
        }

        public Spec debug(boolean b) {
            this.debug = b;
            return this;
        }

        public int count(Role role) {
            return counts.getOrDefault(role, 0);
        }

        /**
         * The data directory instance {@code index} of {@code role} has with {@link #defaultPorts}, whether or
         * not this spec starts it: with default ports an instance always gets the same one, so an earlier
         * cluster's data can be told apart before anything starts.
         */
        public Path dataDir(Role role, int index) {
            if (!defaultPorts || workDir == null) {
                throw new IllegalStateException("data directories are known before start only with default ports and a workDir");
            }
            return LocalCluster.dataDir(workDir, role, "127.0.0.1", PortPlan.defaultMainPort(role, index, portOffset));
        }

        /** Which datacenter the cluster is and the others' batchers, as {@code config.yaml} will say; null: none given. */
        public DatacenterConfig datacenterConfig() {
            return datacenter;
        }

        /** Where logs, data, the secret and the config go (null until set). */
        public Path workDir() {
            return workDir;
        }

        /** Whether the roles run without a cluster secret. */
        public boolean isOpen() {
            return open;
        }

        /** Whether the roles run over TLS. */
        public boolean isTls() {
            return tls;
        }

        public LocalCluster start() throws IOException, InterruptedException {
            if (workDir == null) {
                throw new IllegalStateException("workDir is required");
            }
            for (Role role : ROLES) {
                if (ports != null && ports.count(role) != count(role)) {
                    throw new IllegalStateException("the port plan has " + ports.count(role) + " " + listName(role)
                            + ", the spec " + count(role));
                }
            }
            LocalCluster c = new LocalCluster(this, tls ? LocalCa.ensure(workDir.resolve("tls"), List.of()) : null);
            if (datacenter != null) {
                c.configFile = datacenter.write(workDir);
            }
            if (!open) {
                c.secretInEnvironment = ClusterSecret.from(Settings.fromEnvironment(System.getenv())).isPresent();
                c.secret = ensureSecret(workDir);
            }
            if (!detached) {
                // If the test JVM dies (timeout, Ctrl-C), its role processes die with it.
                Runtime.getRuntime().addShutdownHook(new Thread(() -> c.all().forEach(RoleProcess::kill), "cluster-cleanup"));
            }
            try {
                c.startAll();
            } catch (IOException | InterruptedException | RuntimeException e) {
                c.close();
                throw e;
            }
            return c;
        }
    }

    public static Spec spec() {
        return new Spec();
    }

    private void startAll() throws IOException, InterruptedException {
        Map<Role, List<RoleProcess.Ports>> ports = allocatePorts();
        RoleProcess.Ports cp = ports.get(Role.CONTROLLER).get(0);
        for (Role role : ROLES) {
            List<RoleProcess> list = new ArrayList<>();
            List<RoleProcess.Ports> rp = ports.get(role);
            for (int i = 0; i < rp.size(); i++) {
                list.add(new RoleProcess(role, i, "127.0.0.1", rp.get(i), command(role, i, "127.0.0.1", rp.get(i), cp),
                        spec.workDir.resolve("logs").resolve(instanceName(role, "127.0.0.1", rp.get(i).main()) + ".log")));
            }
            processes.put(role, list);
        }
        RoleProcess controller = controller();
        controller.start();
        awaitHttp(controller, Duration.ofSeconds(120)); // a loaded 2-core machine can take over 30 s to start one JVM
        for (Role role : ROLES) {
            if (role != Role.CONTROLLER) {
                for (RoleProcess p : processes.get(role)) {
                    p.start();
                }
            }
        }
    }

    private Map<Role, List<RoleProcess.Ports>> allocatePorts() throws IOException {
        PortPlan plan;
        try {
            plan = spec.plannedPorts();
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        if (spec.defaultPorts) {
            plan.checkBindable();
        }
        Map<Role, List<RoleProcess.Ports>> out = new EnumMap<>(Role.class);
        for (Role role : ROLES) {
            out.put(role, plan.of(role));
        }
        return out;
    }

    /**
     * Starts one more instance of {@code role} listening on, and advertising,
     * {@code host} (any 127.x.y.z address works without setup) with the given
     * ports — so that several instances can share a port number, as replicas
     * in containers do.
     */
    public synchronized RoleProcess add(Role role, String host, RoleProcess.Ports ports) throws IOException {
        return add(role, host, ports, Map.of());
    }

    /** As {@link #add(Role, String, RoleProcess.Ports)}, with flags replacing the harness's own ({@code "--data-dir"} → a path). */
    public synchronized RoleProcess add(Role role, String host, RoleProcess.Ports ports, Map<String, String> flags)
            throws IOException {
        List<RoleProcess> list = processes.computeIfAbsent(role, r -> new ArrayList<>());
        int index = list.size();
        List<String> cmd = command(role, index, host, ports, controller().ports());
        flags.forEach((flag, value) -> {
            int at = cmd.indexOf(flag);
            if (at >= 0) {
                cmd.set(at + 1, value);
            } else {
                cmd.addAll(cmd.size() - 1, List.of(flag, value));
            }
        });
        RoleProcess p = new RoleProcess(role, index, host, ports, cmd,
                spec.workDir.resolve("logs").resolve(instanceName(role, host, ports.main()) + ".log"));
        list.add(p);
        return p.start();
    }

    /** Names an instance's log and data directory: ROLE-PORT, or ROLE-HOST-PORT off 127.0.0.1. */
    private static String instanceName(Role role, String host, int port) {
        return RoleConfig.roleName(role) + "-" + ("127.0.0.1".equals(host) ? "" : host + "-") + port;
    }

    private static Path dataDir(Path workDir, Role role, String host, int port) {
        return workDir.resolve("data").resolve(instanceName(role, host, port));
    }

    /** The classpath with every entry absolute, so that a recorded command line runs from any directory. */
    private static String absolute(String classpath) {
        return Arrays.stream(classpath.split(File.pathSeparator)).filter(e -> !e.isEmpty())
                .map(e -> Path.of(e).toAbsolutePath().normalize().toString()).collect(Collectors.joining(File.pathSeparator));
    }

    private List<String> command(Role role, int index, String host, RoleProcess.Ports p, RoleProcess.Ports controller) {
        String name = RoleConfig.roleName(role);
        List<String> jvm = new ArrayList<>(spec.jvmOptions);
        jvm.addAll(spec.roleJvmOptions.getOrDefault(role, List.of()));
        jvm.add("-Dchariots.role=" + instanceName(role, host, p.main()));
        List<String> cmd = new ArrayList<>();
        if (spec.detached) {
            cmd.add("setsid");
        }
        // glibc gives each thread that mallocs (RocksDB's, Netty's, the JIT's) an arena of up to 64 MiB;
        // two keep native memory within what a role needs (measured: -37 MiB batcher, -54 MiB indexer
        // resident under 10x overload). Part of the command, set or not, so a recorded one restarts the same way.
        String arenas = System.getenv("MALLOC_ARENA_MAX");
        cmd.addAll(List.of("env", "MALLOC_ARENA_MAX=" + (arenas == null || arenas.isBlank() ? "2" : arenas.strip())));
        cmd.addAll(ChildProcess.javaCommand(spec.java, jvm, absolute(spec.classpath), ChariotsCli.class.getName(), List.of(name)));
        cmd.addAll(List.of("-p", Integer.toString(p.main()), "--admin-port", Integer.toString(p.admin()),
                "--bind", host, "--advertise", host,
                "--controller", "127.0.0.1:" + controller.main(),
                "--controller-grpc", "127.0.0.1:" + controller.grpc(),
                "--data-dir", dataDir(spec.workDir, role, host, p.main()).toString()));
        if (p.grpc() != 0) {
            cmd.addAll(List.of("--grpc-port", Integer.toString(p.grpc())));
        }
        if (configFile != null) {
            cmd.addAll(List.of("-f", configFile.toAbsolutePath().toString()));
        }
        if (role == Role.QUEUE && index == 0) {
            cmd.add("--hold");
        }
        if (tls != null) {
            cmd.addAll(List.of("--set", io.chariots.common.net.ClusterTls.CERT_KEY + "=" + tls.cert().toAbsolutePath(),
                    "--set", io.chariots.common.net.ClusterTls.KEY_KEY + "=" + tls.key().toAbsolutePath(),
                    "--set", io.chariots.common.net.ClusterTls.CA_KEY + "=" + tls.ca().toAbsolutePath()));
        }
        if (secret != null && !secretInEnvironment) {
            cmd.addAll(List.of("--set", ClusterSecret.FILE_KEY + "=" + secretFile(spec.workDir).toAbsolutePath()));
        }
        spec.settings.forEach((k, v) -> cmd.addAll(List.of("--set", k + "=" + v)));
        cmd.add(spec.debug ? "-d" : "-i");
        return cmd;
    }

    private String scheme() {
        return tls == null || "false".equalsIgnoreCase(spec.settings.getOrDefault("tls.edges", "true")) ? "http" : "https";
    }

    /**
     * The TLS files of the cluster {@code up} recorded in {@code workDir}, or
     * null when it runs plaintext (or none is recorded).
     */
    public static LocalCa.Files3 recordedTls(Path workDir) throws IOException {
        Optional<ClusterStateFile.State> s = ClusterStateFile.in(workDir).read();
        Path dir = workDir.resolve("tls");
        boolean tls = s.isPresent() && s.get().processes().stream().anyMatch(i -> String.join(" ", i.command()).contains("tls.cert_file="));
        return tls && Files.exists(dir.resolve(LocalCa.CERT))
                ? new LocalCa.Files3(dir.resolve(LocalCa.CA), dir.resolve(LocalCa.CERT), dir.resolve(LocalCa.KEY)) : null;
    }

    /** The cluster's TLS files, or null when it runs plaintext. */
    public LocalCa.Files3 tls() {
        return tls;
    }

    /** An SSL context that trusts the cluster's CA (as a client of the cluster's edges). */
    public static javax.net.ssl.SSLContext sslContext(LocalCa.Files3 tls) {
        return io.chariots.client.Chariots.trusting(tls.ca());
    }

    /** For health probes only: an SSL context that takes any certificate. */
    static javax.net.ssl.SSLContext trustingAnyCertificate() {
        try {
            javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
            ctx.init(null, new javax.net.ssl.TrustManager[] {new javax.net.ssl.X509ExtendedTrustManager() {
                @Override public void checkClientTrusted(java.security.cert.X509Certificate[] c, String a, java.net.Socket s) { }
                @Override public void checkServerTrusted(java.security.cert.X509Certificate[] c, String a, java.net.Socket s) { }
                @Override public void checkClientTrusted(java.security.cert.X509Certificate[] c, String a, javax.net.ssl.SSLEngine e) { }
                @Override public void checkServerTrusted(java.security.cert.X509Certificate[] c, String a, javax.net.ssl.SSLEngine e) { }
                @Override public void checkClientTrusted(java.security.cert.X509Certificate[] c, String a) { }
                @Override public void checkServerTrusted(java.security.cert.X509Certificate[] c, String a) { }
                @Override public java.security.cert.X509Certificate[] getAcceptedIssuers() {
                    return new java.security.cert.X509Certificate[0];
                }
            }}, null);
            return ctx;
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Where a cluster run in {@code workDir} keeps its secret. */
    public static Path secretFile(Path workDir) {
        return workDir.resolve(SECRET_FILE);
    }

    /**
     * The secret of the cluster run in {@code workDir}, made (readable by
     * this user only) if there is none yet.
     */
    public static ClusterSecret ensureSecret(Path workDir) throws IOException {
        Path f = secretFile(workDir);
        if (!Files.exists(f)) {
            Files.createDirectories(workDir);
            Path tmp = Files.createTempFile(workDir, SECRET_FILE, ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(tmp, ClusterSecret.generate() + "\n");
            Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE);
        }
        return readSecret(workDir);
    }

    /**
     * The secret of the cluster run in {@code workDir}, or null if it has
     * none; {@code CHARIOTS_CLUSTER_SECRET} or {@code CHARIOTS_CLUSTER_SECRET_FILE}
     * in the environment take precedence (a cluster started some other way).
     */
    public static ClusterSecret readSecret(Path workDir) throws IOException {
        Optional<ClusterSecret> env = ClusterSecret.from(Settings.fromEnvironment(System.getenv()));
        if (env.isPresent()) {
            return env.get();
        }
        Path f = secretFile(workDir);
        return Files.exists(f) ? ClusterSecret.of(Files.readString(f), f.toString()) : null;
    }

    /** The cluster's secret, or null for an open cluster. */
    public ClusterSecret secret() {
        return secret;
    }

    /** Where this cluster keeps its logs, data, secret and config. */
    public Path workDir() {
        return spec.workDir;
    }

    /** The file that holds this cluster's secret ({@code WORKDIR/cluster_secret}; absent for an open cluster). */
    public Path secretFile() {
        return secretFile(spec.workDir);
    }

    /** Which datacenter this cluster is and which others it knows, or null when it was started without one (datacenter 0 of 1). */
    public DatacenterConfig datacenter() {
        return spec.datacenter;
    }

    /** The config file every role is given with {@code -f} ({@code WORKDIR/config.yaml}), or null when there is none. */
    public Path configFile() {
        return configFile;
    }

    /**
     * An {@code Authorization} header value for one change to the controller
     * (a new proof each call), or null for an open cluster.
     */
    public synchronized String authorization() {
        if (secret == null) {
            return null;
        }
        if (prover == null) {
            prover = new Prover(secret);
        }
        return Proof.HTTP_SCHEME + " " + prover.next(Proof.HTTP_PURPOSE);
    }

    /**
     * A gRPC channel to {@code host:port} as a member opens it: its calls prove
     * the cluster secret (if any), over mutual TLS (if the cluster runs TLS).
     * The caller shuts it down.
     */
    public ManagedChannel channel(String host, int port) {
        return channel(secret, tls, host, port);
    }

    /**
     * A gRPC channel to {@code host:port} proving {@code secret} (null: none),
     * over mutual TLS with the member certificate {@code tls} (null: plaintext).
     */
    public static ManagedChannel channel(ClusterSecret secret, LocalCa.Files3 tls, String host, int port) {
        if (tls == null) {
            return channel(secret, host, port);
        }
        try {
            io.grpc.netty.NettyChannelBuilder b = io.grpc.netty.NettyChannelBuilder.forAddress(host, port)
                    .sslContext(io.grpc.netty.GrpcSslContexts.forClient().keyManager(tls.cert().toFile(), tls.key().toFile())
                            .trustManager(tls.ca().toFile()).build())
                    .overrideAuthority(io.chariots.common.net.ClusterTls.DEFAULT_AUTHORITY).maxInboundMessageSize(256 << 20);
            if (secret != null) {
                b.intercept(new Prover(secret).interceptor());
            }
            return b.build();
        } catch (javax.net.ssl.SSLException e) {
            throw new IllegalStateException("cannot use the cluster's TLS files: " + e, e);
        }
    }

    /** A plaintext gRPC channel to {@code host:port} whose calls prove {@code secret} (null: none). */
    public static ManagedChannel channel(ClusterSecret secret, String host, int port) {
        ManagedChannelBuilder<?> b = ManagedChannelBuilder.forAddress(host, port).usePlaintext().maxInboundMessageSize(256 << 20);
        if (secret != null) {
            b.intercept(new Prover(secret).interceptor());
        }
        return b.build();
    }

    public RoleProcess controller() {
        return processes.get(Role.CONTROLLER).get(0);
    }

    /** Instance {@code index} of {@code role}. */
    public RoleProcess get(Role role, int index) {
        return processes.get(role).get(index);
    }

    public List<RoleProcess> all(Role role) {
        return List.copyOf(processes.getOrDefault(role, List.of()));
    }

    public List<RoleProcess> all() {
        List<RoleProcess> out = new ArrayList<>();
        for (Role r : ROLES) {
            out.addAll(processes.getOrDefault(r, List.of()));
        }
        return out;
    }

    /** Base URL of the controller's HTTP API. */
    public String controllerUrl() {
        return scheme() + "://127.0.0.1:" + controller().ports().main();
    }

    /** Base URL of app {@code index}. */
    public String appUrl(int index) {
        return scheme() + "://127.0.0.1:" + get(Role.APP, index).ports().main();
    }

    /** GET a JSON document. */
    public JsonNode getJson(String url) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException("GET " + url + " answered " + r.statusCode() + ": " + r.body());
        }
        return JSON.readTree(r.body());
    }

    /** The controller's {@code GET /}: role list name (e.g. "batchers") → addresses. */
    public Map<String, List<String>> registered() throws IOException, InterruptedException {
        JsonNode n = getJson(controllerUrl() + "/");
        Map<String, List<String>> out = new LinkedHashMap<>();
        n.fields().forEachRemaining(e -> {
            List<String> l = new ArrayList<>();
            e.getValue().forEach(v -> l.add(v.asText()));
            out.put(e.getKey(), l);
        });
        return out;
    }

    /**
     * The instances the controller has heard from since it started, by
     * {@link #listName list name}: unlike {@link #registered()}, without
     * members restored from its saved state that have not registered again.
     */
    public Map<String, List<String>> live() throws IOException, InterruptedException {
        JsonNode n = getJson(controllerUrl() + "/cluster");
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (JsonNode i : n.path("instances")) {
            if ("live".equals(i.path("health").asText())) {
                out.computeIfAbsent(i.path("role").asText() + "s", k -> new ArrayList<>()).add(i.path("address").asText());
            }
        }
        return out;
    }

    /** GoChariots' key in {@code GET /} for a role: "batchers". */
    public static String listName(Role role) {
        return RoleConfig.roleName(role) + "s";
    }

    /**
     * Waits until the controller lists exactly the running instances (those
     * alive and not paused), each registered since the controller started,
     * and (when queues and maintainers run) the token ring is made of exactly
     * the running queues: every one of them knows the same epoch, whose ring
     * is them all (these processes, not earlier ones at their addresses). A
     * cluster whose ring is still forming changes epochs under its first
     * load, which a test injecting faults would mistake for their effect.
     * A ring that cannot form (a recovery waiting for a maintainer that may
     * hold LIds and is not running) makes it time out.
     *
     * @throws IllegalStateException with the cluster state if it does not happen in time
     */
    public void awaitRegistered(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "";
        List<RoleProcess> missing = List.of();
        while (System.nanoTime() < deadline) {
            try {
                Map<String, List<String>> reg = live();
                boolean all = true;
                for (Role role : ROLES) {
                    if (role == Role.CONTROLLER) {
                        continue;
                    }
                    List<String> want = all(role).stream().filter(p -> p.alive() && !p.paused()).map(RoleProcess::address).sorted().toList();
                    List<String> have = reg.getOrDefault(listName(role), List.of()).stream().sorted().toList();
                    if (!want.equals(have)) {
                        all = false;
                        last = listName(role) + ": want " + want + ", controller lists " + have;
                        missing = all(role).stream().filter(p -> p.alive() && !have.contains(p.address())).toList();
                        break;
                    }
                }
                if (all) {
                    String ring = ringUnformed();
                    if (ring == null) {
                        return;
                    }
                    last = ring;
                }
            } catch (IOException e) {
                last = e.toString();
            }
            for (RoleProcess p : all()) {
                if (p.handle().isPresent() && !p.alive() && p.command().size() > 0 && !p.paused()
                        && p.handle().get().onExit().isDone() && wasExpectedAlive(p)) {
                    throw new IllegalStateException(p + " exited during startup:\n" + p.tail(30) + "\n" + describe());
                }
            }
            Thread.sleep(100);
        }
        StringBuilder tails = new StringBuilder();
        for (RoleProcess p : missing) {
            tails.append("---- last lines of unregistered ").append(p).append(" (").append(p.log()).append(") ----\n")
                    .append(p.tail(20)).append('\n');
        }
        throw new IllegalStateException("cluster did not register in " + timeout.toSeconds() + " s (" + last + ")\n" + describe() + tails);
    }

    /** Why the ring is not yet the running queues ({@code null} once it is). */
    private String ringUnformed() throws IOException, InterruptedException {
        List<RoleProcess> queues = all(Role.QUEUE).stream().filter(p -> p.alive() && !p.paused()).toList();
        if (queues.isEmpty() || all(Role.MAINTAINER).stream().noneMatch(p -> p.alive() && !p.paused())) {
            return null;
        }
        List<String> want = queues.stream().map(RoleProcess::address).sorted().toList();
        List<JsonNode> health = new ArrayList<>();
        List<String> instances = new ArrayList<>();
        for (RoleProcess q : queues) {
            JsonNode h = getJson("http://" + q.host() + ":" + q.ports().admin() + "/health");
            health.add(h);
            instances.add(h.path("instance").asText());
        }
        Collections.sort(instances);
        long epoch = -1;
        for (int i = 0; i < queues.size(); i++) {
            JsonNode h = health.get(i);
            List<String> ring = new ArrayList<>();
            h.path("ringMembers").forEach(a -> ring.add(a.asText()));
            List<String> ringInstances = new ArrayList<>();
            h.path("ringInstances").forEach(a -> ringInstances.add(a.asText()));
            long e = h.path("epoch").asLong(-1);
            // The ring of the epoch it knows (not an older layout's), naming these very processes (a queue
            // restarted at a dead one's address is another instance), and the same epoch everywhere.
            if (!want.equals(ring.stream().sorted().toList()) || !instances.equals(ringInstances.stream().sorted().toList())
                    || h.path("ringEpoch").asLong(-2) != e || (epoch != -1 && e != epoch)) {
                return queues.get(i) + " knows epoch " + e + " with the ring of epoch " + h.path("ringEpoch") + ": " + ring
                        + " " + ringInstances + "; the running queues are " + want + " " + instances;
            }
            epoch = e;
        }
        return null;
    }

    private final java.util.Set<RoleProcess> expectedDown = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** Marks an instance as deliberately down, so that waiting for registration does not treat its exit as a failure. */
    public void expectDown(RoleProcess p, boolean down) {
        if (down) {
            expectedDown.add(p);
        } else {
            expectedDown.remove(p);
        }
    }

    private boolean wasExpectedAlive(RoleProcess p) {
        return !expectedDown.contains(p);
    }

    private void awaitHttp(RoleProcess p, Duration timeout) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.alive()) {
                throw new IOException(p + " exited at startup:\n" + p.tail(30));
            }
            if (FreePorts.listening("127.0.0.1", p.ports().main())) {
                return;
            }
            Thread.sleep(50);
        }
        throw new IOException(p + " did not open port " + p.ports().main() + " in " + timeout.toSeconds() + " s:\n" + p.tail(30));
    }

    /** Every instance with pid, ports and liveness, the controller's view, and each dead instance's log tail. */
    public String describe() {
        StringBuilder sb = new StringBuilder("---- cluster state ----\n");
        for (RoleProcess p : all()) {
            sb.append(String.format("%-13s pid %-7d port %-5d admin %-5d grpc %-5d %s%n", p.name(), p.pid(),
                    p.ports().main(), p.ports().admin(), p.ports().grpc(), p.alive() ? (p.paused() ? "PAUSED" : "alive") : "DOWN"));
        }
        try {
            sb.append("controller /cluster: ").append(getJson(controllerUrl() + "/cluster").toPrettyString()).append('\n');
        } catch (Exception e) {
            sb.append("controller /cluster: unavailable (").append(e).append(")\n");
        }
        for (RoleProcess p : all()) {
            if (!p.alive() || p.role() == Role.CONTROLLER) {
                sb.append("---- last lines of ").append(p).append(" (").append(p.log()).append(") ----\n")
                        .append(p.tail(15)).append('\n');
            }
        }
        return sb.toString();
    }

    /** Stops every instance (SIGTERM, then SIGKILL), controller last. */
    @Override
    public void close() {
        List<RoleProcess> all = all();
        all.parallelStream().filter(p -> p.role() != Role.CONTROLLER).forEach(p -> p.stop(Duration.ofSeconds(5)));
        if (processes.containsKey(Role.CONTROLLER)) {
            controller().stop(Duration.ofSeconds(5));
        }
    }
}
