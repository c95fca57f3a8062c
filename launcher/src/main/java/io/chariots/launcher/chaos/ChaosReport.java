package io.chariots.launcher.chaos;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The table a chaos run ends with: one row per kind of fault ({@code kill queue},
 * {@code pause maintainer}, …) with how many were injected, the longest append
 * stall (until acknowledgements flowed again), the longest a record waited for
 * its acknowledgement, and the holes, acknowledged records lost and records appended twice
 * at the LIds given out around those faults; then totals and every violation.
 */
public final class ChaosReport {
    private static final class Row {
        int injected;
        long longestStall;
        long longestWait;
        int holes;
        int lost;
        int twice;
    }

    private ChaosReport() {
    }

    /** Renders the report; {@code violations} are all of them, from the ledger, the run and the log check. */
    public static String render(long seed, List<Episode> episodes, LogCheck.Result log, AckLedger ledger,
                                List<String> violations) {
        Map<String, Row> rows = new LinkedHashMap<>();
        for (Episode e : episodes) {
            Row r = rows.computeIfAbsent(e.fault().label(), k -> new Row());
            r.injected++;
            r.longestStall = e.stallMillis() < 0 || r.longestStall < 0 ? -1 : Math.max(r.longestStall, e.stallMillis());
            r.longestWait = Math.max(r.longestWait, e.longestWaitMillis());
        }
        for (long h : log.holes()) {
            row(rows, episodes, h).holes++;
        }
        for (LogCheck.Finding f : log.findings()) {
            if (f.kind().equals("lost")) {
                row(rows, episodes, f.lid()).lost++;
            } else if (f.kind().equals("twice")) {
                row(rows, episodes, f.lid()).twice++;
            }
        }
        Row total = new Row();
        StringBuilder sb = new StringBuilder();
        String fmt = "%-20s %8s %18s %17s %7s %11s %15s%n";
        sb.append(String.format(fmt, "fault", "injected", "longest stall ms", "longest wait ms", "holes", "acked lost",
                "appended twice"));
        for (Map.Entry<String, Row> e : rows.entrySet()) {
            Row r = e.getValue();
            sb.append(String.format(fmt, e.getKey(), r.injected, r.longestStall < 0 ? "never resumed" : r.longestStall,
                    r.longestWait, r.holes, r.lost, r.twice));
            total.injected += r.injected;
            total.longestStall = r.longestStall < 0 || total.longestStall < 0 ? -1 : Math.max(total.longestStall, r.longestStall);
            total.longestWait = Math.max(total.longestWait, r.longestWait);
            total.holes += r.holes;
            total.lost += r.lost;
            total.twice += r.twice;
        }
        sb.append(String.format(fmt, "total", total.injected, total.longestStall < 0 ? "never resumed" : total.longestStall,
                total.longestWait, total.holes, total.lost, total.twice));
        long effects = ledger.causes().size();
        long chained = inChains(ledger);
        Map<String, AckLedger.Ack> acked = ledger.acked();
        long http = acked.values().stream().filter(a -> a.path().startsWith("http")).count();
        sb.append(String.format("%nrecords acknowledged %,d (HTTP %,d, raw TCP %,d), sent %,d, resends %,d;%n"
                        + "in causal chains %,d (%.0f%% of records sent; %,d effects, each sent after its cause was acknowledged, on the other path)%n",
                acked.size(), http, acked.size() - http, ledger.sent(), ledger.resends(), chained,
                ledger.sent() == 0 ? 0.0 : 100.0 * chained / ledger.sent(), effects));
        sb.append(String.format("log: LIds 1..%,d, %,d records and %,d holes%n", log.lastLid(), log.records(), log.holes().size()));
        if (violations.isEmpty()) {
            sb.append("no violations (seed ").append(seed).append(")\n");
        } else {
            sb.append(violations.size()).append(" VIOLATION(S), seed ").append(seed).append(":\n");
            violations.forEach(v -> sb.append("  - ").append(v).append('\n'));
        }
        return sb.toString();
    }

    /** Records in chains: every effect sent, and every cause one named. */
    private static long inChains(AckLedger ledger) {
        Set<String> ids = new HashSet<>(ledger.causes().keySet());
        ids.addAll(ledger.causes().values());
        return ids.size();
    }

    /** The row of the fault an LId is put down to: the first episode that settled with it acknowledged, else the last. */
    private static Row row(Map<String, Row> rows, List<Episode> episodes, long lid) {
        if (episodes.isEmpty()) {
            return rows.computeIfAbsent("(no fault)", k -> new Row());
        }
        for (Episode e : episodes) {
            if (lid <= e.lidAfter()) {
                return rows.get(e.fault().label());
            }
        }
        return rows.get(episodes.get(episodes.size() - 1).fault().label());
    }
}
