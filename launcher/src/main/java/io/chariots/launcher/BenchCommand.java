package io.chariots.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.chariots.common.frame.FrameEncoder;
import io.chariots.common.record.Fnv1a64;
import io.chariots.common.record.Unsigned64;
import io.chariots.proto.MaintainerGrpc;
import io.chariots.proto.MaintainerStats;
import io.chariots.proto.ReadRequest;
import io.chariots.proto.RecordBatch;
import io.chariots.proto.RecordEnvelope;
import io.grpc.ManagedChannel;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedOutputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Load generator against a running cluster ({@code ./chariots up}): sends N
 * records over raw TCP ({@code 'r'} or {@code 's'} frames) or HTTP on C
 * connections, optionally at a fixed rate and with a share in causal chains;
 * shows progress; waits until the log holds them all, persisted and indexed
 * (or the queues rejected some: a chain link whose cause did not come within
 * the cause timeout, or that was crowded out by {@code queue.max_waiting},
 * which the run reports and exits 1 for); then prints
 * end-to-end records/s, the append-to-persisted latency of every
 * record (edge ingest to maintainer write, read back from the log) and apart
 * that of the chain links, and for every role its peak RSS and its CPU µs
 * per record over the measured phase (every thread, JIT and GC included),
 * the share of it in its JVM's compiler and GC threads, and, for a role with
 * RocksDB, what RocksDB's flush and compaction threads spent.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Measure a running cluster: records/s end to end, append-to-persisted latency percentiles (all records, and causal links), peak RSS and CPU µs per record of every role"
                + " (with the share in its JIT and GC threads, and its RocksDB flushes and compactions).")
final class BenchCommand implements Callable<Integer> {
    /**
     * A role's CPU seconds in its JIT compiler threads ({@code threads="jit"}), its GC and VM threads ({@code "gc"}) or
     * RocksDB's flush and compaction threads ({@code "rocksdb"}).
     */
    private static final String JVM_THREAD_CPU_SECONDS = "chariots_jvm_thread_cpu_seconds_total{";
    /** Entries an indexer wrote since it started. */
    private static final String INDEXER_ENTRIES = "chariots_indexer_entries_indexed_total{";

    @Option(names = {"-n", "--records"}, defaultValue = "1000000", description = "Records to send (default ${DEFAULT-VALUE}).")
    int records;

    @Option(names = "--via", defaultValue = "s", description = "s ('s' frames), r ('r' frames) or http (default ${DEFAULT-VALUE}).")
    String via;

    @Option(names = {"-c", "--connections"}, defaultValue = "4", description = "Connections (default ${DEFAULT-VALUE}).")
    int connections;

    @Option(names = "--batch", defaultValue = "100", description = "Records per 's' frame, or per HTTP request (default ${DEFAULT-VALUE}; HTTP default 1).")
    Integer batch;

    @Option(names = "--rate", defaultValue = "0", description = "Offered load in records/s over all connections; 0 = as fast as possible.")
    long rate;

    @Option(names = "--chains", defaultValue = "0.1", description = "Share of records in causal chains of 3, links on different connections (default ${DEFAULT-VALUE}).")
    double chainShare;

    @Option(names = "--controller", defaultValue = "http://127.0.0.1:8081", description = "Controller URL (default ${DEFAULT-VALUE}).")
    String controller;

    @Option(names = "--dir", defaultValue = "run", description = "The run directory whose cluster_secret proves this"
            + " bench to the maintainers it reads counts from (default ${DEFAULT-VALUE}; CHARIOTS_CLUSTER_SECRET overrides).")
    java.nio.file.Path dir;

