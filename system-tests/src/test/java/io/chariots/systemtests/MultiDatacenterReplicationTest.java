package io.chariots.systemtests;

import io.chariots.common.record.Fnv1a64;
import io.chariots.common.record.LogRecord;
import io.chariots.common.record.Unsigned64;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.MultiDatacenter;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Three linked datacenters, each a real cluster of its own (every role its own
 * JVM): an event chain whose links are appended in different datacenters,
 * and steady durable load in each while a receiving batcher is killed, a
 * shipping maintainer is killed, a receiving queue is killed (a token
 * recovery rebuilds the origins' marks) and a maintainer paused. Then every datacenter's
 * log is read back whole and checked as a user would: each holds every
 * record of every origin exactly once (by origin and TOId, and by id), each
 * origin's records in their origin order (I4), the chain cause first in every
 * datacenter (I3), and every acknowledged record (I2).
 */
class MultiDatacenterReplicationTest {
    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();

    @TempDir
    Path dir;

    @Test
    void everyRecordReachesEveryDatacenterOnceInOriginOrderCausesFirstThroughKillsAndPauses() throws Exception {
        MultiDatacenter dcs = MultiDatacenter.spec(3).workDir(dir).start();
        dcs.all().forEach(clusters::track);
        dcs.awaitRegistered(Duration.ofSeconds(240));

        // A function in datacenter 0 appends A; one in datacenter 1, caused by A, appends B; one in 2, caused by B, C.
        long seed = 77;
        assertThat(post(dcs.appUrl(0) + "/record?wait=true", chainLink("A", seed, 0)).statusCode()).isEqualTo(200);
        assertThat(post(dcs.appUrl(1) + "/record", chainLink("B", seed, Fnv1a64.hashTag("step", "A"))).statusCode())
                .isEqualTo(202);
        assertThat(post(dcs.appUrl(2) + "/record", chainLink("C", seed, Fnv1a64.hashTag("step", "B"))).statusCode())
                .isEqualTo(202);

        List<SteadyLoad> loads = new ArrayList<>();
        try {
            for (int d = 0; d < 3; d++) {
                loads.add(new SteadyLoad(dcs.appUrl(d), 2, "dc" + d + "-t").start());
            }
            for (SteadyLoad l : loads) {
                l.awaitAcked(100, Duration.ofSeconds(90));
            }
            // The batcher datacenter 1 receives the others' records at: killed with what it held, started again.
            killAndRestart(dcs.datacenter(1).get(Role.BATCHER, 0), 1500);
            for (SteadyLoad l : loads) {
                l.awaitMore(100, Duration.ofSeconds(120));
            }
            // Datacenter 0's only maintainer stores its records and ships them to 1 and 2: killed, started again.
            killAndRestart(dcs.datacenter(0).get(Role.MAINTAINER, 0), 1000);
            // Datacenter 2's only queue, which orders what 0 and 1 send it, killed: a token recovery there rebuilds each
            // origin's mark from the sealed maintainers, and what the links send again is dropped by it.
            killAndRestart(dcs.datacenter(2).get(Role.QUEUE, 0), 1000);
            for (SteadyLoad l : loads) {
                l.awaitMore(100, Duration.ofSeconds(120));
            }
            // Datacenter 2's maintainer paused for 5 s (its links and its stores stop, then go on).
            RoleProcess paused = dcs.datacenter(2).get(Role.MAINTAINER, 0);
            paused.pause();
            Thread.sleep(5000);
            paused.resume();
            for (SteadyLoad l : loads) {
                l.awaitMore(100, Duration.ofSeconds(120));
            }
            for (SteadyLoad l : loads) {
                l.finish(Duration.ofSeconds(120));
            }
        } finally {
            loads.forEach(SteadyLoad::close);
        }

        // Every origin's records, as its own datacenter holds them: (origin, TOId) -> id.
        Map<Integer, TreeMap<Long, String>> origins = new HashMap<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        List<LogProbe.WholeLog> logs;
        while (true) {
            logs = new ArrayList<>();
            for (int d = 0; d < 3; d++) {
                logs.add(LogProbe.readWholeLog(dcs.datacenter(d)));
            }
            origins.clear();
            for (int o = 0; o < 3; o++) {
                origins.put(o, byToid(logs.get(o), o));
            }
            boolean converged = true;
            for (int d = 0; d < 3 && converged; d++) {
                for (int o = 0; o < 3 && converged; o++) {
                    converged = byToid(logs.get(d), o).equals(origins.get(o));
                }
            }
            if (converged || System.nanoTime() > deadline) {
                break;
            }
            Thread.sleep(1000);
        }

        for (int d = 0; d < 3; d++) {
            LogProbe.WholeLog log = logs.get(d);
            LogProbe.assertKeepsEveryAcknowledgement(log, loads.get(d));
            for (int o = 0; o < 3; o++) {
                assertThat(byToid(log, o)).as("datacenter %d holds origin %d's records, each once, as %d does", d, o, o)
                        .isEqualTo(origins.get(o));
                long lastLid = 0;
                long lastToid = 0;
                for (Map.Entry<Long, LogRecord> e : log.records().entrySet()) {
                    LogRecord r = e.getValue();
                    if (r.host() == o) {
                        assertThat(r.toid()).as("I4 in datacenter %d: origin %d's TOId at LId %d", d, o, e.getKey())
                                .isGreaterThan(lastToid);
                        lastToid = r.toid();
                        lastLid = e.getKey();
                    }
                }
                assertThat(lastLid).as("datacenter %d has records of origin %d", d, o).isPositive();
            }
            for (int other = 0; other < 3; other++) {
                for (String id : loads.get(other).acked().keySet()) {
                    assertThat(origins.get(other).containsValue(id)).as("%s, acknowledged in datacenter %d", id, other)
                            .isTrue();
                }
            }
            long a = lidOf(log, "chain-A");
            long b = lidOf(log, "chain-B");
            long c = lidOf(log, "chain-C");
            assertThat(a).as("datacenter %d: A before B before C", d).isPositive().isLessThan(b);
            assertThat(b).as("datacenter %d: B before C", d).isLessThan(c);
            System.out.println("datacenter " + d + ": " + log.records().size() + " records (" + origins.get(0).size() + " + "
                    + origins.get(1).size() + " + " + origins.get(2).size() + " by origin), " + log.holes().size()
                    + " holes; chain at LIds " + a + ", " + b + ", " + c);
        }
        // The links say they are up, with nothing left to ship.
        long lagDeadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        for (int d = 0; d < 3; d++) {
            LocalCluster dc = dcs.datacenter(d);
            RoleProcess m = dc.get(Role.MAINTAINER, 0);
            String metricsUrl = "http://127.0.0.1:" + m.ports().admin() + "/metrics";
            for (int other = 0; other < 3; other++) {
                if (other != d) {
                    assertThat(lagOnceHeard(metricsUrl, other, lagDeadline)).as("dc %d → %d lag", d, other).isZero();
                    assertThat(tagged(LogProbe.get(metricsUrl).body(), "chariots_replication_link_up", other)).isEqualTo(1);
                }
            }
        }
    }

    /**
     * A datacenter cut off (its batcher, where the other ships, paused with
     * SIGSTOP) does not stop the other from appending: the backlog stays in
     * that one's log, the link says how far behind it is, in records and in
     * time, and once the cut heals the other catches up with every record,
     * once.
     */
    @Test
    void aCutOffDatacenterCatchesUpAndTheLagIsVisibleMeanwhile() throws Exception {
        MultiDatacenter dcs = MultiDatacenter.spec(2).workDir(dir).start();
        dcs.all().forEach(clusters::track);
        dcs.awaitRegistered(Duration.ofSeconds(180));
        String metricsUrl = "http://127.0.0.1:" + dcs.datacenter(0).get(Role.MAINTAINER, 0).ports().admin() + "/metrics";
        try (SteadyLoad load = new SteadyLoad(dcs.appUrl(0), 2, "cut-t").start()) {
            load.awaitAcked(50, Duration.ofSeconds(60));
            awaitOriginRecords(dcs.datacenter(1), 0, 50, Duration.ofSeconds(60));
            RoleProcess cut = dcs.datacenter(1).get(Role.BATCHER, 0);
            cut.pause();
            long cutAt = System.nanoTime();
            int ackedAtCut = load.acked().size();
            load.awaitMore(300, Duration.ofSeconds(90)); // datacenter 0 goes on appending
            while (System.nanoTime() - cutAt < Duration.ofSeconds(15).toNanos()) {
                Thread.sleep(200);
            }
            String during = LogProbe.get(metricsUrl).body();
            double lagRecords = tagged(during, "chariots_replication_lag_records", 1);
            double lagSeconds = tagged(during, "chariots_replication_lag_seconds", 1);
            System.out.println("cut off for 15 s while datacenter 0 appended " + (load.acked().size() - ackedAtCut)
                    + " records: lag " + (long) lagRecords + " records, " + lagSeconds + " s");
            assertThat(lagRecords).as("records datacenter 1 does not have yet").isGreaterThanOrEqualTo(300);
            assertThat(lagSeconds).as("how old the oldest of them is").isGreaterThan(5);
            cut.resume();
            long healedAt = System.nanoTime();
            load.finish(Duration.ofSeconds(60));
            TreeMap<Long, String> home = byToid(LogProbe.readWholeLog(dcs.datacenter(0)), 0);
            awaitOriginRecords(dcs.datacenter(1), 0, home.size(), Duration.ofSeconds(120));
            System.out.println("datacenter 1 had all " + home.size() + " records of datacenter 0 "
                    + Duration.ofNanos(System.nanoTime() - healedAt).toMillis() + " ms after the cut healed");
            LogProbe.WholeLog there = LogProbe.readWholeLog(dcs.datacenter(1));
            assertThat(byToid(there, 0)).as("every record once, the same TOIds").isEqualTo(home);
            for (String id : load.acked().keySet()) {
                assertThat(home.containsValue(id)).as(id).isTrue();
            }
            assertThat(lagOnceHeard(metricsUrl, 1, System.nanoTime() + Duration.ofSeconds(30).toNanos()))
                    .as("no lag once caught up").isZero();
        }
    }

    /**
     * The replication lag to datacenter {@code dc} in {@code metricsUrl}, read
     * every 500 ms until it is 0 or {@code deadline} (nanoTime) has passed: a
     * shipper hears the other's mark only at its next marks poll, so a record
     * stored there a moment ago may still count.
     */
    private static double lagOnceHeard(String metricsUrl, int dc, long deadline) throws Exception {
        double lag = tagged(LogProbe.get(metricsUrl).body(), "chariots_replication_lag_records", dc);
        while (lag > 0 && System.nanoTime() < deadline) {
            Thread.sleep(500);
            lag = tagged(LogProbe.get(metricsUrl).body(), "chariots_replication_lag_records", dc);
        }
        return lag;
    }

    /** Waits until {@code dc}'s log holds at least {@code n} records of {@code origin}. */
    private static void awaitOriginRecords(LocalCluster dc, int origin, int n, Duration within) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        int have = 0;
        while (System.nanoTime() < deadline) {
            have = byToid(LogProbe.readWholeLog(dc), origin).size();
            if (have >= n) {
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("only " + have + " of " + n + " records of datacenter " + origin + " arrived in " + within);
    }

    private static String chainLink(String step, long seed, long prehash) {
        return "{\"id\":\"chain-" + step + "\",\"tags\":{\"step\":\"" + step + "\"},\"seed\":" + seed + ",\"prehash\":"
                + Unsigned64.toString(prehash) + "}";
    }

    private static HttpResponse<String> post(String url, String body) throws Exception {
        HttpResponse<String> r = LogProbe.post(url, body);
        assertThat(r.statusCode()).as(url + " " + body + " -> " + r.body()).isBetween(200, 299);
        return r;
    }

    private static TreeMap<Long, String> byToid(LogProbe.WholeLog log, int origin) {
        TreeMap<Long, String> out = new TreeMap<>();
        for (LogRecord r : log.records().values()) {
            if (r.host() == origin) {
                String before = out.put(r.toid(), r.id());
                assertThat(before).as("origin %d's TOId %d twice", origin, r.toid()).isNull();
            }
        }
        return out;
    }

    private static long lidOf(LogProbe.WholeLog log, String id) {
        return log.records().entrySet().stream().filter(e -> id.equals(e.getValue().id())).mapToLong(Map.Entry::getKey)
                .findFirst().orElse(0);
    }

    private static double tagged(String metrics, String name, int dc) {
        for (String line : metrics.split("\n")) {
            if (line.startsWith(name + "{") && line.contains("dc=\"" + dc + "\"")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError("no " + name + " for dc " + dc + " in the maintainer's metrics");
    }

    /** SIGKILLs {@code p}, leaves it down for {@code downMs}, starts it again and waits until it serves. */
    private static void killAndRestart(RoleProcess p, long downMs) throws Exception {
        p.kill();
        Thread.sleep(downMs);
        p.restart().awaitServing(Duration.ofSeconds(60));
    }
}
