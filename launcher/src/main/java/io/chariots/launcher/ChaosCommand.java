package io.chariots.launcher;

import io.chariots.launcher.chaos.ChaosOptions;
import io.chariots.launcher.chaos.ChaosRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;

/**
 * {@code chariots chaos}: starts a cluster of its own, puts it under
 * acknowledged load, injects faults one at a time, reads the log back and
 * prints a table per kind of fault; exits 1 on any violation.
 */
@Command(name = "chaos", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Start a cluster of real processes, append under acknowledged load (HTTP wait=true and acknowledged raw TCP,",
                "resending with the same ids), SIGKILL+restart or SIGSTOP/SIGCONT one random instance at a time, then read",
                "the log back: every acknowledged record once, at its LId; no id twice; LIds 1..N records or holes; causes first.",
                "Exits 1 on any violation. The cluster takes free ports, so it runs beside ./chariots up."})
final class ChaosCommand implements Callable<Integer> {
    @Option(names = "--faults", defaultValue = "10", description = "Faults to inject, one at a time (default ${DEFAULT-VALUE}).")
    int faults;

    @Option(names = "--seed", defaultValue = "1", description = "Seeds the choice of faults and down times (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--min-down", defaultValue = "5", description = "Shortest pause (SIGSTOP to SIGCONT), seconds (default ${DEFAULT-VALUE}).")
    double minDown;

    @Option(names = "--max-down", defaultValue = "30", description = "Longest pause, seconds (default ${DEFAULT-VALUE}).")
    double maxDown;

    @Option(names = "--max-kill-down", defaultValue = "3", description = "Longest time a killed instance stays down before its restart, seconds (default ${DEFAULT-VALUE}).")
    double maxKillDown;

    @Option(names = "--rate", defaultValue = "0", description = {"New records per second offered, all lanes together;",
            "0 (the default): each lane sends as soon as it is answered, which fills a small machine's CPU.",
            "A capped rate leaves headroom, so restarts and recoveries are not slowed by a starved CPU."})
    double rate;

    @Option(names = "--out", description = "Directory for the cluster's logs and data and chaos-report.txt (default run-chaos/seed-S-DATE-TIME).")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (faults < 0 || minDown < 0 || maxDown < minDown || maxKillDown < 0 || rate < 0) {
            System.err.println("chaos: need --faults >= 0, 0 <= --min-down <= --max-down, --max-kill-down >= 0 and --rate >= 0");
            return 2;
        }
        Path dir = out != null ? out : Path.of("run-chaos", "seed-" + seed + "-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        ChaosOptions options = new ChaosOptions().faults(faults).seed(seed)
                .down(millis(minDown), millis(maxDown)).maxKillDown(millis(maxKillDown)).rate(rate).outDir(dir);
        ChaosRun.Result r = new ChaosRun(options, System.out).run();
        System.out.println();
        System.out.print(r.report());
        System.out.println("report: " + dir.resolve("chaos-report.txt") + "; logs: " + dir.resolve("logs"));
        return r.passed() ? 0 : 1;
    }

    private static Duration millis(double seconds) {
        return Duration.ofMillis(Math.round(seconds * 1000));
    }
}