    @Option(names = "--timeout", defaultValue = "300", description = "Seconds to wait for the log to hold every record (default ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Option(names = "--wait", description = "HTTP only: POST /record?wait=true, each answered once its records are persisted and indexed; prints request latency.")
    boolean durable;

    @Option(names = "--warmup", defaultValue = "0", description = "Records to send first, unmeasured and as the measured ones (at --rate, if given), so that the roles' JIT settles on the paths the run takes: seven JVMs on two cores still compile after 1,000,000 (a third of the CPU per record, more in the queue) and have nearly settled after 3,000,000; at a fixed rate small batches run paths full speed had not compiled.")
    int warmup;

    /** Prints nothing but errors (a warm-up pass). */
    private boolean quiet;
    private io.chariots.common.auth.ClusterSecret secret;
    private io.chariots.launcher.cluster.LocalCa.Files3 tls;

    private final ObjectMapper json = new ObjectMapper();
    /** Request-to-answer time of each HTTP request (nanoseconds). */
    private final Histogram requestLatency = new Histogram(60_000_000_000L, 3);
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    record Instance(String role, String address, String grpc, String metrics) {
    }

    @Override
    public Integer call() throws Exception {
        if (!List.of("s", "r", "http").contains(via)) {
            System.err.println("bench: --via must be s, r or http");
            return 2;
        }
        if (records < 1 || warmup < 0) {
            System.err.println("bench: -n must be at least 1 and --warmup at least 0, got -n " + records + " --warmup " + warmup);
            return 2;
        }
        if (durable && !via.equals("http")) {
            System.err.println("bench: --wait needs --via http");
            return 2;
        }
        secret = io.chariots.launcher.cluster.LocalCluster.readSecret(dir);
        tls = io.chariots.launcher.cluster.LocalCluster.recordedTls(dir);
        if (warmup > 0) {
            BenchCommand w = new BenchCommand();
            w.records = warmup;
            w.via = via;
            w.connections = connections;
            w.batch = batch;
            w.chainShare = chainShare;
            w.rate = rate;
            w.controller = controller;
            w.dir = dir;
            w.durable = durable;
            w.timeoutSeconds = timeoutSeconds;
            w.quiet = true;
            long t = System.nanoTime();
            System.out.printf(rate > 0 ? "warm-up: %,d records at %,d records/s..." : "warm-up: %,d records...", warmup, rate);
            System.out.flush();
            int code = w.call();
            if (code != 0) {
                return code;
            }
            System.out.printf(" done in %.1f s%n", (System.nanoTime() - t) / 1e9);
        }
        java.io.PrintStream out = quiet ? new java.io.PrintStream(java.io.OutputStream.nullOutputStream()) : System.out;
        int perUnit = via.equals("r") ? 1 : via.equals("http") && batch == 100 ? 1 : batch;
        List<Instance> instances = discover(http, json, controller);
        List<Instance> maintainers = instances.stream().filter(i -> i.role().equals("maintainer")).toList();
        List<String> targets = instances.stream().filter(i -> i.role().equals(via.equals("http") ? "app" : "batcher"))
                .map(Instance::address).toList();
        if (maintainers.isEmpty() || targets.isEmpty()) {
            System.err.println("bench: the cluster at " + controller + " has no " + (targets.isEmpty() ? (via.equals("http") ? "app" : "batcher") : "maintainer")
                    + "; start one with ./chariots up");
            return 1;
        }
        String run = Long.toString(System.currentTimeMillis() % 1_000_000_000L, 36);
        long baseStored = sum(maintainers, MaintainerStats::getStored);
        long baseMax = max(maintainers);

        out.printf("bench %s: %,d records via %s (%d per %s), %d connection(s) to %s, %.0f%% in chains%s%n", run, records,
                via.equals("http") ? "HTTP" : "'" + via + "' frames", perUnit, via.equals("http") ? "request" : "frame",
                connections, targets, chainShare * 100, rate > 0 ? String.format(", offered %,d records/s", rate) : "");
        List<List<byte[]>> lanes = prepare(run, perUnit);

        Map<String, Long> peakRss = new ConcurrentHashMap<>();
        Thread rssSampler = new Thread(() -> sampleRss(instances, peakRss), "rss");
        rssSampler.setDaemon(true);
        if (!quiet) { // a warm-up reports nothing: no need to sample
            rssSampler.start();
        }
        try {
            return measure(instances, maintainers, targets, run, baseStored, baseMax, perUnit, lanes, peakRss, out);
        } finally {
            rssSampler.interrupt();
        }
    }

    private int measure(List<Instance> instances, List<Instance> maintainers, List<String> targets, String run, long baseStored,
                        long baseMax, int perUnit, List<List<byte[]>> lanes, Map<String, Long> peakRss,
                        java.io.PrintStream out) throws Exception {

        AtomicLong sent = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        StageLatency stages0 = new StageLatency();
        Map<String, CpuSample> cpu0 = quiet ? Map.of() : cpuSeconds(instances, stages0);
        long baseRejected = queueRejections(instances);
        double ownCpu0 = ownCpuSeconds();
        long t0 = System.nanoTime();
        List<Thread> senders = new ArrayList<>();
        for (int c = 0; c < connections; c++) {
            List<byte[]> lane = lanes.get(c);
            String target = targets.get(c % targets.size());
            long laneRate = rate > 0 ? Math.max(1, rate / connections) : 0;
            Thread t = new Thread(() -> {
                try {
                    if (via.equals("http")) {
                        sendHttp(target, lane, perUnit, laneRate, sent);
                    } else {
                        sendTcp(target, lane, perUnit, laneRate, sent);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "sender-" + c);
            t.start();
            senders.add(t);
        }
        long deadline = t0 + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        long stored = 0;
        long rejected = 0;
        long unindexed = 1;
        long lastPrint = 0;
        long sendDone = 0;
        while (System.nanoTime() < deadline) {
            Thread.sleep(200);
            if (sendDone == 0 && senders.stream().noneMatch(Thread::isAlive)) {
                sendDone = System.nanoTime();
            }
            stored = sum(maintainers, MaintainerStats::getStored) - baseStored;
            unindexed = sum(maintainers, MaintainerStats::getUnindexed);
            long now = System.nanoTime();
            if (now - lastPrint > 1_000_000_000L) {
                lastPrint = now;
                double secs = (now - t0) / 1e9;
                // Effects whose cause did not come in time, or crowded out, are rejected: the log will never hold them.
                rejected = queueRejections(instances) - baseRejected;
                out.printf("  %5.1f s  sent %,d  stored %,d%s  (%,.0f records/s stored)%n", secs, sent.get(), stored,
                        rejected > 0 ? String.format("  rejected %,d", rejected) : "", stored / secs);
            }
            if (failure.get() != null || (stored + rejected >= records && unindexed == 0)) {
                break;
            }
        }
        long t1 = System.nanoTime();
        double ownCpu1 = ownCpuSeconds();
        double ownCpu = ownCpu0 < 0 || ownCpu1 < 0 ? -1 : ownCpu1 - ownCpu0;
        StageLatency stages1 = new StageLatency();
        Map<String, CpuSample> cpu1 = quiet ? Map.of() : cpuSeconds(instances, stages1);
        if (failure.get() != null) {
            System.err.println("bench: sending failed: " + failure.get());
            return 1;
        }
        if (stored + rejected < records || unindexed > 0) {
            System.err.printf("bench: after %d s the log holds %,d of %,d records (%,d not yet indexed, %,d rejected)%n", timeoutSeconds,
                    stored, records, unindexed, rejected);
            return 1;
        }
        if (rejected > 0) {
            System.err.printf("bench: %,d records were rejected: their cause was not in the log within queue.cause_timeout_ms, or more than queue.max_waiting records waited for causes at a queue "
                    + "(each chain link goes out on the connection after its cause's; under overload one connection can run "
                    + "far ahead of another)%n", rejected);
        }
        if (quiet) {
            return 0; // a warm-up: stored and indexed is all it waits for; its records are not read back
        }
        double secs = (t1 - t0) / 1e9;
        Histogram links = new Histogram(TimeUnit.MINUTES.toMicros(10), 3);
        Histogram latency = readBackLatency(maintainers, baseMax, run, links);
        out.println();
        out.printf("  throughput  %,.0f records/s end to end (sent → persisted and indexed): %,d records in %.2f s%n", records / secs, records, secs);
        if (sendDone > 0) {
            out.printf("  sending     %,.0f records/s offered by this client%n", records / ((sendDone - t0) / 1e9));
        }
        out.printf("  latency     append→persisted over %,d records: p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f ms%n",
                latency.getTotalCount(), latency.getValueAtPercentile(50) / 1000.0, latency.getValueAtPercentile(90) / 1000.0,
                latency.getValueAtPercentile(99) / 1000.0, latency.getValueAtPercentile(99.9) / 1000.0, latency.getMaxValue() / 1000.0);
        if (links.getTotalCount() > 0) {
            out.printf("  causal      append→persisted of the %,d records that have a cause (chain links, each on the connection after its cause's%s): p50 %.2f ms  p99 %.2f ms  max %.2f ms%n",
                    links.getTotalCount(), connections > 1 ? "" : "; here the same one",
                    links.getValueAtPercentile(50) / 1000.0, links.getValueAtPercentile(99) / 1000.0, links.getMaxValue() / 1000.0);
        }
        String stages = stages1.report(stages0);
        if (stages != null) {
            out.printf("  stages      since the edge stamp, first record of each batch: %s%n", stages);
        }
        if (requestLatency.getTotalCount() > 0) {
            out.printf("  requests    %s answered in: p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms (%,d requests)%n",
                    durable ? "POST /record?wait=true (200, durable)" : "POST /record (202, accepted)",
                    requestLatency.getValueAtPercentile(50) / 1e6, requestLatency.getValueAtPercentile(90) / 1e6,
                    requestLatency.getValueAtPercentile(99) / 1e6, requestLatency.getMaxValue() / 1e6, requestLatency.getTotalCount());
        }
        if (latency.getTotalCount() != records) {
            out.printf("  WARNING     %,d of this run's records read back (expected %,d)%n", latency.getTotalCount(), records);
        }
        StringBuilder rss = new StringBuilder("  peak RSS   ");
        for (Instance i : instances) {
            Long b = peakRss.get(i.metrics());
            rss.append(String.format(" %s@%s %d MiB,", i.role(), i.address().substring(i.address().lastIndexOf(':') + 1),
                    b == null ? -1 : b >> 20));
        }
        out.println(rss.substring(0, rss.length() - 1));
        out.println(cpuReport(instances, cpu0, cpu1, ownCpu));
        return latency.getTotalCount() == records && rejected == 0 ? 0 : 1;
    }

    /**
     * CPU µs per record of every role over the measured phase (from each role's
     * {@code process_cpu_time_ns_total}: every thread, JIT and GC included),
     * their sum, and this client's; then, where the roles export it, the
     * share of each one's CPU its JVM spent compiling (JIT threads) and
     * collecting (GC and VM threads), which a role still compiling after a
     * short warm-up can spend a third of its CPU on; and for each role with
     * RocksDB, what its flush and compaction threads spent a record in this
     * run, and for an indexer what they and all its threads spent an entry
     * since it started (after a restart on an index it found, its compactions
     * of that index count too): that work runs after the writes that make it,
     * so a short run's figure for an indexer holds earlier runs' compactions
     * or leaves out its own.
     */
    private String cpuReport(List<Instance> instances, Map<String, CpuSample> before, Map<String, CpuSample> after, double ownSeconds) {
        StringBuilder b = new StringBuilder("  CPU/record ");
        StringBuilder shares = new StringBuilder("  JIT, GC    share of each role's CPU in its JVM's compiler threads and its GC and VM threads:");
        StringBuilder deferred = new StringBuilder("  RocksDB    flushes and compactions, which run after the writes that make them (a run pays for"
                + " earlier runs' and leaves its own to later ones):");
        boolean anyRocks = false;
        List<String> unsharedRocks = new ArrayList<>();
        double total = 0;
        double[] jvmTotal = new double[2];
        double sharedOf = 0;
        List<String> missing = new ArrayList<>();
        List<String> unshared = new ArrayList<>();
        for (Instance i : instances) {
            CpuSample s0 = before.get(i.metrics());
            CpuSample s1 = after.get(i.metrics());
            String name = i.role() + "@" + i.address().substring(i.address().lastIndexOf(':') + 1);
            if (s0 == null || s1 == null || s1.startSeconds() != s0.startSeconds()) {
                missing.add(name); // unreadable, or restarted during the run
                continue;
            }
            double seconds = s1.cpu() - s0.cpu();
            double us = seconds * 1e6 / records;
            total += us;
            b.append(String.format(java.util.Locale.ROOT, " %s %.1f µs,", name, us));
            if (s0.jit() < 0 || s1.jit() < 0 || s0.gc() < 0 || s1.gc() < 0) {
                unshared.add(name); // a role that does not export them (not on Linux, or an older build)
            } else if (seconds > 0) {
                double jit = s1.jit() - s0.jit();
                double gc = s1.gc() - s0.gc();
                shares.append(String.format(java.util.Locale.ROOT, " %s JIT %.0f%% GC %.0f%%,", name, 100 * jit / seconds, 100 * gc / seconds));
                jvmTotal[0] += jit;
                jvmTotal[1] += gc;
                sharedOf += seconds;
            }
            boolean storeRole = i.role().equals("maintainer") || i.role().equals("indexer");
            if (s0.rocksdb() < 0 || s1.rocksdb() < 0) {
                if (storeRole) {
                    unsharedRocks.add(name); // an older build, or not on Linux
                }
            } else if (storeRole || s1.rocksdb() > 0) {
                deferred.append(String.format(java.util.Locale.ROOT, " %s %.1f µs a record in this run", name,
                        (s1.rocksdb() - s0.rocksdb()) * 1e6 / records));
                if (s1.entries() > 0) { // an indexer: what its flushes and compactions have cost an entry since it started
                    deferred.append(String.format(java.util.Locale.ROOT, ", %.1f µs an entry over the %,.0f it indexed since it started"
                            + " (all its threads %.1f)", s1.rocksdb() * 1e6 / s1.entries(), s1.entries(), s1.cpu() * 1e6 / s1.entries()));
                }
                deferred.append(';');
                anyRocks = true;
            }
        }
        b.append(String.format(java.util.Locale.ROOT, " all roles %.1f µs (this client %s)", total,
                ownSeconds < 0 ? "n/a" : String.format(java.util.Locale.ROOT, "%.1f µs", ownSeconds * 1e6 / records)));
        if (!missing.isEmpty()) {
            b.append(" — not counted: ").append(String.join(", ", missing));
        }
        if (sharedOf > 0) {
            b.append(System.lineSeparator()).append(shares).append(String.format(java.util.Locale.ROOT,
                    " all of them JIT %.0f%% GC %.0f%%", 100 * jvmTotal[0] / sharedOf, 100 * jvmTotal[1] / sharedOf));
            if (!unshared.isEmpty()) {
                b.append(" — not counted: ").append(String.join(", ", unshared));
            }
        }
        if (anyRocks) {
            b.append(System.lineSeparator()).append(deferred, 0, deferred.length() - 1);
            if (!unsharedRocks.isEmpty()) {
                b.append(" — not counted: ").append(String.join(", ", unsharedRocks));
            }
        }
        return b.toString();
    }

    /**
     * One scrape of a role: its CPU seconds so far (Micrometer's {@code process_cpu_time_ns_total}: every thread, JIT
     * and GC included), its start time (a role restarted between two samples is left out), its CPU seconds in its JIT,
     * GC and RocksDB threads, and the entries it indexed since it started (an indexer's); -1 where a role does not
     * export a figure.
     */
    record CpuSample(double cpu, double startSeconds, double jit, double gc, double rocksdb, double entries) {
    }

    /** The live instances registered at {@code controller} ({@code GET /cluster}). */
    static List<Instance> discover(HttpClient http, ObjectMapper json, String controller) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(controller + "/cluster")).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        List<Instance> out = new ArrayList<>();
        for (JsonNode i : json.readTree(r.body()).get("instances")) {
            if (!i.path("health").asText().equals("live")) {
                continue;
            }
            out.add(new Instance(i.get("role").asText(), i.get("address").asText(), i.path("grpc").asText(""), i.path("metrics").asText("")));
        }
        return out;
    }

    /** Pre-encodes every frame or request body, so the measured phase only writes. */
    private List<List<byte[]>> prepare(String run, int perUnit) {
        Random random = new Random(1);
        List<List<String>> laneRecords = new ArrayList<>();
        for (int c = 0; c < connections; c++) {
            laneRecords.add(new ArrayList<>());
        }
        int inChains = (int) (records * chainShare) / 3 * 3;
        int n = 0;
        for (; n < inChains; n += 3) {
            long seed = random.nextLong();
            for (int link = 0; link < 3; link++) {
                String pre = link == 0 ? "" : ",\"prehash\":" + Unsigned64.toString(Fnv1a64.hashTag("step", "s" + (link - 1)));
                laneRecords.get((n / 3 + link) % connections).add("{\"id\":\"" + run + "-" + (n + link) + "\",\"seed\":"
                        + Unsigned64.toString(seed) + ",\"tags\":{\"step\":\"s" + link + "\"}" + pre + "}");
            }
        }
        for (; n < records; n++) {
            laneRecords.get(n % connections).add("{\"id\":\"" + run + "-" + n + "\",\"seed\":" + Unsigned64.toString(random.nextLong())
                    + ",\"tags\":{\"user\":\"u" + (n % 1000) + "\",\"event\":\"e" + n + "\"}}");
        }
        List<List<byte[]>> lanes = new ArrayList<>();
        for (List<String> lr : laneRecords) {
            List<byte[]> units = new ArrayList<>();
            for (int i = 0; i < lr.size(); i += perUnit) {
                List<String> part = lr.subList(i, Math.min(lr.size(), i + perUnit));
                String body = via.equals("r") || (via.equals("http") && perUnit == 1) ? part.get(0) : "[" + String.join(",", part) + "]";
                byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                units.add(via.equals("http") ? bytes : FrameEncoder.encode((byte) (via.equals("r") ? 'r' : 's'), bytes));
            }
            lanes.add(units);
        }
        return lanes;
    }

    private static void pace(long startNanos, long done, long laneRate) throws InterruptedException {
        if (laneRate <= 0) {
            return;
        }
        long due = startNanos + done * 1_000_000_000L / laneRate;
        long wait = due - System.nanoTime();
        if (wait > 0) {
            TimeUnit.NANOSECONDS.sleep(wait);
        }
    }

    private void sendTcp(String target, List<byte[]> frames, int perUnit, long laneRate, AtomicLong sent) throws Exception {
        int colon = target.lastIndexOf(':');
        try (Socket s = new Socket(target.substring(0, colon), Integer.parseInt(target.substring(colon + 1)))) {
            s.setTcpNoDelay(true);
            OutputStream out = new BufferedOutputStream(s.getOutputStream(), 64 * 1024);
            long start = System.nanoTime();
            long done = 0;
            for (byte[] f : frames) {
                pace(start, done, laneRate);
                out.write(f);
                done += perUnit;
                sent.addAndGet(perUnit);
                if (laneRate > 0) {
                    out.flush();
                }
            }
            out.flush();
        }
    }

    /**
     * Keep-alive HTTP/1.1 over a plain socket: the JDK's HttpClient costs more
     * CPU per request than the app does, which would measure the client.
     */
    private void sendHttp(String target, List<byte[]> bodies, int perUnit, long laneRate, AtomicLong sent) throws Exception {
        int colon = target.lastIndexOf(':');
        String host = target.substring(0, colon);
        int port = Integer.parseInt(target.substring(colon + 1));
        byte[] head = ("POST /record" + (durable ? "?wait=true" : "") + " HTTP/1.1\r\nHost: " + target + "\r\nContent-Type: application/json\r\nContent-Length: ")
                .getBytes(StandardCharsets.US_ASCII);
        try (Socket s = new Socket(host, port)) {
            s.setTcpNoDelay(true);
            OutputStream out = new BufferedOutputStream(s.getOutputStream(), 16 * 1024);
            java.io.InputStream in = new java.io.BufferedInputStream(s.getInputStream(), 16 * 1024);
            long start = System.nanoTime();
            long done = 0;
            for (byte[] body : bodies) {
                pace(start, done, laneRate);
                while (true) {
                    long t = System.nanoTime();
                    out.write(head);
                    out.write((body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(body);
                    out.flush();
                    int status = readResponse(in);
                    if (status == (durable ? 200 : 202)) {
                        synchronized (requestLatency) {
                            requestLatency.recordValue(System.nanoTime() - t);
                        }
                        break;
                    }
                    if (status != 503) {
                        throw new IllegalStateException("POST /record" + (durable ? "?wait=true" : "") + " answered " + status);
                    }
                    Thread.sleep(50);
                }
                done += perUnit;
                sent.addAndGet(perUnit);
            }
        }
    }

    /** Reads one response (status line, headers, Content-Length body); returns the status. */
    private static int readResponse(java.io.InputStream in) throws java.io.IOException {
        StringBuilder line = new StringBuilder();
        int status = -1;
        int length = 0;
        while (true) {
            line.setLength(0);
            int c;
            while ((c = in.read()) != '\n') {
                if (c < 0) {
                    throw new java.io.EOFException("connection closed by the app");
                }
                if (c != '\r') {
                    line.append((char) c);
                }
            }
            if (line.length() == 0) {
                break;
            }
            String l = line.toString();
            if (status < 0) {
                status = Integer.parseInt(l.substring(9, 12));
            } else if (l.regionMatches(true, 0, "content-length:", 0, 15)) {
                length = Integer.parseInt(l.substring(15).trim());
            }
        }
        in.skipNBytes(length);
        return status;
    }

    private <T> T call(Instance m, java.util.function.Function<MaintainerGrpc.MaintainerBlockingStub, T> f) {
        int colon = m.grpc().lastIndexOf(':');
        ManagedChannel ch = io.chariots.launcher.cluster.LocalCluster.channel(secret, tls, m.grpc().substring(0, colon),
                Integer.parseInt(m.grpc().substring(colon + 1)));
        try {
            return f.apply(MaintainerGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS));
        } finally {
            ch.shutdownNow();
        }
    }

    private long sum(List<Instance> maintainers, java.util.function.ToLongFunction<MaintainerStats> f) {
        long n = 0;
        for (Instance m : maintainers) {
            n += f.applyAsLong(call(m, s -> s.stats(ReadRequest.getDefaultInstance())));
        }
        return n;
    }

    private long max(List<Instance> maintainers) {
        long n = 0;
        for (Instance m : maintainers) {
            n = Math.max(n, call(m, s -> s.stats(ReadRequest.getDefaultInstance())).getMaxLid());
        }
        return n;
    }

    /** Reads this run's records back and measures stored_us − ingest_us of each. */
    /**
     * Append→persisted latency of this run's records, read back from the log
     * (µs); {@code links} gets the same for the records that have a cause (a
     * chain's later links, each sent right after its cause on another connection).
     */
    private Histogram readBackLatency(List<Instance> maintainers, long afterLid, String run, Histogram links) {
        Histogram h = new Histogram(TimeUnit.MINUTES.toMicros(10), 3);
        String prefix = run + "-";
        for (Instance m : maintainers) {
            long maxLid = call(m, s -> s.stats(ReadRequest.getDefaultInstance())).getMaxLid();
            long from = afterLid + 1;
            while (from <= maxLid) {
                long f = from;
                RecordBatch b = call(m, s -> s.read(ReadRequest.newBuilder().setFromLid(f).setLimit(10_000).build()));
                for (RecordEnvelope e : b.getRecordsList()) {
                    if (e.getId().startsWith(prefix) && e.getIngestUs() > 0 && e.getStoredUs() > 0) {
                        long us = Math.max(0, Math.min(e.getStoredUs() - e.getIngestUs(), h.getHighestTrackableValue()));
                        h.recordValue(us);
                        if (e.getPrehashCount() > 0) {
                            links.recordValue(us);
                        }
                    }
                }
                from += 10_000;
            }
        }
        return h;
    }

    /** The value of the first sample whose line starts with {@code prefix} in Prometheus text, or -1. */
    static double sample(String text, String prefix) {
        return sample(text, prefix, null, null);
    }

    /** The value of the first sample whose line starts with {@code prefix} and whose label {@code name} is {@code value}, or -1. */
    static double sample(String text, String prefix, String name, String value) {
        for (String line : text.split("\n")) {
            if (line.startsWith(prefix) && (name == null || value.equals(StageLatency.label(line, name)))) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return -1;
    }

    /**
     * Each instance's {@link CpuSample} by metrics URL; absent where unreadable. Adds every scrape to {@code stages}.
     */
    private Map<String, CpuSample> cpuSeconds(List<Instance> instances, StageLatency stages) {
        Map<String, CpuSample> out = new java.util.HashMap<>();
        for (Instance i : instances) {
            if (i.metrics().isEmpty()) {
                continue;
            }
            String text = scrape(i, Duration.ofSeconds(5)); // null: left out of the report, which says so
            if (text != null) {
                stages.add(i.metrics(), text);
            }
            double ns = text == null ? -1 : sample(text, "process_cpu_time_ns_total{");
            if (ns >= 0) {
                out.put(i.metrics(), new CpuSample(ns / 1e9, sample(text, "process_start_time_seconds{"),
                        sample(text, JVM_THREAD_CPU_SECONDS, "threads", "jit"), sample(text, JVM_THREAD_CPU_SECONDS, "threads", "gc"),
                        sample(text, JVM_THREAD_CPU_SECONDS, "threads", "rocksdb"), sample(text, INDEXER_ENTRIES)));
            }
        }
        return out;
    }

    /**
     * Records the queues rejected so far because a cause did not come in time
     * or they were crowded out by {@code queue.max_waiting} (unreadable queues count 0).
     */
    private long queueRejections(List<Instance> instances) {
        long n = 0;
        for (Instance i : instances) {
            if (i.role().equals("queue") && !i.metrics().isEmpty()) {
                String text = scrape(i, Duration.ofSeconds(2));
                if (text != null) {
                    for (String counter : List.of("chariots_queue_cause_timeouts_total{", "chariots_queue_crowded_out_total{")) {
                        n += (long) Math.max(0, sample(text, counter));
                    }
                }
            }
        }
        return n;
    }

    /** {@code i}'s metrics as Prometheus text, or null if it does not answer within {@code timeout}. */
    private String scrape(Instance i, Duration timeout) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(i.metrics())).timeout(timeout).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** CPU seconds of this bench process so far. */
    static double ownCpuSeconds() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getProcessCpuTime() / 1e9 : -1;
    }

    private void sampleRss(List<Instance> instances, Map<String, Long> peak) {
        while (true) {
            for (Instance i : instances) {
                if (i.metrics().isEmpty()) {
                    continue;
                }
                String text = scrape(i, Duration.ofSeconds(2)); // null: a role restarting, sampled again next round
                double b = text == null ? -1 : sample(text, "process_resident_memory_bytes{");
                if (b >= 0) {
                    peak.merge(i.metrics(), (long) b, Math::max);
                }
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                return;
            }
        }
    }
}
