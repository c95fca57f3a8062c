package io.chariots.launcher;

import io.chariots.launcher.cluster.ClusterStateFile.State;
import io.chariots.launcher.cluster.DatacenterConfig;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.MultiDatacenter;
import io.chariots.proto.Role;

import java.io.Closeable;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * {@code up --dcs N} (and a plain {@code up} where datacenters are recorded): N linked datacenters on this machine,
 * datacenter d a whole cluster in {@code DIR/dcD} on the default ports + 10000·d ({@link MultiDatacenter}). Each
 * datacenter's shape is remembered in its own directory, as a single cluster's is in {@code DIR}, and the same
 * refusals apply to each; the commands on one instance take {@code --dir DIR/dcD}.
 */
final class DatacentersUp {
    private final UpCommand up;
    private final RunDir run;

    DatacentersUp(UpCommand up) {
        this.up = up;
        this.run = up.run;
    }

    int call() throws Exception {
        PrintWriter err = run.err();
        if (up.tls) {
            err.println("chariots up: --tls and --dcs do not go together yet (each datacenter would have its own CA, "
                    + "and the links between them would not trust each other).");
            return 1;
        }
        try (Closeable lock = run.lock()) {
            if (up.fresh) {
                up.moveAside();
            } else if (run.recorded()) {
                err.println("chariots up: " + run.dir + "/ holds a single-datacenter cluster (" + run.file().path() + "). "
                        + "Start the datacenters in another directory (./chariots up --dcs " + up.dcs + " --dir " + run.dir
                        + "-dcs), or start over here with " + run.command("up --dcs " + up.dcs + " --fresh")
                        + " (moves it aside).");
                return 1;
            }
            int recordedCount = MultiDatacenter.recorded(run.dir).size();
            int n = up.dcs != null ? up.dcs : recordedCount;
            if (n < 1 || n > MultiDatacenter.MAX_DATACENTERS_ON_DEFAULT_PORTS) {
                err.println("chariots up: --dcs must be 1.." + MultiDatacenter.MAX_DATACENTERS_ON_DEFAULT_PORTS
                        + " (datacenter d runs on the default ports + " + MultiDatacenter.PORT_STRIDE + "·d), got " + n + ".");
                return 1;
            }
            List<Closeable> locks = new ArrayList<>();
            try {
                List<Optional<State>> recorded = new ArrayList<>();
                for (int d = 0; d < Math.max(n, recordedCount); d++) {
                    RunDir dc = run.datacenter(d);
                    locks.add(dc.lock());
                    recorded.add(dc.file().read());
                }
                return startUnderLocks(n, recorded);
            } finally {
                for (int i = locks.size() - 1; i >= 0; i--) {
                    locks.get(i).close();
                }
            }
        }
    }

