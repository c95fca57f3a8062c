package io.chariots.systemtests;

import com.fasterxml.jackson.databind.JsonNode;
import io.chariots.common.record.Fnv1a64;
import io.chariots.common.record.LogRecord;
import io.chariots.common.record.Unsigned64;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.Role;
import io.chariots.systemtests.AcknowledgementsTest.AckedClient;
import io.chariots.testkit.ChildProcess;
import io.chariots.testkit.FreePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The deployment's batcher pool, for real: Debian's HAProxy runs the shipped
 * {@code deploy/haproxy/haproxy.cfg} on 127.0.0.1:9000 in front of batchers on
 * 127.0.0.2–4 (each on port 9000, as containers are), discovering them by DNS
 * as it does Docker's: here dnsmasq answers {@code batcher} from a hosts file,
 * which the test edits as Docker would when the service is scaled.
 *
 * <p>Raw TCP clients in the acknowledged mode send through the balancer while
 * one batcher is SIGKILLed and, later, a fourth joins; a connection that breaks
 * resends what was not acknowledged, with the same ids. The log read back must
 * hold every record exactly once, each acknowledged one at the LId its
 * acknowledgement named.
 */
class BatcherPoolBehindHaproxyTest {
    static final int LB_PORT = 9000;
    static final int SENDERS = 4;
    static final int FRAMES_PER_SENDER = 50;
    static final int RECORDS_PER_FRAME = 100;
    static final int FRAMES_PER_CONNECTION = 5;

    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();

    @TempDir
    Path dir;

