package io.chariots.launcher;

import ch.qos.logback.classic.Level;
import io.chariots.launcher.fuzz.FuzzRun;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code chariots fuzz}: the edges' fuzz targets for a time budget (see {@link FuzzRun}). */
@Command(name = "fuzz", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Fuzz the edges: the raw TCP frame decoder, the JSON record reader and a real app's HTTP routes.",
                "Each input must give records, frames or an answer naming the problem: never another exception, a 500 or a hang.",
                "Exits 1 if any input failed; each failure names the --seed/--target/--input that replays it."})
final class FuzzCommand implements Callable<Integer> {
    @Option(names = "--seconds", defaultValue = "60", description = "Total time, shared among the targets (default ${DEFAULT-VALUE}).")
    long seconds;

    @Option(names = "--seed", defaultValue = "1", description = "Seeds the inputs (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--target", description = "Only this target: frames, json or http (default: all).")
    String target;

    @Option(names = "--input", description = "With --target: check only this input number again (a failure's replay).")
    Long input;

    @Override
    public Integer call() throws Exception {
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).setLevel(Level.OFF);
        if (target != null && !FuzzRun.TARGETS.contains(target)) {
            System.err.println("fuzz: no target " + target + "; targets: " + FuzzRun.TARGETS);
            return 2;
        }
        if (seconds < 1) {
            System.err.println("fuzz: --seconds must be at least 1");
            return 2;
        }
        List<String> targets = target != null ? List.of(target) : FuzzRun.TARGETS;
        if (input != null) {
            if (target == null) {
                System.err.println("fuzz: --input needs --target");
                return 2;
            }
            System.out.println(new FuzzRun(seed, Duration.ZERO, targets, System.out).replay(target, input));
            return 0;
        }
        Duration each = Duration.ofMillis(seconds * 1000 / targets.size());
        System.out.printf("fuzz: seed %d, %d s per target%n", seed, each.toSeconds());
        long start = System.nanoTime();
        Map<String, FuzzRun.Tally> r = new FuzzRun(seed, each, targets, System.out).run();
        long inputs = r.values().stream().mapToLong(FuzzRun.Tally::inputs).sum();
        long failed = r.values().stream().mapToLong(FuzzRun.Tally::failed).sum();
        System.out.printf("%,d inputs in %d s, %,d failed%n", inputs, (System.nanoTime() - start) / 1_000_000_000L, failed);
        return failed == 0 ? 0 : 1;
    }
}