    private int startUnderLocks(int n, List<Optional<State>> recorded) throws IOException, InterruptedException {
        for (int d = 0; d < recorded.size(); d++) {
            if (recorded.get(d).isPresent() && UpCommand.refuseWhileRunning(run.datacenter(d), recorded.get(d).get(), run,
                    "datacenter " + d + " (" + run.datacenter(d).dir + "/)")) {
                return 1;
            }
        }
        for (int d = n; d < recorded.size(); d++) {
            Path data = run.datacenter(d).dir.resolve("data");
            if (holdsData(data)) {
                run.err().println("chariots up: datacenter " + d + " keeps data in " + data + " and would not be started; "
                        + "its log would be left behind. Start it too: " + run.command("up --dcs " + recorded.size())
                        + ", or start over: " + run.command("up --dcs " + n + " --fresh") + " (moves " + run.dir
                        + "/'s logs, data and records aside).");
                return 1;
            }
        }
        Map<Role, Integer> asked = up.asked();
        MultiDatacenter.Spec spec = MultiDatacenter.spec(n).workDir(run.dir.toAbsolutePath()).defaultPorts(true);
        for (int d = 0; d < n; d++) {
            Optional<State> was = d < recorded.size() ? recorded.get(d) : Optional.empty();
            spec.datacenter(d, s -> up.shape(s, was, asked));
        }
        List<LocalCluster.Spec> clusters;
        try {
            clusters = spec.clusters();
        } catch (IllegalArgumentException e) {
            run.err().println("chariots up: " + e.getMessage());
            return 1;
        }
        for (LocalCluster.Spec cluster : clusters) {
            List<UpCommand.LeftOut> leftOut = UpCommand.leftOut(cluster);
            if (!leftOut.isEmpty()) {
                UpCommand.refuseLeavingOut(run, leftOut, asked, "--dcs " + n + " ");
                return 1;
            }
        }
        long recordedNow = recorded.stream().limit(n).filter(Optional::isPresent).count();
        run.out().println((recordedNow == n ? "Starting the " + n + " datacenters recorded in " + run.dir + "/"
                : "Starting " + n + " datacenters in " + run.dir + "/dc0.." + (n - 1)) + ", each of "
                + UpCommand.shape(clusters.get(0)::count) + ".");
        return start(spec, n);
    }

    private int start(MultiDatacenter.Spec spec, int n) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        MultiDatacenter dcs;
        try {
            dcs = spec.start();
        } catch (IOException e) {
            run.err().println("chariots up: " + e.getMessage());
            return 1;
        }
        // Recorded before the wait, so that down finds the processes even if this command is interrupted.
        record(dcs, false);
        try {
            dcs.awaitRegistered(Duration.ofSeconds(60 + 60L * n));
        } catch (IllegalStateException e) {
            run.err().println("chariots up: " + e.getMessage());
            run.err().println("Stopping what was started, in every datacenter.");
            dcs.close();
            record(dcs, true);
            return 1;
        }
        PrintWriter out = run.out();
        out.printf("Chariots is up: %d datacenters, %d processes registered in %.1f s.%n%n", n,
                dcs.all().stream().mapToInt(c -> c.all().size()).sum(), (System.nanoTime() - t0) / 1e9);
        out.printf("  %-10s  %-24s  %-24s  %-17s  %s%n", "DATACENTER", "APP", "CONTROLLER", "BATCHER", "DIRECTORY");
        for (int d = 0; d < n; d++) {
            LocalCluster c = dcs.datacenter(d);
            out.printf("  %-10d  %-24s  %-24s  %-17s  %s/%n", d, c.appUrl(0), c.controllerUrl(), dcs.batcherAddress(d),
                    run.datacenter(d).dir);
        }
        out.println();
        out.println("Each datacenter's controller lists the others' batchers (GET / remoteBatchers), named in its "
                + run.dir + "/dcD/" + DatacenterConfig.FILE + "; each has its own cluster secret, "
                + run.dir + "/dcD/cluster_secret.");
        out.println("Status: " + run.command("status") + "   Stop: " + run.command("down") + "   One instance: "
                + run.datacenter(n - 1).command("stop|kill|pause|resume|start|restart ROLE#N") + " (e.g. queue#1)");
        return 0;
    }

    private void record(MultiDatacenter dcs, boolean stopped) throws IOException {
        for (int d = 0; d < dcs.size(); d++) {
            State s = State.of(dcs.datacenter(d));
            run.datacenter(d).file().write(stopped ? s.allStopped() : s);
        }
    }

    private static boolean holdsData(Path data) throws IOException {
        if (!Files.isDirectory(data)) {
            return false;
        }
        try (Stream<Path> instances = Files.list(data)) {
            for (Path dir : (Iterable<Path>) instances::iterator) {
                if (Files.isDirectory(dir)) {
                    try (Stream<Path> files = Files.list(dir)) {
                        if (files.findAny().isPresent()) {
                            return true;
                        }
                    }
                }
            }
        }
        return false;
    }
}
