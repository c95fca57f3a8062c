package io.chariots.systemtests;

import io.chariots.common.record.Fnv1a64;
import io.chariots.common.record.LogRecord;
import io.chariots.common.record.Unsigned64;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The append path across real role processes: records in over raw TCP
 * ({@code 'r'} and {@code 's'} frames) and HTTP, out of the maintainers, and
 * the log read back checked for I1 (dense), I2 (each record once) and I3
 * (every effect after all its causes).
 */
class AppendPathTest {
    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();

    @TempDir
    Path dir;

    final Random random = new Random(7);

    /** One record to send, as JSON in both shapes. */
    record Rec(String id, long seed, String tagKey, String tagValue, long[] causes) {
        String httpJson() {
            StringBuilder sb = new StringBuilder("{\"id\":\"").append(id).append("\",\"tags\":{\"").append(tagKey)
                    .append("\":\"").append(tagValue).append("\"},\"seed\":").append(Unsigned64.toString(seed));
            if (causes.length > 0) {
                sb.append(",\"prehash\":[");
                for (int i = 0; i < causes.length; i++) {
                    sb.append(i == 0 ? "" : ",").append(Unsigned64.toString(causes[i]));
                }
                sb.append(']');
            }
            return sb.append('}').toString();
        }

        String goJson() {
            StringBuilder sb = new StringBuilder("{\"Id\":\"").append(id).append("\",\"Tags\":{\"").append(tagKey)
                    .append("\":\"").append(tagValue).append("\"},\"Seed\":").append(Unsigned64.toString(seed));
            if (causes.length == 1) {
                sb.append(",\"Pre\":{\"Hash\":").append(Unsigned64.toString(causes[0])).append('}');
            } else if (causes.length > 1) {
                sb.append(",\"Pre\":[");
                for (int i = 0; i < causes.length; i++) {
                    sb.append(i == 0 ? "" : ",").append("{\"Hash\":").append(Unsigned64.toString(causes[i])).append('}');
                }
                sb.append(']');
            }
            return sb.append('}').toString();
        }
    }

    List<List<Rec>> workload(int total, double chainShare) {
        return workload(random, total, chainShare, 3);
    }

    /**
     * Plain records and chains (length 3..5, some links with two causes), in a
     * shuffled send order, over {@code laneCount} entry points: consecutive
     * links of a chain go through different ones.
     */
    static List<List<Rec>> workload(Random random, int total, double chainShare, int laneCount) {
        List<Rec> plain = new ArrayList<>();
        List<List<Rec>> chains = new ArrayList<>();
        int inChains = (int) (total * chainShare);
        int n = 0;
        while (n < inChains) {
            long seed = random.nextLong(); // half above 2^63
            int len = 3 + random.nextInt(3);
            List<Rec> chain = new ArrayList<>();
            for (int i = 0; i < len && n < inChains; i++, n++) {
                long[] causes;
                if (i == 0) {
                    causes = new long[0];
                } else if (i >= 2 && random.nextInt(4) == 0) {
                    causes = new long[] {Fnv1a64.hashTag("step", "s" + (i - 1)), Fnv1a64.hashTag("step", "s" + (i - 2))};
                } else {
                    causes = new long[] {Fnv1a64.hashTag("step", "s" + (i - 1))};
                }
                chain.add(new Rec("c" + chains.size() + "." + i, seed, "step", "s" + i, causes));
            }
            chains.add(chain);
        }
        for (; n < total; n++) {
            plain.add(new Rec("p" + n, random.nextLong(), "k", "v" + n, new long[0]));
        }
        List<List<Rec>> lanes = new ArrayList<>();
        for (int i = 0; i < laneCount; i++) {
            lanes.add(new ArrayList<>());
        }
        for (List<Rec> chain : chains) {
            List<Rec> order = new ArrayList<>(chain);
            if (random.nextBoolean()) {
                Collections.reverse(order); // effects first
            }
            int lane = random.nextInt(laneCount);
            for (Rec r : order) {
                lanes.get(lane).add(r);
                lane = (lane + 1) % laneCount; // consecutive links through different entry points
            }
        }
        for (int i = 0; i < plain.size(); i++) {
            lanes.get(i % laneCount).add(plain.get(i));
        }
        for (List<Rec> lane : lanes) {
            Collections.shuffle(lane.subList(0, lane.size()), random);
        }
        return lanes;
    }