    @Test
    void acknowledgedRecordsThroughHaproxyLandOnceWhileABatcherDiesAndAnotherJoins() throws Exception {
        assertThat(FreePorts.listening("127.0.0.1", LB_PORT)).as("127.0.0.1:%d must be free for HAProxy (./chariots down?)", LB_PORT).isFalse();
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).batchers(0).queues(2).maintainers(2).indexers(1).start());
        List<RoleProcess> batchers = new ArrayList<>();
        for (String host : List.of("127.0.0.2", "127.0.0.3", "127.0.0.4")) {
            batchers.add(c.add(Role.BATCHER, host, new RoleProcess.Ports(9000, 9100, 10000)));
        }
        c.awaitRegistered(Duration.ofSeconds(90));

        Path hosts = dir.resolve("batcher.hosts");
        writeHosts(hosts, batchers);
        int dnsPort = FreePorts.freeUdpAndTcpPort(); // dnsmasq listens on both
        int statsPort = FreePorts.freePort();
        Path root = ClientLibrariesTest.repoRoot();
        ChildProcess.require("dnsmasq", "dnsmasq-base");
        ChildProcess.require("haproxy", "haproxy");
        try (ChildProcess dns = ChildProcess.command(List.of("dnsmasq", "--keep-in-foreground", "--no-resolv",
                "--no-hosts", "--addn-hosts=" + hosts, "--listen-address=127.0.0.1", "--bind-interfaces",
                "--port=" + dnsPort, "--local-ttl=1", "--user=root", "--pid-file=", "--log-facility=-"))
                .log(dir.resolve("logs/dnsmasq.log")).killOnExit().start();
             ChildProcess lb = ChildProcess.command(List.of("haproxy", "-db", "-f",
                     root.resolve("deploy/haproxy/haproxy.cfg").toString()))
                     .env(Map.of("CHARIOTS_DNS", "127.0.0.1:" + dnsPort, "LB_BIND", "127.0.0.1:" + LB_PORT,
                             "STATS_BIND", "127.0.0.1:" + statsPort, "BATCHER_HOST", "batcher"))
                     .log(dir.resolve("logs/haproxy.log")).killOnExit().start()) {
            String stats = "http://127.0.0.1:" + statsPort + "/stats;csv";
            awaitServers(stats, up -> up.keySet().equals(Set.of("127.0.0.2", "127.0.0.3", "127.0.0.4")), lb, dns);

            // Senders through the balancer; a coordinator kills a batcher, then adds one.
            Map<String, Long> ackedLid = new ConcurrentHashMap<>();
            List<Throwable> failures = new CopyOnWriteArrayList<>();
            AtomicInteger brokenConnections = new AtomicInteger();
            List<List<String>> allFrames = new ArrayList<>();
            List<Thread> senders = new ArrayList<>();
            for (int s = 0; s < SENDERS; s++) {
                List<String> frames = frames("s" + s);
                allFrames.add(frames);
                senders.add(new Thread(() -> {
                    try {
                        send(frames, ackedLid, brokenConnections);
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }, "sender-" + s));
            }
            int total = SENDERS * FRAMES_PER_SENDER * RECORDS_PER_FRAME;
            senders.forEach(Thread::start);

            awaitAcked(ackedLid, total / 4, senders);
            RoleProcess killed = batchers.get(1);
            c.expectDown(killed, true);
            killed.kill();

            awaitAcked(ackedLid, total / 2, senders);
            RoleProcess joined = c.add(Role.BATCHER, "127.0.0.5", new RoleProcess.Ports(9000, 9100, 10000));
            batchers.add(joined);
            writeHosts(hosts, batchers); // Docker's DNS lists every container of the service, dead or not
            dns.signal("HUP"); // dnsmasq re-reads its hosts files
            awaitServers(stats, up -> up.containsKey("127.0.0.5") && !up.containsKey("127.0.0.3"), lb, dns);

            for (Thread t : senders) {
                t.join(Duration.ofMinutes(4).toMillis());
                assertThat(t.isAlive()).as("%s finished within 4 minutes", t.getName()).isFalse();
            }
            assertThat(failures).isEmpty();
            assertThat(brokenConnections.get()).as("connections to the killed batcher broke and were resent").isPositive();

            // New connections reach the batcher that joined. Which server HAProxy picks among equally loaded
            // ones is its business, so probe (one acknowledged record per connection) until one lands there.
            awaitServers(stats, up -> up.containsKey("127.0.0.5"), lb, dns);
            long before = sessions(stats).getOrDefault("127.0.0.5", 0L);
            List<String> probes = new ArrayList<>();
            for (int i = 0; i < 60 && sessions(stats).getOrDefault("127.0.0.5", 0L) <= before; i++) {
                String frame = "[" + record("probe-" + i, Map.of("probe", Integer.toString(i)), 0, 0) + "]";
                probes.add(frame);
                send(List.of(frame), ackedLid, brokenConnections);
            }
            assertThat(sessions(stats).getOrDefault("127.0.0.5", 0L))
                    .as("the batcher that joined takes connections (within %d probes):%n%s", probes.size(), get(stats))
                    .isGreaterThan(before);

            // The log, read back: every record once, each acknowledged one where its acknowledgement said.
            allFrames.add(probes);
            Set<String> sent = new HashSet<>();
            for (List<String> frames : allFrames) {
                for (String f : frames) {
                    for (JsonNode r : AcknowledgementsTest.JSON.readTree(f)) {
                        sent.add(r.get("Id").asText());
                    }
                }
            }
            assertThat(ackedLid.keySet()).as("every record was acknowledged").isEqualTo(sent);
            assertThat(LogProbe.awaitStored(c, sent.size(), Duration.ofSeconds(60))).isEqualTo(sent.size());
            TreeMap<Long, LogRecord> log = LogProbe.readLog(c);
            AppendPathTest.checkLog(log, sent);
            Map<String, Long> lidOf = new HashMap<>();
            log.values().forEach(r -> lidOf.put(r.id(), r.lid()));
            assertThat(lidOf).as("each record at the LId its acknowledgement named").isEqualTo(ackedLid);
            System.out.printf("BatcherPoolBehindHaproxyTest: %d records acknowledged and in the log once; %d connections"
                    + " broken by the kill and resent; sessions per batcher: %s%n", sent.size(), brokenConnections.get(),
                    sessions(stats));
        }
    }

    /** A sender's frames: 100 records each, one cause–effect pair per frame with the effect first. */
    static List<String> frames(String sender) {
        List<String> frames = new ArrayList<>();
        long hash = Fnv1a64.hashTag("step", "s0");
        for (int f = 0; f < FRAMES_PER_SENDER; f++) {
            StringBuilder sb = new StringBuilder("[");
            String id = sender + "-" + f + "-";
            long seed = (0x9000_0000_0000_0000L | ((long) sender.hashCode() << 16) | f); // above 2^63
            sb.append(record(id + "effect", Map.of("step", "s1"), seed, hash)).append(',');
            for (int i = 0; i < RECORDS_PER_FRAME - 2; i++) {
                sb.append(record(id + i, Map.of("sender", sender, "n", Integer.toString(i)), 0, 0)).append(',');
            }
            sb.append(record(id + "cause", Map.of("step", "s0"), seed, 0)).append(']');
            frames.add(sb.toString());
        }
        return frames;
    }

    static String record(String id, Map<String, String> tags, long seed, long prehash) {
        StringBuilder sb = new StringBuilder("{\"Id\":\"").append(id).append("\",\"Tags\":{");
        tags.forEach((k, v) -> sb.append('"').append(k).append("\":\"").append(v).append("\","));
        sb.setLength(sb.length() - 1);
        return sb.append("},\"Seed\":").append(Unsigned64.toString(seed)).append(",\"Pre\":{\"Hash\":")
                .append(Unsigned64.toString(prehash)).append("}}").toString();
    }

    /**
     * Sends every frame through the balancer in the acknowledged mode, a new
     * connection every few frames; what a broken connection left unanswered,
     * and any record answered with an error, is sent again with the same ids.
     */
    static void send(List<String> frames, Map<String, Long> ackedLid, AtomicInteger broken) throws Exception {
        Deque<String> todo = new ArrayDeque<>(frames);
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (!todo.isEmpty()) {
            assertThat(System.nanoTime()).as("all frames acknowledged within 3 minutes").isLessThan(deadline);
            List<String> batch = new ArrayList<>();
            while (batch.size() < FRAMES_PER_CONNECTION && !todo.isEmpty()) {
                batch.add(todo.poll());
            }
            int answered = 0;
            try (AckedClient client = new AckedClient(LB_PORT)) {
                client.send('A', "{\"acks\":1}");
                String hello = client.next();
                assertThat(hello).startsWith("A");
                for (String f : batch) {
                    client.send('s', f);
                }
                for (String f : batch) {
                    JsonNode answer = client.nextAnswer();
                    answered++;
                    JsonNode records = AcknowledgementsTest.JSON.readTree(f);
                    List<String> retry = new ArrayList<>();
                    int i = 0;
                    for (JsonNode result : answer.get("results")) {
                        if (result.has("lid")) {
                            Long prev = ackedLid.put(result.get("id").asText(), result.get("lid").asLong());
                            assertThat(prev == null || prev == result.get("lid").asLong())
                                    .as("%s acknowledged at two LIds", result.get("id").asText()).isTrue();
                        } else {
                            assertThat(result.has("index")).as("a record of a valid frame failed to parse: %s", result).isFalse();
                            retry.add(records.get(i).toString()); // not confirmed in time: resend, same id
                        }
                        i++;
                    }
                    if (!retry.isEmpty()) {
                        todo.add("[" + String.join(",", retry) + "]");
                    }
                }
            } catch (IOException e) {
                broken.incrementAndGet();
                todo.addAll(batch.subList(answered, batch.size()));
                Thread.sleep(100);
            }
        }
    }

    static void awaitAcked(Map<String, Long> acked, int n, List<Thread> senders) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (acked.size() < n && senders.stream().anyMatch(Thread::isAlive)) {
            assertThat(System.nanoTime()).as("%d records acknowledged within 3 minutes", n).isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    /** Waits until the servers HAProxy marks UP, by address, satisfy {@code want}. */
    void awaitServers(String stats, Predicate<Map<String, Long>> want, ChildProcess lb, ChildProcess dns) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        Map<String, Long> up = Map.of();
        while (System.nanoTime() < deadline) {
            assertThat(lb.alive()).as(lb.tail(30)).isTrue();
            assertThat(dns.alive()).as(dns.tail(30)).isTrue();
            try {
                up = upServers(stats);
                if (want.test(up)) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new AssertionError("HAProxy's servers UP: " + up.keySet() + "\n" + get(stats) + "\n" + lb.tail(30) + "\n" + dns.tail(30));
    }

    /** Address → sessions so far, of the backend's servers that are UP. */
    Map<String, Long> upServers(String stats) throws Exception {
        Map<String, Long> out = new TreeMap<>();
        for (Map<String, String> row : csv(get(stats))) {
            if ("batcher_pool".equals(row.get("pxname")) && row.get("status").startsWith("UP") && !row.get("addr").isEmpty()) {
                out.put(row.get("addr").split(":")[0], Long.parseLong(row.get("stot")));
            }
        }
        return out;
    }

    /** Address → sessions so far, of every server slot with an address. */
    Map<String, Long> sessions(String stats) throws Exception {
        Map<String, Long> out = new TreeMap<>();
        for (Map<String, String> row : csv(get(stats))) {
            if ("batcher_pool".equals(row.get("pxname")) && !row.get("addr").isEmpty()) {
                out.merge(row.get("addr").split(":")[0], Long.parseLong(row.get("stot")), Long::sum);
            }
        }
        return out;
    }

    static List<Map<String, String>> csv(String text) {
        String[] lines = text.split("\n");
        String[] header = lines[0].replaceFirst("^# ", "").split(",", -1);
        List<Map<String, String>> rows = new ArrayList<>();
        for (int i = 1; i < lines.length; i++) {
            String[] cells = lines[i].split(",", -1);
            Map<String, String> row = new HashMap<>();
            for (int j = 0; j < header.length && j < cells.length; j++) {
                row.put(header[j], cells[j]);
            }
            rows.add(row);
        }
        return rows;
    }

    static String get(String url) throws IOException, InterruptedException {
        HttpResponse<String> r = LogProbe.get(url);
        if (r.statusCode() != 200) {
            throw new IOException("GET " + url + ": " + r.statusCode());
        }
        return r.body();
    }

    static void writeHosts(Path hosts, List<RoleProcess> batchers) throws IOException {
        StringBuilder sb = new StringBuilder();
        batchers.forEach(b -> sb.append(b.host()).append(" batcher\n"));
        Path tmp = hosts.resolveSibling("batcher.hosts.tmp");
        Files.writeString(tmp, sb);
        Files.move(tmp, hosts, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
}
