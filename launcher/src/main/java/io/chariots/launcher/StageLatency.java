package io.chariots.launcher;

import io.chariots.common.metrics.IngestDelay;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where append latency goes, for {@code ./chariots bench}: the roles'
 * {@code chariots_ingest_delay_seconds} histograms ({@link IngestDelay}),
 * summed over the instances of each stage and taken as the difference of two
 * scrapes, so that only the measured phase counts. An instance that restarted
 * in between (its counts did not grow as one process's can: see
 * {@link #restarted}) counts from its restart, as Prometheus treats a counter
 * reset. Percentiles are the upper bounds of histogram
 * buckets (about a third apart).
 */
final class StageLatency {
    private static final String BUCKET = "chariots_ingest_delay_seconds_bucket{";

    /** Per stage and instance, cumulative count by bucket upper bound (seconds). */
    private final Map<String, Map<String, TreeMap<Double, Double>>> buckets = new LinkedHashMap<>();

    /** Adds the metrics (Prometheus text) of one role instance, named by {@code instance} (e.g. its metrics URL). */
    void add(String instance, String metrics) {
        for (String line : metrics.split("\n")) {
            if (!line.startsWith(BUCKET)) {
                continue;
            }
            String stage = label(line, "stage");
            String le = label(line, "le");
            int space = line.lastIndexOf(' ');
            if (stage == null || le == null || space < 0) {
                continue;
            }
            double bound = le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le);
            double count = Double.parseDouble(line.substring(space + 1));
            buckets.computeIfAbsent(stage, s -> new LinkedHashMap<>()).computeIfAbsent(instance, i -> new TreeMap<>())
                    .merge(bound, count, Double::sum);
        }
    }

    /** The value of label {@code name} in a Prometheus sample line, or null. */
    static String label(String line, String name) {
        int at = line.indexOf("," + name + "=\""); // never a label that merely ends so ("role" for "le")
        if (at < 0) {
            at = line.indexOf("{" + name + "=\"");
        }
        if (at < 0) {
            return null;
        }
        int from = at + name.length() + 3;
        int to = line.indexOf('"', from);
        return to < 0 ? null : line.substring(from, to);
    }

    /**
     * The bench's line, "stage p50 … p99 …" in the order of the append path,
     * for what was counted after {@code before}; null if no stage counted anything.
     */
    String report(StageLatency before) {
        List<String> parts = new ArrayList<>();
        for (String stage : IngestDelay.STAGES) {
            Map<String, TreeMap<Double, Double>> now = buckets.get(stage);
            if (now == null) {
                continue;
            }
            TreeMap<Double, Double> diff = new TreeMap<>();
            now.forEach((instance, counts) -> {
                TreeMap<Double, Double> then = before.buckets.getOrDefault(stage, Map.of()).getOrDefault(instance, new TreeMap<>());
                boolean restarted = restarted(then, counts);
                counts.forEach((bound, count) -> diff.merge(bound, count - (restarted ? 0 : then.getOrDefault(bound, 0.0)), Double::sum));
            });
            double total = diff.isEmpty() ? 0 : diff.lastEntry().getValue();
            if (total <= 0) {
                continue;
            }
            parts.add(String.format(Locale.ROOT, "%s p50 %s p99 %s", stage, at(diff, total, 0.50), at(diff, total, 0.99)));
        }
        return parts.isEmpty() ? null : String.join("  |  ", parts);
    }

    /**
     * Whether an instance's histogram restarted from zero between {@code then} and {@code now}: in one process no
     * bucket's cumulative count goes down, and what was added to a bucket includes what was added to the ones below.
     */
    private static boolean restarted(TreeMap<Double, Double> then, TreeMap<Double, Double> now) {
        double below = 0;
        for (Map.Entry<Double, Double> e : now.entrySet()) {
            double added = e.getValue() - then.getOrDefault(e.getKey(), 0.0);
            if (added < below) {
                return true;
            }
            below = added;
        }
        return false;
    }

    private static String at(TreeMap<Double, Double> cumulative, double total, double q) {
        for (Map.Entry<Double, Double> e : cumulative.entrySet()) {
            if (e.getValue() >= q * total) {
                return e.getKey().isInfinite() ? "over 60 s" : String.format(Locale.ROOT, "≤%.1f ms", e.getKey() * 1000);
            }
        }
        return "n/a";
    }
}