    static void sendR(int port, List<Rec> recs) throws Exception {
        try (LogProbe.RawConnection c = new LogProbe.RawConnection(port)) {
            for (Rec r : recs) {
                c.frame('r', r.goJson());
            }
        }
    }

    static void sendS(int port, List<Rec> recs, int perFrame) throws Exception {
        try (LogProbe.RawConnection c = new LogProbe.RawConnection(port)) {
            for (int i = 0; i < recs.size(); i += perFrame) {
                StringBuilder sb = new StringBuilder("[");
                for (int j = i; j < Math.min(recs.size(), i + perFrame); j++) {
                    sb.append(j == i ? "" : ",").append(j % 2 == 0 ? recs.get(j).goJson() : recs.get(j).httpJson());
                }
                c.frame('s', sb.append(']').toString());
            }
        }
    }

    static void sendHttp(String appUrl, List<Rec> recs, int perRequest) throws Exception {
        for (int i = 0; i < recs.size(); i += perRequest) {
            StringBuilder sb = new StringBuilder("[");
            for (int j = i; j < Math.min(recs.size(), i + perRequest); j++) {
                sb.append(j == i ? "" : ",").append(recs.get(j).httpJson());
            }
            HttpResponse<String> r = LogProbe.post(appUrl + "/record", sb.append(']').toString());
            while (r.statusCode() == 503) {
                Thread.sleep(100);
                r = LogProbe.post(appUrl + "/record", sb.toString());
            }
            assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        }
    }

    /** I1, I2 and I3 on the log read back, against what was sent. */
    static void checkLog(TreeMap<Long, LogRecord> log, Set<String> sentIds) {
        assertThat(log.isEmpty() ? 0 : log.lastKey()).as("I1: highest LId equals the count").isEqualTo(log.size());
        assertThat(log.firstKey()).isEqualTo(1L);
        Map<String, Long> lidOf = new HashMap<>();
        for (LogRecord r : log.values()) {
            assertThat(lidOf.put(r.id(), r.lid())).as("I2: %s appears once", r.id()).isNull();
        }
        assertThat(lidOf.keySet()).as("I2: every record sent is in the log, and nothing else").isEqualTo(sentIds);
        // I3: index every (tag hash, seed) → lowest LId, then check each effect.
        Map<String, Long> firstWithPair = new HashMap<>();
        for (LogRecord r : log.values()) {
            for (long h : r.tagHashes()) {
                firstWithPair.putIfAbsent(h + "/" + r.seed(), r.lid());
            }
        }
        int effects = 0;
        for (LogRecord r : log.values()) {
            for (long h : r.prehashes()) {
                Long cause = firstWithPair.get(h + "/" + r.seed());
                assertThat(cause).as("I3: a cause of %s is in the log", r.id()).isNotNull();
                assertThat(cause).as("I3: %s (LId %d) after its cause", r.id(), r.lid()).isLessThan(r.lid());
                effects++;
            }
        }
        assertThat(effects).isPositive();
    }

