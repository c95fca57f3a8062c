package io.chariots.launcher.fuzz;

import io.chariots.common.fuzz.FrameOracle;
import io.chariots.common.fuzz.Mutator;
import io.chariots.common.fuzz.RecordJsonOracle;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fuzzes the edges for a time budget: the raw TCP frame decoder (any byte
 * stream, any split, lengths around the limit), the JSON record reader
 * (mutated records, deep nesting, huge numbers and strings), and a real app's
 * HTTP routes. Inputs come from a seeded {@link Mutator}; a failure is
 * reported with the seed and input number that replay it.
 */
public final class FuzzRun {
    /** Targets, in the order a run shares its time among them. */
    public static final List<String> TARGETS = List.of("frames", "json", "http");
    static final int MAX_FRAME = 4096;

    /** What one target did: inputs tried, and the first failures (at most 20). */
    public record Tally(long inputs, long failed, List<String> failures, long longestMs) {
    }

    private final long seed;
    private final Duration perTarget;
    private final List<String> targets;
    private final PrintStream out;

    public FuzzRun(long seed, Duration perTarget, List<String> targets, PrintStream out) {
        this.seed = seed;
        this.perTarget = perTarget;
        this.targets = targets;
        this.out = out;
    }

    public Map<String, Tally> run() throws Exception {
        Map<String, Tally> result = new LinkedHashMap<>();
        for (String t : targets) {
            Tally tally;
            try (HttpRouteTarget http = t.equals("http") ? new HttpRouteTarget() : null) {
                tally = loop(t, m -> {
                    Verdict v = check(t, m, http);
                    return v.problem() == null ? null : v.problem() + " — " + v.input();
                });
            }
            result.put(t, tally);
            out.printf("%-7s %,10d inputs  %,6d failed  longest %,d ms%n", t, tally.inputs(), tally.failed(), tally.longestMs());
            tally.failures().forEach(f -> out.println("  " + f));
        }
        return result;
    }

    @FunctionalInterface
    private interface Target {
        String check(Mutator m) throws Exception;
    }

    private Tally loop(String name, Target target) throws Exception {
        long end = System.nanoTime() + perTarget.toNanos();
        long inputs = 0;
        long failed = 0;
        long longest = 0;
        List<String> failures = new ArrayList<>();
        // One mutator per input, seeded from (seed, target, input): any failure replays alone.
        long base = seed * 1_000_003L + name.hashCode();
        while (System.nanoTime() < end) {
            long t0 = System.nanoTime();
            String problem;
            try {
                problem = target.check(new Mutator(base + inputs));
            } catch (RuntimeException | StackOverflowError e) {
                problem = "the check itself threw " + e;
            }
            longest = Math.max(longest, (System.nanoTime() - t0) / 1_000_000);
            if (problem != null) {
                failed++;
                if (failures.size() < 20) {
                    failures.add("input " + inputs + " (chariots fuzz --seed " + seed + " --target " + name
                            + " --input " + inputs + "): " + problem);
                }
            }
            inputs++;
        }
        return new Tally(inputs, failed, failures, longest);
    }

    /** What one input gave: the problem (null: none), and the input, for the report. */
    record Verdict(String problem, String input) {
    }

    /** Makes one input of {@code target} from {@code m} and checks it ({@code http}: the app, for that target). */
    static Verdict check(String target, Mutator m, HttpRouteTarget http) {
        return switch (target) {
            case "frames" -> {
                byte[] stream = m.frames(MAX_FRAME);
                yield new Verdict(FrameOracle.check(stream, m.splits(stream.length), MAX_FRAME), stream.length + " bytes");
            }
            case "json" -> {
                byte[] json = m.json();
                yield new Verdict(RecordJsonOracle.check(json), "input: " + preview(json));
            }
            case "http" -> {
                HttpRouteTarget.Request r = HttpRouteTarget.request(m);
                yield new Verdict(http.check(r), "request: " + r.line());
            }
            default -> throw new IllegalArgumentException("no fuzz target " + target + "; targets: " + TARGETS);
        };
    }

    /** Checks one input of one target again, for a failure's replay. */
    public String replay(String target, long input) throws Exception {
        if (!TARGETS.contains(target)) {
            throw new IllegalArgumentException("no fuzz target " + target + "; targets: " + TARGETS);
        }
        try (HttpRouteTarget http = target.equals("http") ? new HttpRouteTarget() : null) {
            Verdict v = check(target, new Mutator(seed * 1_000_003L + target.hashCode() + input), http);
            return (v.problem() == null ? "passes" : v.problem()) + " — " + v.input();
        }
    }

    static String preview(byte[] b) {
        String s = new String(b, 0, Math.min(b.length, 300), StandardCharsets.UTF_8);
        return s + (b.length > 300 ? "… (" + b.length + " bytes)" : "");
    }
}
