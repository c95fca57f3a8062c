package io.chariots.launcher;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.runtime.DataDir;
import io.chariots.launcher.cluster.ClusterStateFile;
import io.chariots.launcher.cluster.ClusterStateFile.Instance;
import io.chariots.launcher.cluster.ClusterStateFile.State;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.MultiDatacenter;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.Role;
import io.chariots.queue.Queue;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.Closeable;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.BiConsumer;
import java.util.function.ToIntFunction;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code up}: starts a local cluster, by default the one recorded in the run directory. The shape outlives
 * {@code down}, so a plain {@code up} brings back every instance whose data holds part of the log; counts that
 * would leave out an instance with data are refused, naming it, and {@code --fresh} moves the old run aside.
 */
@Command(name = "up", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Start a local cluster: every role its own JVM on 127.0.0.1, on the default ports "
                + "(app 8080, controller 8081, batcher 9000, filter 9010, queue 9020, maintainer 9030, indexer 9040; "
                + "more instances on the next ports). Waits until all have registered.",
                "Without counts, starts the cluster recorded in the run directory (one of each role if none is). "
                + "Refuses counts that would leave out an instance whose data is there (a maintainer, an indexer).",
                "With --dcs N, starts N linked datacenters, datacenter d in DIR/dcD on the default ports + 10000·d; "
                + "without it, the datacenters recorded in DIR, if any."})
final class UpCommand implements Callable<Integer> {
    /** The roles whose count {@code up} takes; there is always one controller and one app. */
    private static final List<Role> COUNTED = List.of(Role.INDEXER, Role.MAINTAINER, Role.QUEUE, Role.FILTER,
            Role.BATCHER);