    @Test
    void hundredThousandRecordsOverTcpAndHttpLandDenseOnceAndCausallyOrdered() throws Exception {
        // Effects often go out long before their causes (the lanes run at different speeds, slower still on a
        // loaded machine): the default 30 s cause timeout would reject some. Timeouts are tested in the queue's
        // simulation and AcknowledgementsTest; here every record must land.
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).setting("queue.cause_timeout_ms", "600000")
                .batchers(2).queues(3).maintainers(3).indexers(2).start());
        c.awaitRegistered(Duration.ofSeconds(90));
        int total = 100_000;
        // Three lanes: 'r' frames to batcher 0, 's' frames to batcher 1, HTTP arrays to the app.
        List<List<Rec>> lanes = workload(total, 0.12);
        Set<String> sent = new HashSet<>();
        lanes.forEach(l -> l.forEach(r -> sent.add(r.id())));
        assertThat(sent).hasSize(total);

        List<Thread> senders = List.of(
                new Thread(() -> run(() -> sendR(c.get(Role.BATCHER, 0).ports().main(), lanes.get(0)))),
                new Thread(() -> run(() -> sendS(c.get(Role.BATCHER, 1).ports().main(), lanes.get(1), 100))),
                new Thread(() -> run(() -> sendHttp(c.appUrl(0), lanes.get(2), 200))));
        senders.forEach(Thread::start);
        for (Thread t : senders) {
            t.join();
        }
        assertThat(failures).isEmpty();
        long stored = LogProbe.awaitStored(c, total, Duration.ofSeconds(180));
        assertThat(stored).as("records stored").isEqualTo(total);
        checkLog(LogProbe.readLog(c), sent);

        // A record read back over HTTP keeps its unsigned seed.
        HttpResponse<String> one = LogProbe.get(c.appUrl(0) + "/record/1");
        assertThat(one.statusCode()).isEqualTo(200);
        assertThat(one.body()).contains("\"lid\":1").contains("\"seed\":");
        assertThat(LogProbe.get(c.appUrl(0) + "/record/" + (total + 1)).statusCode()).isEqualTo(404);
    }

    @Test
    @Timeout(300)
    void effectsWaitingForTheirCausesNeverKeepTheCausesOut() throws Exception {
        // The batcher stops reading at 2,000 records held. Effects go first, on one connection, and their causes
        // after them, on another. The effects wait at the queue for their causes; they must not hold the batcher's
        // intake (before, every batch holding one was kept, the batcher stopped reading, and the causes stayed
        // outside until the cause timeout, here 10 minutes, rejected the effects).
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).setting("queue.cause_timeout_ms", "600000")
                .setting("batcher.high_water", "2000").setting("batcher.low_water", "1000")
                .setting("batcher.max_batch", "200").start());
        c.awaitRegistered(Duration.ofSeconds(90));
        int pairs = 5_000;
        List<Rec> causes = new ArrayList<>();
        List<Rec> effects = new ArrayList<>();
        long caused = Fnv1a64.hashTag("step", "s0");
        for (int i = 0; i < pairs; i++) {
            long seed = random.nextLong();
            causes.add(new Rec("a" + i, seed, "step", "s0", new long[0]));
            effects.add(new Rec("b" + i, seed, "step", "s1", new long[] {caused}));
        }
        Set<String> sent = new HashSet<>();
        causes.forEach(r -> sent.add(r.id()));
        effects.forEach(r -> sent.add(r.id()));
        int port = c.get(Role.BATCHER, 0).ports().main();
        Thread first = new Thread(() -> run(() -> sendS(port, effects, 100)));
        first.start();
        // The effects are read until the batcher holds its 2,000; only then do the causes go out.
        long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        String batcherMetrics = "http://127.0.0.1:" + c.get(Role.BATCHER, 0).ports().admin() + "/metrics";
        while (HostileInputTest.summed(LogProbe.get(batcherMetrics).body(), "chariots_batcher_records_received_total") < 2_000
                && System.nanoTime() < until) {
            Thread.sleep(50);
        }
        assertThat(HostileInputTest.summed(LogProbe.get(batcherMetrics).body(), "chariots_batcher_records_received_total"))
                .as("effects read before the causes go out").isGreaterThanOrEqualTo(2_000);
        Thread second = new Thread(() -> run(() -> sendS(port, causes, 100)));
        second.start();
        first.join(Duration.ofSeconds(120).toMillis());
        second.join(Duration.ofSeconds(120).toMillis());
        assertThat(first.isAlive() || second.isAlive()).as("both connections sent everything").isFalse();
        assertThat(failures).isEmpty();
        long stored = LogProbe.awaitStored(c, 2L * pairs, Duration.ofSeconds(90));
        assertThat(stored).as("records stored while the effects waited for their causes").isEqualTo(2L * pairs);
        checkLog(LogProbe.readLog(c), sent);
        String queueMetrics = LogProbe.get("http://127.0.0.1:" + c.get(Role.QUEUE, 0).ports().admin() + "/metrics").body();
        assertThat(HostileInputTest.summed(queueMetrics, "chariots_queue_parked_total")).as("effects were parked").isPositive();
        assertThat(HostileInputTest.summed(queueMetrics, "chariots_queue_cause_timeouts_total")).isZero();
    }

    @Test
    @Timeout(300)
    void effectsWhoseCausesNeverComeAreCrowdedOutAndNeverFillTheQueue() throws Exception {
        // 3,000 effects whose causes never come, against a queue that keeps at most 1,000 waiting and 2,000 on
        // their way. Before, waiting records counted against queue.max_buffered: the queue refused every batch
        // until the cause timeout (here 10 minutes). Now the longest-waiting are rejected early, and plain
        // records and chains sent after them are all stored.
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).setting("queue.cause_timeout_ms", "600000")
                .setting("queue.max_waiting", "1000").setting("queue.max_buffered", "2000").start());
        c.awaitRegistered(Duration.ofSeconds(90));
        int orphans = 3_000;
        long neverStored = Fnv1a64.hashTag("step", "never");
        List<Rec> effects = new ArrayList<>();
        for (int i = 0; i < orphans; i++) {
            effects.add(new Rec("o" + i, random.nextLong(), "step", "s1", new long[] {neverStored}));
        }
        List<Rec> plain = new ArrayList<>();
        Set<String> plainIds = new HashSet<>();
        long caused = Fnv1a64.hashTag("step", "p0");
        for (int i = 0; i < 2_500; i++) { // chains of two, each effect right after its cause
            long seed = random.nextLong();
            plain.add(new Rec("pa" + i, seed, "step", "p0", new long[0]));
            plain.add(new Rec("pb" + i, seed, "step", "p1", new long[] {caused}));
        }
        plain.forEach(r -> plainIds.add(r.id()));
        int port = c.get(Role.BATCHER, 0).ports().main();
        sendS(port, effects, 100);
        String queueMetricsUrl = "http://127.0.0.1:" + c.get(Role.QUEUE, 0).ports().admin() + "/metrics";
        long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (HostileInputTest.summed(LogProbe.get(queueMetricsUrl).body(), "chariots_queue_crowded_out_total") < orphans - 1_000
                && System.nanoTime() < until) {
            Thread.sleep(100);
        }
        // The chains' effects also wait, until the token brings their causes, and count against the bound while
        // they do: the oldest orphans make room for them. Sent 500 chains at a time, at most 500 effects wait at
        // once, so they are never the oldest of more than 1,000 waiting, and a chain is never crowded out.
        for (int from = 0; from < plain.size(); from += 1_000) {
            sendS(port, plain.subList(from, from + 1_000), 100);
            assertThat(LogProbe.awaitStored(c, from + 1_000, Duration.ofSeconds(90))).as("plain records stored")
                    .isEqualTo(from + 1_000);
        }
        TreeMap<Long, LogRecord> log = LogProbe.readLog(c);
        checkLog(log, plainIds);
        assertThat(log.values()).extracting(LogRecord::id).as("no effect without its cause").allMatch(id -> id.startsWith("p"));
        String queueMetrics = LogProbe.get(queueMetricsUrl).body();
        // Every orphan is rejected or still waits, never both.
        double crowdedOut = HostileInputTest.summed(queueMetrics, "chariots_queue_crowded_out_total");
        double waiting = HostileInputTest.summed(queueMetrics, "chariots_queue_waiting_records");
        assertThat(crowdedOut).as("effects crowded out").isGreaterThanOrEqualTo(orphans - 1_000).isLessThan(orphans);
        assertThat(waiting).as("effects still waiting").isEqualTo(orphans - crowdedOut);
        assertThat(HostileInputTest.summed(queueMetrics, "chariots_queue_cause_timeouts_total")).as("none timed out").isZero();
        // A user asking about an orphan is told it was rejected and why, or that it is not in the log (yet): as many
        // are rejected as the queue crowded out. Which ones depends on the order their batches reached the queue
        // (batches in flight together can arrive in any order), so every orphan is asked.
        Set<String> rejected = new HashSet<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        do {
            for (int i = 0; i < orphans; i++) {
                String id = "o" + i;
                if (!rejected.contains(id)) {
                    String body = LogProbe.get(c.appUrl(0) + "/record?id=" + id).body();
                    if (body.contains("\"status\":\"rejected\"")) {
                        assertThat(body).as(id).contains("queue.max_waiting");
                        rejected.add(id);
                    }
                }
            }
        } while (rejected.size() < crowdedOut && System.nanoTime() < deadline);
        assertThat(rejected).as("orphans a user is told were rejected").hasSize((int) crowdedOut);
    }

    final List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());

    interface Step {
        void run() throws Exception;
    }

    void run(Step s) {
        try {
            s.run();
        } catch (Throwable t) {
            failures.add(t);
        }
    }

    @Test
    void badInputBetweenGoodInputIsSkippedAndCountedAndNothingElseIsDisturbed() throws Exception {
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).setting("batcher.max_frame_bytes", "65536").start());
        c.awaitRegistered(Duration.ofSeconds(60));
        int port = c.get(Role.BATCHER, 0).ports().main();
        Set<String> good = new HashSet<>();
        try (LogProbe.RawConnection conn = new LogProbe.RawConnection(port)) {
            conn.frame('r', "{\"Id\":\"g1\",\"Tags\":{\"a\":\"1\"},\"Seed\":1}");
            good.add("g1");
            conn.frame('r', "{\"Id\":\"bad1\",\"Tags\":{\"a\":");                    // unparsable
            conn.frame('r', "{\"id\":\"g2\",\"tags\":{\"a\":\"2\"},\"seed\":18446744073709551615}");
            good.add("g2");
            conn.frame('r', "{\"id\":\"bad2\",\"seed\":-1}");                        // negative seed
            conn.frame('r', "{\"id\":\"bad3\",\"seed\":18446744073709551616}");      // 2^64
            conn.frame('r', "{\"id\":\"bad4\",\"host\":7}");                         // datacenter outside num_dc
            conn.frame('s', "[{\"id\":\"g3\",\"seed\":3},{\"id\":\"bad5\",\"seed\":1.5},{\"id\":\"g4\",\"tags\":{\"x\":\"y\"}}]");
            good.add("g3");
            good.add("g4");
            conn.frame('s', "[{\"id\":\"bad6\"},{\"id\":");                          // unparsable array: whole frame
            conn.frame('x', "{}");                                                   // unknown type: skipped
            conn.frame('r', "{\"id\":\"g5\"}");
            good.add("g5");
            conn.flush();
        }
        // An oversized frame closes only its own connection; another connection goes on.
        try (LogProbe.RawConnection big = new LogProbe.RawConnection(port)) {
            big.frame('r', "{\"id\":\"big\",\"tags\":{\"x\":\"" + "y".repeat(70_000) + "\"}}");
        }
        try (LogProbe.RawConnection after = new LogProbe.RawConnection(port)) {
            after.frame('r', "{\"id\":\"g6\"}");
            good.add("g6");
            after.raw(new byte[] {0, 0, 0, 0}); // length 0: closes this one, after g6
        }
        // Bad HTTP bodies: 400 naming the field, nothing appended; good ones accepted.
        assertBad(c, "{\"seed\":-1}", "seed");
        assertBad(c, "{\"tags\":{\"a\":1}}", "tags.a");
        assertBad(c, "[{\"id\":\"h-ok\"},{\"id\":\"h-bad\",\"prehash\":\"x\"}]", "[1].prehash");
        assertBad(c, "not json", "record");
        assertBad(c, "", "body");
        HttpResponse<String> ok = LogProbe.post(c.appUrl(0) + "/record", "{\"id\":\"h1\",\"tags\":{\"key\":\"value\"},\"prehash\":0,\"seed\":0}");
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(202);
        assertThat(ok.body()).isEqualTo("{\"id\":\"h1\"}");
        good.add("h1");

        assertThat(LogProbe.awaitStored(c, good.size(), Duration.ofSeconds(60))).isEqualTo(good.size());
        Thread.sleep(500); // anything extra would have landed by now
        TreeMap<Long, LogRecord> log = LogProbe.readLog(c);
        assertThat(new HashSet<>(LogProbe.ids(log))).isEqualTo(good);
        assertThat(log.keySet()).containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, good.size()).boxed().toList());

        String metrics = LogProbe.get("http://127.0.0.1:" + c.get(Role.BATCHER, 0).ports().admin() + "/metrics").body();
        assertThat(metric(metrics, "chariots_batcher_records_rejected_total")).isEqualTo(6.0);
        assertThat(metric(metrics, "chariots_batcher_unknown_frames_total")).isEqualTo(1.0);
        assertThat(metric(metrics, "chariots_batcher_connections_closed_for_bad_frames_total")).isEqualTo(2.0);
        String log0 = java.nio.file.Files.readString(c.get(Role.BATCHER, 0).log());
        assertThat(log0).contains("record rejected: seed").contains("from /127.0.0.1:").contains("exceeds the maximum of 65536");
        assertThat(c.get(Role.BATCHER, 0).alive()).isTrue();
    }

    static double metric(String text, String name) {
        for (String line : text.split("\n")) {
            if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError("no metric " + name);
    }

    static void assertBad(LocalCluster c, String body, String field) throws Exception {
        HttpResponse<String> r = LogProbe.post(c.appUrl(0) + "/record", body);
        assertThat(r.statusCode()).as(body + " -> " + r.body()).isEqualTo(400);
        assertThat(r.body()).contains("\"field\":\"" + field + "\"");
    }

    @Test
    void aMaintainerAndAnIndexerKilledUnderLoadLoseNothing() throws Exception {
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).queues(2).maintainers(2).indexers(2).start());
        c.awaitRegistered(Duration.ofSeconds(60));
        int port = c.get(Role.BATCHER, 0).ports().main();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger sentCount = new AtomicInteger();
        Set<String> sent = Collections.synchronizedSet(new HashSet<>());
        Thread load = new Thread(() -> run(() -> {
            try (LogProbe.RawConnection conn = new LogProbe.RawConnection(port)) {
                long prev = 0;
                while (!stop.get()) {
                    StringBuilder sb = new StringBuilder("[");
                    for (int j = 0; j < 50; j++) {
                        int n = sentCount.getAndIncrement();
                        String id = "k" + n;
                        sent.add(id);
                        // Every tenth record is an effect of the previous one on seed 5.
                        String pre = n % 10 == 9 ? ",\"prehash\":" + Unsigned64.toString(Fnv1a64.hashTag("n", "" + (n - 1))) : "";
                        sb.append(j == 0 ? "" : ",").append("{\"id\":\"").append(id).append("\",\"seed\":5,\"tags\":{\"n\":\"")
                                .append(n).append("\"}").append(pre).append('}');
                    }
                    conn.frame('s', sb.append(']').toString());
                    conn.flush();
                    Thread.sleep(5);
                }
            }
        }));
        load.start();
        Thread.sleep(1500);
        RoleProcess maintainer = c.get(Role.MAINTAINER, 1);
        RoleProcess indexer = c.get(Role.INDEXER, 0);
        c.expectDown(maintainer, true);
        c.expectDown(indexer, true);
        maintainer.kill();
        indexer.kill();
        Thread.sleep(2000);
        maintainer.start();
        indexer.start();
        c.expectDown(maintainer, false);
        c.expectDown(indexer, false);
        Thread.sleep(1500);
        stop.set(true);
        load.join();
        assertThat(failures).isEmpty();
        int total = sentCount.get();
        assertThat(LogProbe.awaitStored(c, total, Duration.ofSeconds(120))).isEqualTo(total);
        checkLog(LogProbe.readLog(c), sent);
        // The restarted indexer serves what it had acknowledged, and what was re-fed to it.
        HttpResponse<String> status = LogProbe.get(c.appUrl(0) + "/record?id=k3");
        assertThat(status.body()).contains("\"status\":\"appended\"");
    }
}
