package io.chariots.launcher;

import ch.qos.logback.classic.Level;
import io.chariots.simulation.Simulation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/**
 * {@code chariots simulate}: the whole pipeline (filters, queues, maintainers,
 * indexers) on a simulated network with a hand clock, one run per seed, with
 * crashes, pauses and lost messages injected; every run's log is checked for
 * I1 (with holes), I2 for every acknowledged record, I3, "no LId written
 * twice" and "appends resumed". A failing seed is printed with the command
 * that replays it; the exit code is 1 if any seed failed.
 */
@Command(name = "simulate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Run the deterministic whole-pipeline simulation over a range of seeds and check every invariant.")
final class SimulateCommand implements Callable<Integer> {
    @Option(names = "--from", defaultValue = "1", description = "First seed (default ${DEFAULT-VALUE}).")
    long from;

    @Option(names = "--seeds", defaultValue = "100", description = "How many seeds, from --from (default ${DEFAULT-VALUE}).")
    int seeds;

    @Option(names = "--ci", description = "The suite's smaller run per seed (300 records, 6 simulated seconds, one fault) instead of the long one (3,000 records, 20 s).")
    boolean ci;

    @Option(names = "--records", description = "Records per run (default: 3,000, or 300 with --ci).")
    Integer records;

    @Option(names = "--duration-ms", description = "Simulated milliseconds over which the records are sent (default: 20,000, or 6,000 with --ci).")
    Long durationMs;

    @Option(names = "--no-faults", description = "Fair weather: no crashes, pauses or lost messages.")
    boolean noFaults;

    @Option(names = "--threads", description = "Seeds run in parallel (default: the number of CPUs).")
    Integer threads;

    @Option(names = "--log", defaultValue = "OFF", description = "Log level of the simulated roles: OFF, WARN, INFO, DEBUG (default ${DEFAULT-VALUE}; use INFO to replay one seed).")
    String log;

    @Option(names = {"-v", "--verbose"}, description = "Print every seed's result, not only the failing ones.")
    boolean verbose;

    @Override
    public Integer call() {
        if (seeds < 1) {
            System.err.println("--seeds must be at least 1, got " + seeds);
            return 2;
        }
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).setLevel(Level.toLevel(log, Level.OFF));
        Simulation.Config base = ci ? Simulation.Config.ci() : Simulation.Config.defaults();
        Simulation.Config config = new Simulation.Config(base.queues(), base.filters(), base.maintainers(), base.indexers(),
                records != null ? records : base.records(), durationMs != null ? durationMs : base.durationMs(),
                !noFaults && base.faults(), noFaults ? 0 : base.loss());
        int n = threads != null ? Math.max(1, threads) : Runtime.getRuntime().availableProcessors();
        System.out.printf("simulating seeds %d..%d (%s, %d thread%s)%n", from, from + seeds - 1, config, n, n == 1 ? "" : "s");
        Simulation.Summary s = Simulation.runSeeds(from, seeds, config, n, r -> {
            if (!r.ok() || verbose) {
                System.out.println(r);
            }
        });
        System.out.println(s);
        if (!s.ok()) {
            System.out.print("failed seeds:");
            s.failed().forEach(r -> System.out.print(" " + r.seed()));
            System.out.println();
            return 1;
        }
        return 0;
    }
}
