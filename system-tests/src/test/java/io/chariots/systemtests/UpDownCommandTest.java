package io.chariots.systemtests;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.chariots.common.config.RoleConfig;
import io.chariots.launcher.ChariotsCli;
import io.chariots.launcher.cluster.ClusterStateFile;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.proto.Role;
import io.chariots.testkit.ChildProcess;
import io.chariots.testkit.FreePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code chariots up}, {@code status}, {@code down} and the commands on one
 * instance as a user runs them: default ports, detached processes, the
 * cluster's shape remembered across {@code down}, nothing left behind.
 */
class UpDownCommandTest {
    @TempDir
    Path dir;

    /** What one command printed and how it exited. */
    record Ran(int exit, String out, String err) {
        String both() {
            return out + err;
        }
    }

    /** Runs {@code chariots ARGS} in this JVM, capturing what it prints. */
    static Ran chariots(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cli = ChariotsCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(args);
        Ran r = new Ran(exit, out.toString(), err.toString());
        System.out.println("$ chariots " + String.join(" ", args) + "  -> " + exit + "\n" + r.both());
        return r;
    }

    /** The STATE column of {@code name}'s line in {@code status} output. */
    static String stateIn(String status, String name) {
        for (String line : status.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f[0].equals(name)) {
                return f[5];
            }
        }
        throw new AssertionError(name + " is not in the status output:\n" + status);
    }

    /** The controller's list of {@code role}s ("queues"). */
    static List<String> listed(String roles) throws Exception {
        String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:8081/")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        List<String> out = new ArrayList<>();
        new ObjectMapper().readTree(body).get(roles).forEach(n -> out.add(n.asText()));
        return out.stream().sorted().toList();
    }

    /** Waits until the controller lists exactly {@code expected} as its {@code roles}. */
    static void awaitListed(String roles, List<String> expected) throws Exception {
        long deadline = System.nanoTime() + 30_000_000_000L;
        List<String> have = null;
        while (System.nanoTime() < deadline) {
            have = listed(roles);
            if (have.equals(expected)) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError(roles + ": expected " + expected + ", the controller lists " + have);
    }

    static void assertPortsFree(List<Integer> ports) {
        for (int p : ports) {
            assertThat(FreePorts.listening("127.0.0.1", p)).as("port %d must be free for this test (stop what listens there)", p).isFalse();
        }
    }

    /** Whether this kernel gives transparent huge pages only to memory that asks for them (mode "madvise"). */
    static boolean hugePagesOnRequest() throws Exception {
        Path mode = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
        return Files.isReadable(mode) && Files.readString(mode).contains("[madvise]");
    }

    /**
     * The memory regions of process {@code pid} that asked for huge pages ({@code hg} among their
     * VmFlags): whether the kernel found 2 MiB of free memory for each at the time is its own affair.
     */
    static long hugePageRegions(long pid) throws Exception {
        return Files.readAllLines(Path.of("/proc", Long.toString(pid), "smaps")).stream()
                .filter(l -> l.startsWith("VmFlags:") && List.of(l.split("\\s+")).contains("hg")).count();
    }

    static List<Integer> defaultPorts() {
        List<Integer> out = new ArrayList<>();
        for (Role r : LocalCluster.ROLES) {
            int p = RoleConfig.defaultPort(r);
            out.add(p);
            out.add(RoleConfig.defaultAdminPort(r, p));
            if (RoleConfig.defaultGrpcPort(r, p) != 0) {
                out.add(RoleConfig.defaultGrpcPort(r, p));
            }
        }
        out.add(9001);
        out.add(9101);
        out.add(10001);
        return out;
    }

    @Test
    void upStartsEveryRoleOnDefaultPortsAndDownLeavesNothingListening() throws Exception {
        assertPortsFree(defaultPorts());
        String d = dir.toString();
        int up = ChariotsCli.commandLine().execute("up", "--dir", d, "--batchers", "2");
        try {
            assertThat(up).isZero();
            String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:8081/")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            var view = new com.fasterxml.jackson.databind.ObjectMapper().readTree(body);
            List<String> keys = new ArrayList<>();
            view.fieldNames().forEachRemaining(keys::add);
            assertThat(keys).containsExactly("apps", "batchers", "filters", "queues", "maintainers", "indexers", "remoteBatchers");
            Map<String, List<String>> want = Map.of("apps", List.of("127.0.0.1:8080"),
                    "batchers", List.of("127.0.0.1:9000", "127.0.0.1:9001"), "filters", List.of("127.0.0.1:9010"),
                    "queues", List.of("127.0.0.1:9020"), "maintainers", List.of("127.0.0.1:9030"),
                    "indexers", List.of("127.0.0.1:9040"), "remoteBatchers", List.of());
            want.forEach((k, v) -> {
                List<String> have = new ArrayList<>();
                view.get(k).forEach(n -> have.add(n.asText()));
                assertThat(have).as(k).containsExactlyInAnyOrderElementsOf(v);
            });
            assertThat(Files.exists(dir.resolve("cluster.json"))).isTrue();
            assertThat(Files.list(dir.resolve("logs")).count()).isEqualTo(8);
            // Recorded commands restart a role as up started it: two malloc arenas (or what this environment set),
            // the batchers' smaller heap, C1 alone for the roles that compile with it, the queues' huge pages
            // (unless CHARIOTS_JVM_OPTS replaced the JVM options).
            String setArenas = System.getenv().getOrDefault("MALLOC_ARENA_MAX", "").strip();
            String arenas = setArenas.isEmpty() ? "2" : setArenas;
            boolean defaultJvmOptions = System.getenv().getOrDefault("CHARIOTS_JVM_OPTS", "").isBlank();
            for (ClusterStateFile.Instance i : ClusterStateFile.in(dir).read().orElseThrow().processes()) {
                assertThat(i.command()).as(i.name()).contains("MALLOC_ARENA_MAX=" + arenas);
                if (defaultJvmOptions) {
                    String heap = i.role().equals("batcher") ? "-Xmx256m" : "-Xmx320m"; // the last -Xmx counts
                    assertThat(i.command()).as(i.name()).filteredOn(o -> o.startsWith("-Xmx")).last().isEqualTo(heap);
                    List<String> running = List.of(ClusterStateFile.commandLine(i.pid()).orElseThrow().split("\\s+"));
                    assertThat(running).as(i.name()).filteredOn(o -> o.startsWith("-Xmx")).last().isEqualTo(heap);
                    boolean c1 = List.of("controller", "filter", "indexer").contains(i.role());
                    assertThat(running.contains("-XX:TieredStopAtLevel=1")).as(i.name() + " compiles with C1 alone")
                            .isEqualTo(c1);
                    assertThat(i.command().contains("-XX:TieredStopAtLevel=1")).as(i.name() + " recorded").isEqualTo(c1);
                    boolean queue = i.role().equals("queue");
                    assertThat(running.contains("-XX:+UseTransparentHugePages")).as(i.name() + " on huge pages").isEqualTo(queue);
                    assertThat(i.command().contains("-XX:+UseTransparentHugePages")).as(i.name() + " recorded").isEqualTo(queue);
                    if (queue && hugePagesOnRequest()) { // the JVM asked for them (madvise) on its heap
                        assertThat(hugePageRegions(i.pid())).as(i.name() + "'s regions flagged hg in smaps").isPositive();
                    }
                }
            }

            StringWriter err = new StringWriter();
            var again = ChariotsCli.commandLine();
            again.setErr(new PrintWriter(err));
            assertThat(again.execute("up", "--dir", d)).as("a second up refuses").isEqualTo(1);
            assertThat(ChariotsCli.commandLine().execute("status", "--dir", d)).isZero();
        } finally {
            assertThat(ChariotsCli.commandLine().execute("down", "--dir", d)).isZero();
        }
        for (int p : defaultPorts()) {
            assertThat(FreePorts.listening("127.0.0.1", p)).as("port %d after down", p).isFalse();
        }
        assertThat(ProcessHandle.allProcesses().filter(h -> ClusterStateFile.commandLine(h.pid())
                .map(c -> c.contains("io.chariots.launcher.ChariotsCli") && c.contains(d)).orElse(false)).count()).isZero();
        assertThat(ChariotsCli.commandLine().execute("status", "--dir", d)).isEqualTo(3);
    }

    /**
     * {@code bench} against what {@code up} started: every record sent is
     * persisted and indexed, and the report gives records/s, latency
     * percentiles and, for every role, peak RSS, CPU µs per record and the
     * share of it its JVM spent compiling and collecting, and RocksDB's flushes and compactions.
     */
    @Test
    void benchReportsRateLatencyAndTheCpuAndMemoryOfEveryRole() throws Exception {
        assertPortsFree(defaultPorts());
        String d = dir.toString();
        assertThat(ChariotsCli.commandLine().execute("up", "--dir", d)).isZero();
        java.io.PrintStream stdout = System.out;
        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
        int exit;
        int reportEnd;
        int ratedExit;
        try {
            System.setOut(new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
            exit = ChariotsCli.commandLine().execute("bench", "--dir", d, "-n", "20000", "--via", "s", "-c", "2");
            System.out.flush();
            reportEnd = printed.size();
            ratedExit = ChariotsCli.commandLine().execute("bench", "--dir", d, "-n", "4000", "--via", "s", "-c", "2",
                    "--rate", "4000", "--warmup", "6000");
        } finally {
            System.setOut(stdout);
            assertThat(ChariotsCli.commandLine().execute("down", "--dir", d)).isZero();
        }
        String both = printed.toString(java.nio.charset.StandardCharsets.UTF_8);
        System.out.println(both);
        String report = new String(printed.toByteArray(), 0, reportEnd, java.nio.charset.StandardCharsets.UTF_8);
        String rated = both.substring(report.length());
        assertThat(exit).isZero();
        assertThat(ratedExit).isZero();
        assertThat(report).containsPattern("throughput +[\\d,]+ records/s end to end").containsPattern("p99 [\\d.]+ ms")
                .containsPattern("causal +append→persisted of the [\\d,]+ records that have a cause .* p99 [\\d.]+ ms");
        // Where the latency went: each stage of the append path, in order, with its percentiles.
        assertThat(report).containsPattern("stages +since the edge stamp.*: batcher_sent p50 ≤[\\d.]+ ms p99 ≤[\\d.]+ ms  \\|  "
                + "filter_received p50 ≤[\\d.]+ ms p99 ≤[\\d.]+ ms  \\|  queue_received p50 ≤[\\d.]+ ms p99 ≤[\\d.]+ ms  \\|  "
                + "maintainer_stored p50 ≤[\\d.]+ ms p99 ≤[\\d.]+ ms");
        String cpu = report.lines().filter(l -> l.trim().startsWith("CPU/record")).findFirst().orElseThrow();
        String rss = report.lines().filter(l -> l.trim().startsWith("peak RSS")).findFirst().orElseThrow();
        for (String role : List.of("controller", "app", "batcher", "filter", "queue", "maintainer", "indexer")) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile(role + "@\\d+ ([\\d.]+) µs").matcher(cpu);
            assertThat(m.find()).as("CPU of the %s in: %s", role, cpu).isTrue();
            assertThat(Double.parseDouble(m.group(1))).as("CPU of the %s", role).isPositive();
            assertThat(rss).as("RSS of the %s", role).containsPattern(role + "@\\d+ [1-9]\\d* MiB");
        }
        java.util.regex.Matcher all = java.util.regex.Pattern.compile("all roles ([\\d.]+) µs").matcher(cpu);
        assertThat(all.find()).as(cpu).isTrue();
        assertThat(Double.parseDouble(all.group(1))).as("the roles spent CPU on the records").isPositive();
        // How much of that their JVMs spent compiling and collecting: a fresh cluster is still compiling.
        String jvm = report.lines().filter(l -> l.trim().startsWith("JIT, GC")).findFirst().orElseThrow();
        for (String role : List.of("controller", "app", "batcher", "filter", "queue", "maintainer", "indexer")) {
            assertThat(jvm).as("JIT and GC shares of the %s", role).containsPattern(role + "@\\d+ JIT \\d+% GC \\d+%,");
        }
        java.util.regex.Matcher jit = java.util.regex.Pattern.compile("all of them JIT (\\d+)% GC (\\d+)%").matcher(jvm);
        assertThat(jit.find()).as(jvm).isTrue();
        assertThat(Integer.parseInt(jit.group(1))).as("share of a fresh cluster's CPU in compiling: %s", jvm).isBetween(1, 99);
        // What the roles with RocksDB spent in its flush and compaction threads, and the indexer's since it started,
        // over the entries it indexed: this fresh cluster's, this run's.
        String rocks = report.lines().filter(l -> l.trim().startsWith("RocksDB ")).findFirst().orElseThrow();
        assertThat(rocks).containsPattern("maintainer@\\d+ [\\d.]+ µs a record in this run")
                .containsPattern("indexer@\\d+ [\\d.]+ µs a record in this run, [\\d.]+ µs an entry over the 20,000 it indexed since it"
                        + " started \\(all its threads [\\d.]*[1-9][\\d.]*\\)")
                .doesNotContain("queue@", "batcher@", "filter@", "app@", "controller@");

        // A warm-up before a fixed-rate run goes at that rate, so that it warms the paths the run takes.
        java.util.regex.Matcher warm = java.util.regex.Pattern.compile("warm-up: 6,000 records at 4,000 records/s\\.\\.\\. done in ([\\d.]+) s")
                .matcher(rated);
        assertThat(warm.find()).as(rated).isTrue();
        assertThat(Double.parseDouble(warm.group(1))).as("6,000 records at 4,000 a second take 1.5 s").isGreaterThanOrEqualTo(1.2);
        assertThat(rated).containsPattern("offered 4,000 records/s").containsPattern("p99 [\\d.]+ ms");
    }

    @Test
    void aPlainUpStartsTheRecordedShapeAgainAndFewerMaintainersThanHoldDataAreRefused() throws Exception {
        List<Integer> ports = new ArrayList<>(defaultPorts());
        ports.addAll(List.of(9031, 9131));
        assertPortsFree(ports);
        Path run = dir.resolve("run");
        String d = run.toString();
        Path secondData = run.resolve("data").resolve("maintainer-9031");
        try {
            assertThat(chariots("up", "--dir", d, "--maintainers", "2").exit()).isZero();
            awaitListed("maintainers", List.of("127.0.0.1:9030", "127.0.0.1:9031"));
            assertThat(chariots("down", "--dir", d).exit()).isZero();
            assertThat(secondData).isDirectory().isNotEmptyDirectory();
            Ran stopped = chariots("status", "--dir", d);
            assertThat(stopped.exit()).as("nothing runs").isEqualTo(3);
            assertThat(stateIn(stopped.out(), "maintainer#2")).isEqualTo("stopped");

            Ran fewer = chariots("up", "--dir", d, "--maintainers", "1");
            assertThat(fewer.exit()).isEqualTo(1);
            assertThat(fewer.err()).contains("maintainer#2", secondData.toString(), "up --maintainers 2", "--fresh");
            assertThat(FreePorts.listening("127.0.0.1", 8081)).as("a refused up starts nothing").isFalse();

            Ran plain = chariots("up", "--dir", d);
            assertThat(plain.exit()).isZero();
            assertThat(plain.out()).contains("Starting the cluster recorded in " + d + "/: 1 controller, 1 indexer, 2 maintainers,");
            assertThat(listed("maintainers")).containsExactly("127.0.0.1:9030", "127.0.0.1:9031");
            String health = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:9131/health"))
                    .build(), HttpResponse.BodyHandlers.ofString()).body();
            assertThat(new ObjectMapper().readTree(health).get("dataDir").asText()).as("maintainer#2 on its old data")
                    .isEqualTo(secondData.toAbsolutePath().toString());
            assertThat(stateIn(chariots("status", "--dir", d).out(), "maintainer#2")).isEqualTo("running");
        } finally {
            assertThat(chariots("down", "--dir", d).exit()).isZero();
        }

        // --fresh moves the old run aside (nothing deleted) and starts only what is asked.
        try {
            Ran fresh = chariots("up", "--dir", d, "--fresh", "--maintainers", "1", "--indexers", "0", "--queues", "0",
                    "--filters", "0", "--batchers", "0");
            assertThat(fresh.exit()).isZero();
            List<Path> aside;
            try (var s = Files.list(dir)) {
                aside = s.filter(p -> p.getFileName().toString().startsWith("run-old-")).toList();
            }
            assertThat(aside).hasSize(1);
            assertThat(aside.get(0).resolve("data").resolve("maintainer-9031")).isNotEmptyDirectory();
            assertThat(secondData).doesNotExist();
            assertThat(listed("maintainers")).containsExactly("127.0.0.1:9030");
        } finally {
            assertThat(chariots("down", "--dir", d).exit()).isZero();
        }
        assertThat(chariots("status", "--dir", d).out()).as("the fresh shape is the one remembered")
                .contains("controller#1", "maintainer#1", "app#1").doesNotContain("maintainer#2", "indexer#1");

        // Something listens on the controller's port (a cluster whose record is gone): --fresh moves nothing.
        try (ServerSocket taken = new ServerSocket()) {
            taken.setReuseAddress(true);
            taken.bind(new InetSocketAddress("127.0.0.1", 8081));
            Ran refused = chariots("up", "--dir", d, "--fresh");
            assertThat(refused.exit()).isEqualTo(1);
            assertThat(refused.err()).contains("port 8081", "nothing was moved");
            try (var s = Files.list(dir)) {
                assertThat(s.filter(p -> p.getFileName().toString().startsWith("run-old-")).count()).isEqualTo(1);
            }
            assertThat(run.resolve("data").resolve("maintainer-9030")).as("the run stays where it was").isNotEmptyDirectory();
        }
        assertThat(ports).allSatisfy(p -> assertThat(FreePorts.listening("127.0.0.1", p)).as("port %d after down", p).isFalse());
    }

    @Test
    void oneInstanceIsKilledRestartedPausedResumedStoppedAndStartedByName() throws Exception {
        assertPortsFree(defaultPorts());
        String d = dir.toString();
        try {
            assertThat(chariots("up", "--dir", d).exit()).isZero();

            long queuePid = ClusterStateFile.in(dir).read().orElseThrow().find("queue#1").orElseThrow().pid();
            assertThat(chariots("kill", "queue#1", "--dir", d).exit()).isZero();
            Ran afterKill = chariots("status", "--dir", d);
            assertThat(afterKill.exit()).isEqualTo(1);
            assertThat(stateIn(afterKill.out(), "queue#1")).isEqualTo("dead");
            awaitListed("queues", List.of());
            Ran killAgain = chariots("kill", "queue#1", "--dir", d);
            assertThat(killAgain.exit()).isEqualTo(1);
            assertThat(killAgain.err()).contains("queue#1 is dead");

            assertThat(chariots("restart", "queue#1", "--dir", d).exit()).isZero();
            assertThat(stateIn(chariots("status", "--dir", d).out(), "queue#1")).isEqualTo("running");
            assertThat(ClusterStateFile.in(dir).read().orElseThrow().find("queue#1").orElseThrow().pid()).isNotEqualTo(queuePid);
            assertThat(FreePorts.listening("127.0.0.1", 9020)).isTrue();
            awaitListed("queues", List.of("127.0.0.1:9020"));

            assertThat(chariots("pause", "filter#1", "--dir", d).exit()).isZero();
            assertThat(stateIn(chariots("status", "--dir", d).out(), "filter#1")).isEqualTo("paused");
            assertThat(chariots("pause", "filter#1", "--dir", d).exit()).as("already paused").isEqualTo(1);
            assertThat(chariots("resume", "filter#1", "--dir", d).exit()).isZero();
            assertThat(stateIn(chariots("status", "--dir", d).out(), "filter#1")).isEqualTo("running");
            assertThat(chariots("resume", "filter#1", "--dir", d).exit()).as("not paused").isEqualTo(1);

            Ran stop = chariots("stop", "filter#1", "--dir", d);
            assertThat(stop.exit()).isZero();
            assertThat(stop.out()).contains("filter#1").contains("after SIGTERM");
            assertThat(ChildProcess.tail(dir.resolve("logs").resolve("filter-9010.log"), 5))
                    .as("the filter's shutdown hook finished").contains("chariots filter: stopped cleanly");
            Ran afterStop = chariots("status", "--dir", d);
            assertThat(stateIn(afterStop.out(), "filter#1")).isEqualTo("stopped");
            assertThat(afterStop.exit()).isEqualTo(1);
            Ran stopAgain = chariots("stop", "filter#1", "--dir", d);
            assertThat(stopAgain.exit()).isEqualTo(1);
            assertThat(stopAgain.err()).contains("filter#1 is stopped");

            assertThat(chariots("start", "filter#1", "--dir", d).exit()).isZero();
            Ran startAgain = chariots("start", "filter#1", "--dir", d);
            assertThat(startAgain.exit()).isEqualTo(1);
            assertThat(startAgain.err()).contains("filter#1 is running");
            assertThat(chariots("status", "--dir", d).exit()).as("all running again").isZero();

            Ran unknown = chariots("stop", "queue#2", "--dir", d);
            assertThat(unknown.exit()).isEqualTo(1);
            assertThat(unknown.err()).contains("No instance queue#2", "queue#1");
        } finally {
            assertThat(chariots("down", "--dir", d).exit()).isZero();
        }
    }
}
