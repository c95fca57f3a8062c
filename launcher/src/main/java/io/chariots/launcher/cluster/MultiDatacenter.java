package io.chariots.launcher.cluster;

import io.chariots.common.auth.ClusterSecret;
import io.chariots.common.config.Settings;
import io.chariots.proto.Role;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.ToIntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Several linked datacenters on this machine, each a full {@link LocalCluster}
 * with its own controller, work directory ({@code WORKDIR/dc0},
 * {@code WORKDIR/dc1}, …), cluster secret and {@code config.yaml}:
 * {@code num_dc: N}, {@code id: d}, and {@code remote_batchers} naming the
 * first batcher of every other datacenter with its gRPC address and that
 * datacenter's secret file. Ports are either free ones (tests) or, as
 * {@code ./chariots up --dcs N} runs them, datacenter d on the default ports
 * + 10000·d. All ports are chosen before any process starts, since every
 * datacenter's config names the others'.
 *
 * <pre>
 * try (MultiDatacenter dcs = MultiDatacenter.spec(2).workDir(dir).each(s -> s.queues(2)).start()) {
 *     dcs.awaitRegistered(Duration.ofSeconds(120));
 *     LocalCluster dc1 = dcs.datacenter(1);
 *     String app = dc1.appUrl(0), controller = dc1.controllerUrl();
 * }
 * </pre>
 */
public final class MultiDatacenter implements AutoCloseable {
    /** How far apart two datacenters' default ports are: datacenter d's controller is on 8081 + 10000·d. */
    public static final int PORT_STRIDE = 10_000;
    /** The most datacenters on default ports: a seventh's batcher gRPC port (10000 + 60000) would pass 65535. */
    public static final int MAX_DATACENTERS_ON_DEFAULT_PORTS = 6;

    private static final Pattern DC_DIR = Pattern.compile("dc(\\d+)");

    private final Path workDir;
    private final List<LocalCluster> clusters;

    private MultiDatacenter(Path workDir, List<LocalCluster> clusters) {
        this.workDir = workDir;
        this.clusters = List.copyOf(clusters);
    }

    /** A spec of {@code datacenters} datacenters, each one of every role on free ports until told otherwise. */
    public static Spec spec(int datacenters) {
        return new Spec(datacenters);
    }

    /** Datacenter {@code d}'s work directory under {@code workDir}: {@code workDir/dcD}. */
    public static Path dir(Path workDir, int d) {
        return workDir.resolve("dc" + d);
    }

