package io.chariots.launcher.chaos;

import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.RoleProcess;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A chaos run on real processes: starts a cluster on the harness (2 batchers,
 * 2 filters, 3 queues, 2 maintainers, 2 indexers, an app, a controller), puts
 * it under steady acknowledged load ({@link ChaosLoad}), injects faults one at
 * a time ({@link FaultInjector}), measuring each append stall and waiting for
 * the cluster to settle before the next, then stops the load, lets resends
 * finish, reads the log back ({@link LogCheck}) and reports ({@link ChaosReport}).
 * Every process it starts is stopped when it ends, however it ends.
 */
public final class ChaosRun {
    /** What a run found: the report and every violation (none means it passed). */
    public record Result(String report, List<String> violations, long seed) {
        public boolean passed() {
            return violations.isEmpty();
        }
    }

    private final ChaosOptions options;
    private final PrintStream out;
    private final List<String> violations = new ArrayList<>();

    public ChaosRun(ChaosOptions options, PrintStream out) {
        if (options.outDir == null) {
            throw new IllegalArgumentException("an output directory is required");
        }
        this.options = options;
        this.out = out;
    }

    public Result run() throws IOException, InterruptedException {
        ChaosOptions o = options;
        Files.createDirectories(o.outDir);
        out.printf("chaos: seed %d, %d fault(s), pauses %d-%d s, kills down at most %d ms, load %s, cluster in %s%n", o.seed,
                o.faults, o.minDown.toSeconds(), o.maxDown.toSeconds(), o.maxKillDown.toMillis(),
                o.rate > 0 ? String.format("%.0f records/s", o.rate) : "as fast as acknowledged", o.outDir.toAbsolutePath());
        String runTag = "c" + Long.toString(System.currentTimeMillis() % 1_000_000_000L, 36);
        List<Episode> episodes = new ArrayList<>();
        try (LocalCluster cluster = LocalCluster.spec().workDir(o.outDir).batchers(2).filters(2).queues(3).maintainers(2)
                .indexers(2).apps(1).start();
             ChaosLoad load = new ChaosLoad(cluster, o.httpLanes, o.tcpLanes, o.rate, o.seed, runTag)) {
            FaultInjector injector = new FaultInjector(cluster, o.seed, o.minDown, o.maxDown, o.maxKillDown);
            try {
                cluster.awaitRegistered(Duration.ofSeconds(300)); // thirteen JVMs starting on a shared machine take a while
                out.printf("cluster up: %d processes; load: %d HTTP lane(s), %d raw TCP lane(s)%n", cluster.all().size(),
                        o.httpLanes, o.tcpLanes);
                AckLedger ledger = load.start().ledger();
                warmUp(ledger);
                for (int i = 1; i <= o.faults && violations.isEmpty(); i++) {
                    Episode e = episode(cluster, injector, ledger, i);
                    if (e != null) {
                        episodes.add(e);
                    }
                }
                out.printf("stopping the load; resending what is not acknowledged (at most %d s)%n", o.drain.toSeconds());
                if (!load.finish(o.drain)) {
                    List<String> left = ledger.unacked();
                    violations.add("stall: " + left.size() + " record(s) still unacknowledged " + o.drain.toSeconds()
                            + " s after the load stopped, e.g. " + left.subList(0, Math.min(5, left.size())));
                }
                out.println("reading the log back through the app");
                LogCheck.Result log = new LogCheck(cluster).check(ledger.acked(), Duration.ofSeconds(60));
                List<String> all = new ArrayList<>(ledger.violations());
                all.addAll(violations);
                log.findings().forEach(f -> all.add(f.text()));
                String report = ChaosReport.render(o.seed, episodes, log, ledger, all);
                Files.writeString(o.outDir.resolve("chaos-report.txt"), report);
                if (!all.isEmpty()) {
                    Files.writeString(o.outDir.resolve("cluster-state.txt"), cluster.describe());
                }
                return new Result(report, all, o.seed);
            } finally {
                injector.heal();
            }
        }
    }

    private void warmUp(AckLedger ledger) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (ledger.ackedCount() < 50) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the load was not acknowledged before any fault: " + ledger.ackedCount()
                        + " acknowledgement(s) in 90 s");
            }
            Thread.sleep(100);
        }
        Thread.sleep(options.warmup.toMillis());
    }

    /** Injects fault {@code i}, waits for the cluster to settle, and measures the stall; null if it never settled. */
    private Episode episode(LocalCluster cluster, FaultInjector injector, AckLedger ledger, int i) throws InterruptedException {
        FaultInjector.Planned p = injector.plan();
        long now = System.nanoTime();
        double baseline = ledger.acksBetween(now - 5_000_000_000L, 5_000_000_000L) / 5.0;
        long threshold = Math.max(2, (long) (baseline / 4));
        out.printf("fault %d/%d: %s %s for %d ms (acks before: %.0f/s)%n", i, options.faults, p.kind(), p.target().name(),
                p.downMillis(), baseline);
        Fault f = injector.inject(p);
        String settled = settle(cluster, p.target(), ledger, threshold);
        long end = System.nanoTime();
        long stall = ledger.stallMillis(f.startNanos(), end, threshold);
        long longestWait = ledger.longestWaitMillis(f.startNanos(), end);
        long settleMillis = (end - f.startNanos()) / 1_000_000;
        if (settled != null) {
            violations.add("after " + f + ": " + settled);
            out.printf("  did not settle: %s%n", settled);
        } else {
            out.printf("  settled %d ms after the fault; append stall %d ms; longest wait for an acknowledgement %d ms; "
                    + "%,d acknowledged so far%n", settleMillis, stall, longestWait, ledger.ackedCount());
        }
        return new Episode(f, settled == null ? stall : -1, longestWait, ledger.highestLid(), settleMillis);
    }

    /**
     * Waits until the target serves, the controller lists every instance, and
     * acknowledgements flow at {@code threshold} per second for the quiet time.
     *
     * @return null once settled, else what did not happen in time
     */
    private String settle(LocalCluster cluster, RoleProcess target, AckLedger ledger, long threshold) throws InterruptedException {
        long deadline = System.nanoTime() + options.settleTimeout.toNanos();
        try {
            target.awaitServing(options.settleTimeout);
            cluster.awaitRegistered(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
        } catch (IllegalStateException e) {
            return e.getMessage().lines().findFirst().orElse("") + " (see the logs in " + options.outDir.resolve("logs") + ")";
        }
        long flowingSince = 0;
        while (System.nanoTime() < deadline) {
            long now = System.nanoTime();
            if (ledger.acksBetween(now - 1_000_000_000L, 1_000_000_000L) >= threshold) {
                flowingSince = flowingSince == 0 ? now : flowingSince;
                if (now - flowingSince >= options.quiet.toNanos()) {
                    return null;
                }
            } else {
                flowingSince = 0;
            }
            Thread.sleep(100);
        }
        return "appends did not flow again at " + threshold + "/s within " + options.settleTimeout.toSeconds() + " s";
    }
}