    @Mixin
    RunDir run;
    @Option(names = "--batchers", paramLabel = "N", description = "Batchers (default: as recorded, else 1).")
    Integer batchers;
    @Option(names = "--filters", paramLabel = "N", description = "Filters (default: as recorded, else 1).")
    Integer filters;
    @Option(names = "--queues", paramLabel = "N", description = "Queues in the token ring (default: as recorded, else 1).")
    Integer queues;
    @Option(names = "--maintainers", paramLabel = "N", description = "Maintainers (default: as recorded, else 1).")
    Integer maintainers;
    @Option(names = "--indexers", paramLabel = "N", description = "Indexers (default: as recorded, else 1).")
    Integer indexers;
    @Option(names = "--dcs", paramLabel = "N", description = "Start N linked datacenters (1.."
            + MultiDatacenter.MAX_DATACENTERS_ON_DEFAULT_PORTS + "): datacenter d is a whole cluster in DIR/dcD on the default "
            + "ports + 10000·d, with its own controller and cluster secret, and a config.yaml with num_dc N, id d and "
            + "remote_batchers naming every other datacenter's batcher. The counts apply to each datacenter.")
    Integer dcs;
    @Option(names = "--fresh", description = "Start over: first move the run directory's logs, data and record aside "
            + "to DIR-old-TIME/ (nothing is deleted).")
    boolean fresh;
    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "A setting passed to every role.")
    Map<String, String> settings = new LinkedHashMap<>();
    @Option(names = "-d", description = "Roles log at DEBUG.")
    boolean debug;
    @Option(names = "--tls", description = "Run over TLS: certificates from a throwaway CA in DIR/tls (made if missing, "
            + "as ./chariots certs does), mutual TLS between roles, HTTPS on 8080/8081 and TLS on the raw TCP port.")
    boolean tls;

    /** An instance this start would leave out although its data directory holds data. */
    record LeftOut(Role role, int index, Path dataDir) {
    }

    @Override
    public Integer call() throws Exception {
        if (dcs != null || !fresh && !run.recorded() && !run.datacenters().isEmpty()) {
            return new DatacentersUp(this).call();
        }
        RunDir whole = run.whole();
        if (whole != null) {
            run.err().println("chariots up: " + run.dir + "/ is datacenter " + run.datacenterId() + " of those recorded in "
                    + whole.dir + "/, and starts with them: " + whole.command("up") + " (alone, it would start on "
                    + "datacenter 0's ports, without its config). One instance: " + run.command("start ROLE#N") + ".");
            return 1;
        }
        try (Closeable lock = run.lock()) {
            Optional<State> recorded = run.file().read();
            if (recorded.isPresent() && refuseWhileRunning(run, recorded.get())) {
                return 1;
            }
            if (fresh) {
                // Not while something listens where this cluster will (one whose record is gone, or another's):
                // its logs and data would be moved from under it, and the new cluster could not start anyway.
                try {
                    spec(Optional.empty(), asked()).plannedPorts().checkBindable();
                } catch (IOException e) {
                    run.err().println("chariots up: " + e.getMessage() + "; nothing was moved");
                    return 1;
                }
                moveAside();
                recorded = Optional.empty();
            }
            Map<Role, Integer> asked = asked();
            LocalCluster.Spec spec = spec(recorded, asked);
            List<LeftOut> leftOut = leftOut(spec);
            if (!leftOut.isEmpty()) {
                refuseLeavingOut(run, leftOut, asked, "");
                return 1;
            }
            if (recorded.isPresent()) {
                String was = shape(recorded.get()::count);
                String now = shape(spec::count);
                run.out().println(was.equals(now) ? "Starting the cluster recorded in " + run.dir + "/: " + now + "."
                        : "Starting " + now + " (" + run.dir + "/ recorded " + was + ").");
            }
            return start(spec);
        }
    }

    /** The counts given on the command line. */
    Map<Role, Integer> asked() {
        Map<Role, Integer> m = new EnumMap<>(Role.class);
        BiConsumer<Role, Integer> given = (role, n) -> {
            if (n != null) {
                m.put(role, n);
            }
        };
        given.accept(Role.BATCHER, batchers);
        given.accept(Role.FILTER, filters);
        given.accept(Role.QUEUE, queues);
        given.accept(Role.MAINTAINER, maintainers);
        given.accept(Role.INDEXER, indexers);
        return m;
    }

    /** Says why not and returns true while any instance of the cluster recorded in {@code run} still runs. */
    static boolean refuseWhileRunning(RunDir run, State recorded) {
        return refuseWhileRunning(run, recorded, run, null);
    }

    /**
     * As {@link #refuseWhileRunning(RunDir, State)} for one cluster ({@code what}, in {@code run}) of a run of
     * several in {@code whole}: status and down are offered for the whole, restart for the cluster's instance
     * ({@code what} null: a cluster of its own).
     */
    static boolean refuseWhileRunning(RunDir run, State recorded, RunDir whole, String what) {
        List<String> notRunning = new ArrayList<>();
        boolean anyAlive = false;
        for (Instance i : recorded.processes()) {
            ClusterStateFile.Status s = i.status();
            anyAlive |= s.alive();
            if (!s.alive()) {
                notRunning.add(i.name() + " (" + s.label() + ")");
            }
        }
        if (!anyAlive) {
            return false;
        }
        PrintWriter err = run.err();
        String capitalized = what == null ? null : Character.toUpperCase(what.charAt(0)) + what.substring(1);
        if (notRunning.isEmpty()) {
            err.println((what == null ? "A cluster started from " + run.dir + "/" : capitalized) + " is running: see " + whole.command("status") + ", stop it with "
                    + whole.command("down") + ".");
        } else {
            err.println((what == null ? "The cluster recorded in " + run.dir + "/" : capitalized) + " is running without " + String.join(", ", notRunning) + ".");
            err.println("Bring one back with " + run.command("restart ROLE#N") + " (e.g. "
                    + run.command("restart " + notRunning.get(0).split(" ")[0]) + "), or stop the rest with "
                    + whole.command("down") + ".");
        }
        return true;
    }

    /** Moves everything but the lock (which this command holds) into a sibling directory named for now. */
    void moveAside() throws IOException {
        Path dir = run.dir.toAbsolutePath().normalize();
        List<Path> entries;
        try (Stream<Path> s = Files.list(dir)) {
            entries = s.filter(p -> !p.equals(run.file().lockFile().toAbsolutePath().normalize())).toList();
        }
        if (entries.isEmpty()) {
            return;
        }
        Path aside = dir.resolveSibling(dir.getFileName() + "-old-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        Files.createDirectories(aside);
        for (Path p : entries) {
            Files.move(p, aside.resolve(p.getFileName()));
        }
        run.out().println("Moved the logs, data and record in " + run.dir + "/ aside to " + aside
                + "/ (delete it once you no longer need them).");
    }

    /** Counts as asked, else as recorded, else one. */
    private LocalCluster.Spec spec(Optional<State> recorded, Map<Role, Integer> asked) {
        LocalCluster.Spec spec = LocalCluster.spec().defaultPorts(true).workDir(run.dir.toAbsolutePath());
        shape(spec, recorded, asked);
        return spec;
    }

    /** Applies this command's counts (as asked, else as {@code recorded}, else one), settings and options to {@code spec}. */
    void shape(LocalCluster.Spec spec, Optional<State> recorded, Map<Role, Integer> asked) {
        spec.detached(true).debug(debug).tls(tls);
        for (Role role : LocalCluster.ROLES) {
            if (role != Role.CONTROLLER) {
                spec.count(role, asked.getOrDefault(role, recorded.map(s -> s.count(role)).orElse(1)));
            }
        }
        String jvm = System.getenv("CHARIOTS_JVM_OPTS");
        if (jvm != null && !jvm.isBlank()) {
            spec.jvmOptions(Arrays.asList(jvm.trim().split("\\s+")));
        }
        settings.forEach(spec::setting);
    }

    /** "1 controller, 1 indexer, 3 maintainers, ...", in start order. */
    static String shape(ToIntFunction<Role> count) {
        return LocalCluster.ROLES.stream().filter(r -> count.applyAsInt(r) > 0)
                .map(r -> count.applyAsInt(r) + " " + RoleConfig.roleName(r) + (count.applyAsInt(r) == 1 ? "" : "s"))
                .collect(Collectors.joining(", "));
    }

    /**
     * The instances beyond {@code spec}'s counts whose data directory holds anything. Any role counts, not only
     * maintainers and indexers, so that whatever a role comes to keep on disk is never silently left behind; but
     * not a directory's lock file, nor a queue's dedup memory (the queues left running own its ids once it is
     * out of the ring, and check them against the log as after any ring change).
     */
    static List<LeftOut> leftOut(LocalCluster.Spec spec) throws IOException {
        List<LeftOut> out = new ArrayList<>();
        for (Role role : LocalCluster.ROLES) {
            for (int i = spec.count(role); i < LocalCluster.MAX_INSTANCES; i++) {
                Path d = spec.dataDir(role, i);
                if (Files.isDirectory(d)) {
                    try (Stream<Path> s = Files.list(d)) {
                        if (s.map(f -> f.getFileName().toString()).anyMatch(f -> !f.equals(DataDir.LOCK_FILE)
                                && !(role == Role.QUEUE && (f.equals(Queue.MEMORY_FILE) || f.equals(Queue.MEMORY_TMP_FILE))))) {
                            out.add(new LeftOut(role, i, d));
                        }
                    }
                }
            }
        }
        return out;
    }

    /** Names the instances left out, and the {@code up} that starts them too ({@code upFlags}: e.g. "--dcs 2 "). */
    static void refuseLeavingOut(RunDir run, List<LeftOut> leftOut, Map<Role, Integer> asked, String upFlags) {
        PrintWriter err = run.err();
        err.println("chariots up: these instances keep data in " + run.dir + "/ and would not be started:");
        for (LeftOut l : leftOut) {
            err.printf("  %-14s %s%n", RoleProcess.name(l.role(), l.index()), l.dataDir());
        }
        err.println("Without them the log positions they hold cannot be read, and the log cannot safely go on.");
        Map<Role, Integer> enough = new EnumMap<>(asked);
        leftOut.forEach(l -> enough.merge(l.role(), l.index() + 1, Math::max));
        String counts = COUNTED.stream().filter(enough::containsKey)
                .map(r -> "--" + LocalCluster.listName(r) + " " + enough.get(r))
                .collect(Collectors.joining(" "));
        err.println("Start them too:  " + run.command("up " + upFlags + counts));
        err.println("Or start over:   " + run.command("up " + upFlags + "--fresh") + "   (moves " + run.dir
                + "/'s logs, data and record aside)");
    }

    private int start(LocalCluster.Spec spec) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        LocalCluster cluster;
        try {
            cluster = spec.start();
        } catch (IOException e) {
            run.err().println("chariots up: " + e.getMessage());
            return 1;
        }
        // Recorded before the wait, so that down finds the processes even if this command is interrupted.
        run.file().write(State.of(cluster));
        try {
            cluster.awaitRegistered(Duration.ofSeconds(90));
        } catch (IllegalStateException e) {
            run.err().println("chariots up: " + e.getMessage());
            run.err().println("Stopping what was started.");
            cluster.close();
            run.file().write(State.of(cluster).allStopped());
            return 1;
        }
        PrintWriter out = run.out();
        out.printf("Chariots is up: %d processes registered in %.1f s.%n%n", cluster.all().size(),
                (System.nanoTime() - t0) / 1e9);
        boolean edgesTls = tls && !"false".equalsIgnoreCase(settings.getOrDefault("tls.edges", "true"));
        String web = edgesTls ? "https" : "http";
        for (RoleProcess p : cluster.all()) {
            String what = switch (p.role()) {
                case APP -> web + "://127.0.0.1:" + p.ports().main() + "  POST /record";
                case CONTROLLER -> web + "://127.0.0.1:" + p.ports().main() + "  GET / , GET /cluster";
                case BATCHER -> "127.0.0.1:" + p.ports().main() + (edgesTls ? "  raw TCP frames over TLS" : "  raw TCP frames");
                default -> "127.0.0.1:" + p.ports().main() + (tls ? "  gRPC, mutual TLS" : "  gRPC");
            };
            boolean edge = p.role() == Role.APP || p.role() == Role.CONTROLLER;
            out.printf("  %-13s %-48s metrics %s://127.0.0.1:%d/metrics%n", p.name(), what, edge ? web : "http", p.ports().admin());
        }
        out.println();
        out.println("Logs and data: " + run.dir + "/   Status: " + run.command("status") + "   Stop: " + run.command("down"));
        out.println("One instance: " + run.command("stop|kill|pause|resume|start|restart ROLE#N") + " (e.g. queue#1)");
        if (edgesTls) {
            out.println("TLS: clients trust " + run.dir.resolve("tls").resolve(io.chariots.launcher.cluster.LocalCa.CA)
                    + " (curl --cacert …, Chariots.builder(url).trust(…)); raw TCP on 9000 is TLS too");
        }
        out.println("Cluster secret: " + io.chariots.launcher.cluster.LocalCluster.secretFile(run.dir) + " (every role proves it;"
                + " a change to the controller over curl needs -H \"Authorization: Chariots $(" + run.command("token") + ")\")");
        return 0;
    }
}