    /**
     * The datacenters recorded under {@code workDir} (a {@code dcD} directory
     * holding a cluster record), in datacenter order: empty when none is.
     */
    public static List<Path> recorded(Path workDir) throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(workDir)) {
            return out;
        }
        for (int d = 0; ; d++) {
            Path dir = dir(workDir, d);
            if (!Files.exists(ClusterStateFile.in(dir).path())) {
                return out;
            }
            out.add(dir);
        }
    }

    /** Datacenter id of a directory named {@code dcD}, or -1. */
    public static int datacenterOf(Path dir) {
        Matcher m = DC_DIR.matcher(dir.getFileName() == null ? "" : dir.getFileName().toString());
        return m.matches() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** What to start: how many datacenters, where, on which ports, and how each is shaped. */
    public static final class Spec {
        private final int datacenters;
        private Path workDir;
        private boolean defaultPorts;
        private final List<Consumer<LocalCluster.Spec>> each = new ArrayList<>();
        private final List<BiConsumer<Integer, LocalCluster.Spec>> perDatacenter = new ArrayList<>();
        private List<LocalCluster.Spec> built;

        private Spec(int datacenters) {
            if (datacenters < 1) {
                throw new IllegalArgumentException("at least one datacenter, got " + datacenters);
            }
            this.datacenters = datacenters;
        }

        /** Where datacenter d keeps logs, data, secret and config: {@code dir/dcD}. Required. */
        public Spec workDir(Path dir) {
            this.workDir = dir;
            return changed();
        }

        /**
         * Datacenter d on the default ports + 10000·d (as {@code ./chariots up
         * --dcs N}) instead of free ones; at most {@value #MAX_DATACENTERS_ON_DEFAULT_PORTS} datacenters.
         */
        public Spec defaultPorts(boolean b) {
            this.defaultPorts = b;
            return changed();
        }

        /**
         * Shapes every datacenter's cluster: counts, settings, JVM options,
         * detached, open, debug. Ports, work directory and datacenter config
         * are this spec's to set.
         */
        public Spec each(Consumer<LocalCluster.Spec> shape) {
            each.add(shape);
            return changed();
        }

        /** Shapes datacenter {@code d}'s cluster only, after {@link #each}. */
        public Spec datacenter(int d, Consumer<LocalCluster.Spec> shape) {
            checkDatacenter(d);
            perDatacenter.add((dc, s) -> {
                if (dc == d) {
                    shape.accept(s);
                }
            });
            return changed();
        }

        public int datacenters() {
            return datacenters;
        }

        /**
         * Every datacenter's cluster spec as {@link #start} starts it: ports
         * planned, {@code config.yaml} contents decided. Built once (free
         * ports stay chosen); shaping the spec afterwards builds them anew.
         *
         * @throws IllegalArgumentException when a datacenter has no batcher (the others send to it) or the default
         *                                  ports would pass 65535
         */
        public List<LocalCluster.Spec> clusters() {
            if (built != null) {
                return built;
            }
            if (workDir == null) {
                throw new IllegalStateException("workDir is required");
            }
            if (defaultPorts && datacenters > MAX_DATACENTERS_ON_DEFAULT_PORTS) {
                throw new IllegalArgumentException("at most " + MAX_DATACENTERS_ON_DEFAULT_PORTS + " datacenters run on the "
                        + "default ports (datacenter d on + " + PORT_STRIDE + "·d), asked for " + datacenters);
            }
            List<LocalCluster.Spec> specs = new ArrayList<>();
            for (int d = 0; d < datacenters; d++) {
                LocalCluster.Spec s = LocalCluster.spec();
                for (Consumer<LocalCluster.Spec> shape : each) {
                    shape.accept(s);
                }
                for (BiConsumer<Integer, LocalCluster.Spec> shape : perDatacenter) {
                    shape.accept(d, s);
                }
                if (s.count(Role.BATCHER) == 0) {
                    throw new IllegalArgumentException("datacenter " + d + " has no batcher: the other datacenters send to it");
                }
                s.workDir(dir(workDir, d)).defaultPorts(defaultPorts).portOffset(defaultPorts ? PORT_STRIDE * d : 0);
                specs.add(s);
            }
            List<PortPlan> plans = defaultPorts ? specs.stream().map(LocalCluster.Spec::plannedPorts).toList()
                    : PortPlan.free(specs.stream().map(s -> (ToIntFunction<Role>) s::count).toList());
            boolean ownSecrets = !ClusterSecret.from(Settings.fromEnvironment(System.getenv())).isPresent();
            for (int d = 0; d < datacenters; d++) {
                List<DatacenterConfig.RemoteBatcher> remotes = new ArrayList<>();
                for (int other = 0; other < datacenters; other++) {
                    if (other == d) {
                        continue;
                    }
                    RoleProcess.Ports batcher = plans.get(other).get(Role.BATCHER, 0);
                    // With one secret from the environment, every datacenter has it: the default (this cluster's) is right.
                    Path secret = specs.get(other).isOpen() || !ownSecrets ? null
                            : LocalCluster.secretFile(dir(workDir, other)).toAbsolutePath();
                    remotes.add(new DatacenterConfig.RemoteBatcher(other, "127.0.0.1:" + batcher.main(),
                            "127.0.0.1:" + batcher.grpc(), secret));
                }
                specs.get(d).ports(plans.get(d)).datacenter(new DatacenterConfig(d, datacenters, remotes));
            }
            built = List.copyOf(specs);
            return built;
        }

        /**
         * Makes every datacenter's secret (each config names the others'),
         * then starts the datacenters one after the other, each controller
         * first. Does not wait for registration ({@link MultiDatacenter#awaitRegistered}).
         * If one fails to start, those already started are stopped.
         */
        public MultiDatacenter start() throws IOException, InterruptedException {
            List<LocalCluster.Spec> specs = clusters();
            for (LocalCluster.Spec s : specs) {
                if (s.isTls()) {
                    throw new IllegalArgumentException("linked datacenters do not run over TLS yet: each would have its own CA");
                }
                if (!s.isOpen()) {
                    LocalCluster.ensureSecret(s.workDir());
                }
            }
            List<LocalCluster> started = new ArrayList<>();
            try {
                for (LocalCluster.Spec s : specs) {
                    started.add(s.start());
                }
            } catch (IOException | InterruptedException | RuntimeException e) {
                new MultiDatacenter(workDir, started).close();
                throw e;
            }
            return new MultiDatacenter(workDir, started);
        }

        private Spec changed() {
            built = null;
            return this;
        }

        private void checkDatacenter(int d) {
            if (d < 0 || d >= datacenters) {
                throw new IllegalArgumentException("datacenter " + d + " does not exist: datacenters are 0.." + (datacenters - 1));
            }
        }
    }

    /** How many datacenters run. */
    public int size() {
        return clusters.size();
    }

    /** Datacenter {@code d}'s cluster. */
    public LocalCluster datacenter(int d) {
        if (d < 0 || d >= clusters.size()) {
            throw new IllegalArgumentException("datacenter " + d + " does not exist: datacenters are 0.." + (clusters.size() - 1));
        }
        return clusters.get(d);
    }

    /** Every datacenter's cluster, in datacenter order. */
    public List<LocalCluster> all() {
        return clusters;
    }

    /** The directory under which datacenter d's work directory is {@code dcD}. */
    public Path workDir() {
        return workDir;
    }

    /** Base URL of datacenter {@code d}'s first app. */
    public String appUrl(int d) {
        return datacenter(d).appUrl(0);
    }

    /** Base URL of datacenter {@code d}'s controller. */
    public String controllerUrl(int d) {
        return datacenter(d).controllerUrl();
    }

    /** Raw TCP address ({@code 127.0.0.1:port}) of datacenter {@code d}'s first batcher, as the others name it. */
    public String batcherAddress(int d) {
        return datacenter(d).get(Role.BATCHER, 0).address();
    }

    /** The file holding datacenter {@code d}'s cluster secret. */
    public Path secretFile(int d) {
        return datacenter(d).secretFile();
    }

    /** Waits until every datacenter's controller lists its running instances and its ring formed ({@link LocalCluster#awaitRegistered}). */
    public void awaitRegistered(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (LocalCluster c : clusters) {
            c.awaitRegistered(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
        }
    }

    /** Stops every process of every datacenter (each as {@link LocalCluster#close}, the datacenters side by side). */
    @Override
    public void close() {
        clusters.parallelStream().forEach(LocalCluster::close);
    }
}
