package io.chariots.simulation;

import io.chariots.common.record.Fnv1a64;
import io.chariots.common.record.LogRecord;
import io.chariots.proto.RecordEnvelope;
import io.chariots.queue.QueueConfig;

import java.nio.file.Path;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * One seeded run of the pipeline's cores under faults — FoundationDB-style
 * deterministic simulation. Clients append records (10% in causal chains
 * whose links go through different filters, effects often before causes)
 * and resend with the same ids whatever is not acknowledged; meanwhile, one
 * at a time, a random queue, filter, maintainer or indexer crashes and
 * restarts or pauses and resumes, and messages are delayed, reordered and
 * lost. Then every fault heals, and the log is read whole and checked:
 *
 * <ul>
 * <li><b>I1</b>: LIds 1..N each hold exactly one record or one hole; holes only after a fault;</li>
 * <li><b>I2</b>: every acknowledged record is in the log exactly once (or rejected for good); no record twice;</li>
 * <li><b>I3</b>: every effect is after a record carrying its cause;</li>
 * <li><b>I4</b>: another datacenter's records (sent out of order, some twice, some caused by records of
 *     this one) are each in the log once, in their origin order;</li>
 * <li><b>TOIds</b>: increasing with the LId from 1, skipping one only where an LId became a hole;</li>
 * <li>no LId was ever offered two different records (write-once held without refusing anything);</li>
 * <li>appends resumed: every record sent was acknowledged after the faults healed.</li>
 * </ul>
 *
 * The same seed gives the same run, event for event.
 */
public final class Simulation {
    /** What a run was asked to do. */
    public record Config(int queues, int filters, int maintainers, int indexers, int records, long durationMs,
                         boolean faults, double loss) {
        /** The long run: 3,000 records over 20 simulated seconds, faults one at a time, 0.2% of messages lost. */
        public static Config defaults() {
            return new Config(3, 2, 2, 2, 3000, 20_000, true, 0.002);
        }

        /** The suite's run: the same cluster, one fault, 300 records over 6 simulated seconds. */
        public static Config ci() {
            return new Config(3, 2, 2, 2, 300, 6_000, true, 0.002);
        }
    }

    /** What a run found; {@link #violations} empty means every invariant held. */
    public record Result(long seed, List<String> violations, int records, long lids, long holes, int faults,
                         long recoveries, int keptMemories, int wholeMemories, int queuesNeverInRing, long messages, long lost,
                         long longestStallMs, List<String> faultLog, long digest, long ringChangesPutOff,
                         long maintainersLeftOut) {
        public boolean ok() {
            return violations.isEmpty();
        }

        @Override
        public String toString() {
            return "seed " + seed + ": " + (ok() ? "ok" : "VIOLATED " + violations) + " — " + records + " records, "
                    + lids + " LIds (" + holes + " holes), " + faults + " faults, " + recoveries + " new epochs, "
                    + keptMemories + " dedup memories kept at clean stops (" + wholeMemories + " found whole), "
                    + messages + " messages (" + lost + " lost), longest stall " + longestStallMs + " ms"
                    + (ok() ? "" : "\nfaults: " + faultLog + "\nreplay: ./chariots simulate --from " + seed
                    + " --seeds 1 --log INFO");
        }
    }

    private static final boolean TRACE = Boolean.getBoolean("sim.trace");
    private final long seed;
    private final Config config;
    private final SimNet net;
    private final Cluster cluster;
    private final SimNet.Node client;
    private final Path dir;
    private long startMs;
    private final List<List<RecordEnvelope>> batches = new ArrayList<>();
    /** The datacenter of origin of the records the workload adds as another datacenter's link would. */
    static final int REMOTE = 1;
    private long remoteLast;
    private final Set<Long> remoteHoles = new HashSet<>();
    private final Map<Integer, Boolean> acked = new HashMap<>();
    private final Map<Integer, Integer> inFlightAt = new HashMap<>();
    private final List<String> faultLog = new ArrayList<>();
    private final List<Fault> faultList = new ArrayList<>();
    // Append stalls: intervals (ms) during which a live queue had records ready for LIds and none got one.
    private final List<long[]> stalls = new ArrayList<>();
    private long stallSinceMs = -1;
    private long assignedSeen = -1;
    private int faults;
    private List<Scripted> script;
    private long retryAllAtMs = -1;
    // Per batch: when it was first sent and when it was acknowledged (simulated ms).
    private final Map<Integer, Long> firstSentAt = new HashMap<>();
    private final Map<Integer, Long> ackedAt = new HashMap<>();

    /** One injected fault: what, where, when (ms) and for how long. */
    record Fault(long atMs, String kind, boolean crash, boolean clean, String target, long lastsMs) {
        String what() {
            return verb() + kind;
        }

        String verb() {
            return clean ? "clean stop " : crash ? "crash " : "pause ";
        }

        /**
         * The longest append stall allowed after it: 5 s after a crash (a new
         * token, a new stripe); after a pause, at most the pause itself (plus
         * a second to settle).
         */
        long allowedStallMs() {
            return crash ? STALL_AFTER_CRASH_MS : lastsMs + 1_000;
        }
    }

    /**
     * A fault at a set time, instead of the seeded random ones: {@code kind}
     * is queue, filter, maintainer or indexer; {@code index} picks the
     * instance (in name order); {@code clean}, a queue's clean stop (SIGTERM: it leaves the ring and keeps its
     * dedup memory, then is down for {@code lastsMs}).
     */
    public record Scripted(long atMs, String kind, int index, boolean crash, boolean clean, long lastsMs) {
        /** A crash ({@code crash}) or a pause, not a clean stop. */
        public Scripted(long atMs, String kind, int index, boolean crash, long lastsMs) {
            this(atMs, kind, index, crash, false, lastsMs);
        }

        public Scripted {
            if (clean && !(crash && kind.equals("queue"))) {
                throw new IllegalArgumentException("only a queue stops cleanly, and a clean stop takes it down");
            }
        }
    }

    /** How long a clean stop may take to leave the ring before the process is killed (a role's drain time). */
    private static final long STOP_DRAIN_MS = 20_000;

    /** Appends resume within this of a crash (the issue's bound for a killed token holder). */
    static final long STALL_AFTER_CRASH_MS = 5_000;

    public Simulation(long seed, Config config) {
        this.seed = seed;
        this.config = config;
        this.net = new SimNet(seed);
        net.loss = config.loss();
        QueueConfig qc = QueueConfig.defaults(true);
        this.dir = Path.of("sim-" + seed + "-" + Long.toHexString(net.random.nextLong())); // names the in-memory stores
        this.cluster = new Cluster(net, config.queues(), config.filters(), config.maintainers(), config.indexers(), qc, dir);
        this.client = net.node("client");
    }

    /** Injects exactly these faults (and no random ones); call before {@link #run}. */
    public Simulation script(List<Scripted> faults) {
        this.script = List.copyOf(faults);
        return this;
    }

    /**
     * At {@code atMs} into the run, every batch sent so far is sent again as
     * a new one, acknowledged or not: clients that retry everything (their
     * acknowledgements lost, say). Every copy must find its record.
     */
    public Simulation retryAllAt(long atMs) {
        this.retryAllAtMs = atMs;
        return this;
    }

    /** How long batches waited for their acknowledgement: the longest, over how many batches. */
    public record AckWaits(long longestMs, int batches) {
    }

    /**
     * After {@link #run}: the longest any batch of records in no causal chain
     * (so none waits for a cause), first sent between {@code fromMs} and
     * {@code toMs} after the start, waited for its acknowledgement; one never
     * acknowledged counts until the run ended.
     */
    public AckWaits ackWaitsOfUnchainedBatches(long fromMs, long toMs) {
        long longest = 0;
        int n = 0;
        for (Map.Entry<Integer, Long> e : firstSentAt.entrySet()) {
            long sent = e.getValue() - startMs;
            // A chain, or another datacenter's records (in origin order: each waits for the one before).
            boolean chained = batches.get(e.getKey()).stream().anyMatch(r -> r.getId().startsWith("c") || r.getHost() == REMOTE);
            if (sent >= fromMs && sent <= toMs && !chained) {
                long w = ackedAt.getOrDefault(e.getKey(), net.nowMs()) - e.getValue();
                longest = Math.max(longest, w);
                n++;
            }
        }
        return new AckWaits(longest, n);
    }

    /** Runs the scenario and checks the log; removes its stores after. */
    public Result run() {
        try {
            return runAndCheck();
        } finally {
            cluster.close();
        }
    }

    private Result runAndCheck() {
        buildWorkload();
        startMs = net.nowMs();
        long start = startMs;
        long end = start + config.durationMs();
        // The records go out over the first two thirds of the run.
        for (int i = 0; i < batches.size(); i++) {
            int b = i;
            net.at(start + 500 + (long) i * (config.durationMs() * 2 / 3) / batches.size(), () -> send(b));
        }
        if (retryAllAtMs >= 0) {
            net.at(start + retryAllAtMs, () -> {
                for (int b = 0, n = batches.size(); b < n; b++) {
                    batches.add(List.copyOf(batches.get(b)));
                    send(batches.size() - 1);
                }
            });
        }
        if (script != null) {
            for (Scripted f : script) {
                net.at(start + f.atMs(), () -> {
                    List<String> names = new ArrayList<>(instancesOf(f.kind()));
                    Collections.sort(names);
                    inject(f.kind(), f.crash(), f.clean(), names.get(f.index()), f.lastsMs());
                });
            }
        } else if (config.faults()) {
            scheduleFault(start + 1_000 + net.random.nextInt(2_000), end - 3_000);
        }
        net.run(end, this::tick);
        // Heal: no more loss; everything up; wait until every batch is acknowledged and the other datacenter's
        // records are all in the log. Its link ships again from this log's mark for its origin whenever that mark
        // has not moved for 2 s (as OriginShipper does, whatever was acknowledged: a queue answers a link's resend
        // at once while its first copy is on its way, and that first copy may be dropped by a later epoch change).
        net.loss = 0;
        long deadline = net.nowMs() + 120_000;
        long shippedAt = net.nowMs();
        long checkedAt = net.nowMs();
        long lastMark = -1;
        while (net.nowMs() < deadline) {
            boolean answered = acked.size() == batches.size();
            if (answered || net.nowMs() - checkedAt >= 2_000) {
                long mark = remoteMark(); // reads the whole log: once every batch is answered, else every 2 s
                if (mark >= remoteLast) {
                    if (answered) {
                        break;
                    }
                } else if (net.nowMs() - shippedAt >= 2_000 && (answered || mark == lastMark)) {
                    shipRemoteAbove(mark);
                    shippedAt = net.nowMs();
                }
                if (!answered) {
                    lastMark = mark;
                    checkedAt = net.nowMs();
                }
            }
            net.run(net.nowMs() + 100, this::tick);
        }
        return check();
    }

    /** Origin {@value #REMOTE}'s mark in this log: the highest TOId up to which it holds every one (record or hole). */
    private long remoteMark() {
        Set<Long> toids = new HashSet<>();
        for (SimMaintainer m : cluster.maintainers.values()) {
            for (RecordEnvelope r : m.all()) {
                if (r.getHost() == REMOTE && r.getToid() != 0) {
                    toids.add(r.getToid());
                }
            }
        }
        long mark = 0;
        while (toids.contains(mark + 1)) {
            mark++;
        }
        return mark;
    }

    /**
     * As a link's shipper does, which goes by the marks and not by answers (a
     * queue answers a resend of another datacenter's record at once, while
     * its first copy may still be lost with a filter and an epoch change):
     * its records above the mark are sent again.
     */
    private void shipRemoteAbove(long mark) {
        Map<Long, RecordEnvelope> again = new TreeMap<>();
        for (List<RecordEnvelope> b : batches) {
            for (RecordEnvelope r : b) {
                if (r.getHost() == REMOTE && r.getToid() > mark) {
                    again.putIfAbsent(r.getToid(), r);
                }
            }
        }
        if (!again.isEmpty()) {
            batches.add(List.copyOf(again.values()));
            send(batches.size() - 1);
        }
    }

    private void tick() {
        cluster.tick();
        if (TRACE && net.nowMs() % 1000 == 0) {
            long lids = 0;
            for (SimMaintainer m : cluster.maintainers.values()) {
                lids += m.stats().getStored();
            }
            System.out.println("t=" + net.nowMs() + " lids " + lids + " acked " + acked.size() + "/" + batches.size()
                    + " " + cluster.describe());
        }
        if (net.nowMs() % 200 == 0) {
            rerouteFromDeadFilters();
        }
        if (net.nowMs() % 10 == 0) {
            watchStalls();
        }
    }

    /**
     * Appends stall while a live queue holds records whose causes are met
     * (ready for an LId) and no queue gives out any LId: what a user sees as
     * "appends stopped" (records waiting for a cause are not stalled).
     */
    private void watchStalls() {
        long assigned = 0;
        boolean pending = false;
        for (SimQueue q : cluster.queues.values()) {
            assigned += q.metrics.assignedTotal();
            pending |= q.node.life == SimNet.Life.UP && q.ring.gate().readyCount() > 0;
        }
        boolean progress = assigned != assignedSeen;
        assignedSeen = assigned;
        if (progress || !pending) {
            if (stallSinceMs >= 0 && net.nowMs() - stallSinceMs > 10) {
                stalls.add(new long[] {stallSinceMs, net.nowMs()});
            }
            stallSinceMs = -1;
        } else if (stallSinceMs < 0) {
            stallSinceMs = net.nowMs();
        }
    }

    // ------------------------------------------------------------ workload

    private void buildWorkload() {
        List<RecordEnvelope> records = new ArrayList<>();
        int chains = 0;
        for (int i = 0; records.size() < config.records(); i++) {
            long seedValue = net.random.nextLong();
            if (i % 10 == 0) {
                List<RecordEnvelope> chain = new ArrayList<>();
                for (int link = 0; link < 3; link++) {
                    LogRecord.Builder b = LogRecord.builder().id("c" + chains + "-" + link).seed(seedValue)
                            .tag("step", "c" + chains + "-" + link);
                    if (link > 0) {
                        b.prehashes(Fnv1a64.hashTag("step", "c" + chains + "-" + (link - 1)));
                    }
                    chain.add(b.build().toEnvelope());
                }
                chains++;
                Collections.shuffle(chain, net.random); // effects often before their causes
                records.addAll(chain);
            } else {
                records.add(LogRecord.builder().id("r" + i).seed(seedValue).tag("k", "v" + i).build().toEnvelope());
            }
        }
        // Records of another datacenter (origin 1) as its link delivers them: TOIds 1..K, a fifth of them copied
        // again (resends), every fifth caused by a local record without cause, some with the id of a local record
        // (an id is unique only at its origin).
        List<RecordEnvelope> local = List.copyOf(records);
        int k = config.records() / 10;
        for (long toid = 1; toid <= k; toid++) {
            if (toid % 13 == 0) {
                // A TOId its origin gave with an LId that became a hole there: its link sends the hole.
                RecordEnvelope hole = RecordEnvelope.newBuilder().setHost(REMOTE).setToid(toid).setHole(true).build();
                records.add(hole);
                remoteHoles.add(toid);
                continue;
            }
            RecordEnvelope.Builder b = LogRecord.builder().id(toid % 7 == 0 ? "r" + (toid * 10 + 1) : "x" + toid)
                    .seed(net.random.nextLong()).tag("origin1", "t" + toid).build().toEnvelope().toBuilder()
                    .setHost(REMOTE).setToid(toid).setOriginLid(toid * 2 + 5);
            if (toid % 5 == 0) {
                RecordEnvelope cause = local.get(net.random.nextInt(local.size()));
                if (cause.getPrehashCount() == 0) {
                    b.setSeed(cause.getSeed()).addPrehash(cause.getTagHash(0));
                }
            }
            RecordEnvelope r = b.build();
            records.add(r);
            remoteLast = k; // the last TOId, record or hole
            if (net.random.nextInt(5) == 0) {
                records.add(r);
            }
        }
        // Batches of 1..40, each to one filter; the links of a chain land in different batches.
        Collections.shuffle(records.subList(0, records.size()), new java.util.Random(seed));
        for (int from = 0; from < records.size(); ) {
            int n = 1 + net.random.nextInt(40);
            batches.add(List.copyOf(records.subList(from, Math.min(records.size(), from + n))));
            from += n;
        }
    }

    private void send(int batch) {
        if (acked.containsKey(batch)) {
            return;
        }
        firstSentAt.putIfAbsent(batch, net.nowMs());
        List<SimFilter> fs = new ArrayList<>(cluster.filters.values());
        SimFilter f = fs.get(net.random.nextInt(fs.size()));
        inFlightAt.put(batch, fs.indexOf(f));
        net.call(client, f.node, 60_000, (SimNet.Reply<List<String>> r) -> f.forward(batches.get(batch), r), parked -> {
            if (acked.putIfAbsent(batch, Boolean.TRUE) == null && !parked.isEmpty()) {
                // As the batcher does: records parked at their queue (waiting for a cause) are kept, and sent
                // again a second later until a copy is answered settled.
                Set<String> ids = new HashSet<>(parked);
                List<RecordEnvelope> again = batches.get(batch).stream().filter(r -> ids.contains(r.getId())).toList();
                batches.add(again);
                int resend = batches.size() - 1;
                net.after(1_000, () -> send(resend));
            }
            ackedAt.putIfAbsent(batch, net.nowMs());
            inFlightAt.remove(batch);
        }, why -> {
            if (inFlightAt.containsKey(batch)) {
                inFlightAt.remove(batch);
                net.after(50, () -> send(batch)); // as the batcher does: the same records again, elsewhere
            }
        });
    }

    /** As the batcher does: a batch in flight to a filter that crashed or went silent is sent to another. */
    private void rerouteFromDeadFilters() {
        List<SimFilter> fs = new ArrayList<>(cluster.filters.values());
        for (Map.Entry<Integer, Integer> e : List.copyOf(inFlightAt.entrySet())) {
            SimFilter f = fs.get(e.getValue());
            if (f.node.life != SimNet.Life.UP && !acked.containsKey(e.getKey())) {
                inFlightAt.remove(e.getKey());
                send(e.getKey());
            }
        }
    }

    // ------------------------------------------------------------ faults

    private void scheduleFault(long at, long lastStart) {
        if (at > lastStart) {
            return;
        }
        net.at(at, () -> {
            List<String> kinds = List.of("queue", "filter", "maintainer", "indexer");
            String kind = kinds.get(net.random.nextInt(kinds.size()));
            boolean crash = net.random.nextBoolean();
            long lasts = crash ? 200 + net.random.nextInt(4_000) : 500 + net.random.nextInt(7_000);
            String target = pick(instancesOf(kind));
            // Half the queues' crashes are clean stops (SIGTERM): it leaves the ring and keeps its dedup memory.
            boolean clean = crash && kind.equals("queue") && net.random.nextBoolean();
            inject(kind, crash, clean, target, lasts);
            scheduleFault(net.nowMs() + lasts + 1_000 + net.random.nextInt(3_000), lastStart);
        });
    }

    private void inject(String kind, boolean crash, boolean clean, String target, long lasts) {
        SimNet.Node n = net.node(target);
        faults++;
        Fault fault = new Fault(net.nowMs(), kind, crash, clean, target, lasts);
        faultList.add(fault);
        faultLog.add("t=" + net.nowMs() + " " + fault.verb() + target + " for " + lasts + " ms");
        if (clean) {
            // Down once it has left the ring (its memory kept), or killed after a real queue's drain time.
            SimQueue q = cluster.queue(target);
            boolean[] down = new boolean[1];
            Runnable stop = () -> {
                if (!down[0] && n.life != SimNet.Life.DOWN) {
                    down[0] = true;
                    net.crash(n);
                    net.after(lasts, () -> restart(kind, target));
                }
            };
            q.stopCleanly(stop);
            int stopping = n.incarnation; // the drain timer concerns this incarnation only
            net.after(STOP_DRAIN_MS, () -> {
                if (!down[0] && n.incarnation == stopping) {
                    faultLog.add("t=" + net.nowMs() + " " + target + " did not leave the ring in " + STOP_DRAIN_MS + " ms: killed");
                    q.abandonStop();
                    stop.run();
                }
            });
        } else if (crash) {
            net.crash(n);
            net.after(lasts, () -> restart(kind, target));
        } else {
            net.pause(n);
            net.after(lasts, () -> net.resume(n));
        }
    }

    private Set<String> instancesOf(String kind) {
        return switch (kind) {
            case "queue" -> cluster.queues.keySet();
            case "filter" -> cluster.filters.keySet();
            case "maintainer" -> cluster.maintainers.keySet();
            default -> cluster.indexers.keySet();
        };
    }

    private String pick(Set<String> names) {
        List<String> l = new ArrayList<>(names);
        return l.get(net.random.nextInt(l.size()));
    }

    private void restart(String kind, String target) {
        SimNet.Node n = net.node(target);
        net.restart(n);
        switch (kind) {
            case "queue" -> cluster.queue(target).start();
            case "filter" -> cluster.filters.get(target).start();
            case "maintainer" -> cluster.maintainer(target).restart(); // its store reopened; its feeder starts afresh
            default -> {
                // an indexer keeps its index
            }
        }
        cluster.pushView();
    }

    // ------------------------------------------------------------ checks

    /** What identifies a record in this log: its id, or another datacenter's origin and TOId. */
    private static String keyOf(RecordEnvelope r) {
        return r.getHost() == REMOTE ? REMOTE + "/" + r.getToid() : r.getId();
    }

    private boolean rejected(String id) {
        for (SimIndexer ix : cluster.indexers.values()) {
            if (!ix.index.idStatus(id).getRejected().isEmpty()) {
                return true;
            }
        }
        return false;
    }

    /** Longest stall allowed without a fault: the token goes round in milliseconds. */
    static final long FAIR_WEATHER_STALL_MS = 1_000;

    private Result check() {
        List<String> v = new ArrayList<>();
        int sent = 0;
        for (List<RecordEnvelope> b : batches) {
            sent += b.size();
        }
        if (acked.size() < batches.size()) {
            v.add("appends did not resume: " + (batches.size() - acked.size()) + " of " + batches.size()
                    + " batches never acknowledged after the faults healed; " + cluster.describe());
        }
        TreeMap<Long, RecordEnvelope> log = new TreeMap<>();
        long conflicts = 0;
        for (SimMaintainer m : cluster.maintainers.values()) {
            conflicts += m.conflicts;
            for (RecordEnvelope r : m.all()) {
                if (log.put(r.getLid(), r) != null) {
                    v.add("LId " + r.getLid() + " stored by two maintainers");
                }
            }
        }
        if (conflicts > 0) {
            v.add(conflicts + " store(s) offered a different record for a written LId");
        }
        long n = log.isEmpty() ? 0 : log.lastKey();
        long holes = 0;
        for (long l = 1; l <= n; l++) {
            RecordEnvelope r = log.get(l);
            if (r == null) {
                v.add("I1: LId " + l + " of 1.." + n + " holds neither a record nor a hole");
                break;
            }
            if (r.getHole() && r.getToid() == 0) {
                holes++; // (a hole with a TOId is another datacenter's: its fault, not ours)
            }
        }
        if (holes > 0 && faults == 0) {
            v.add("I1: " + holes + " holes without any fault");
        }
        // TOIds (every record here originates in this datacenter): increasing with the LId, 1, 2, 3… with a gap
        // only where an LId given with a TOId became a hole.
        long lastToid = 0;
        long toidGaps = 0;
        long lastRemote = 0;
        for (RecordEnvelope r : log.values()) {
            if (r.getHost() == REMOTE && r.getToid() != 0) {
                // I4: the other datacenter's TOIds in their origin order, each once, none skipped: a TOId hole is
                // stored as a hole carrying it, where it falls in that order.
                long expected = lastRemote + 1;
                if (r.getToid() != expected || r.getHole() != remoteHoles.contains(expected)) {
                    v.add("I4: origin " + REMOTE + "'s TOId " + r.getToid() + " at LId " + r.getLid() + " follows TOId "
                            + lastRemote);
                    break;
                }
                lastRemote = r.getToid();
                continue;
            }
            if (r.getHole()) {
                continue;
            }
            if (Long.compareUnsigned(r.getToid(), lastToid) <= 0) {
                v.add("TOId: " + r.getId() + " at LId " + r.getLid() + " has TOId " + r.getToid() + ", not above "
                        + lastToid + " of the record before it");
                break;
            }
            toidGaps += r.getToid() - lastToid - 1;
            lastToid = r.getToid();
        }
        if (lastRemote != remoteLast && v.stream().noneMatch(x -> x.startsWith("I4"))) {
            v.add("I4: origin " + REMOTE + "'s records end at TOId " + lastRemote + ", not " + remoteLast);
        }
        if (toidGaps > holes) {
            v.add("TOId: " + toidGaps + " TOIds skipped, more than the " + holes + " hole(s)");
        }
        Map<String, Long> where = new LinkedHashMap<>();
        Map<String, Long> lowestCause = new HashMap<>();
        for (RecordEnvelope r : log.values()) {
            if (r.getHole()) {
                continue;
            }
            Long had = where.put(keyOf(r), r.getLid());
            if (had != null) {
                v.add("I2: " + keyOf(r) + " appended twice, at LIds " + had + " and " + r.getLid());
            }
            for (long h : r.getTagHashList()) {
                lowestCause.merge(h + "/" + r.getSeed(), r.getLid(), Math::min);
            }
        }
        Set<String> ackedIds = new HashSet<>();
        for (Integer b : acked.keySet()) {
            for (RecordEnvelope r : batches.get(b)) {
                if (!r.getHole()) { // a TOId hole is checked with the origin's order below
                    ackedIds.add(keyOf(r));
                }
            }
        }
        for (String id : ackedIds) {
            if (!where.containsKey(id) && !rejected(id)) {
                v.add("I2: " + id + " was acknowledged but is not in the log (nor rejected)");
            }
        }
        for (RecordEnvelope r : log.values()) {
            if (r.getHole()) {
                continue;
            }
            for (long h : r.getPrehashList()) {
                Long cause = lowestCause.get(h + "/" + r.getSeed());
                if (cause == null || cause >= r.getLid()) {
                    v.add("I3: " + r.getId() + " at LId " + r.getLid() + " has no cause before it ("
                            + (cause == null ? "none in the log" : "cause at " + cause) + ")");
                }
            }
        }
        if (Boolean.getBoolean("sim.explain")) {
            for (List<RecordEnvelope> b : batches) {
                for (RecordEnvelope r : b) {
                    if (rejected(r.getId())) {
                        StringBuilder sb = new StringBuilder("rejected " + r.getId() + ";");
                        String chain = r.getId().substring(0, r.getId().lastIndexOf('-'));
                        for (int link = 0; link < 3; link++) {
                            String id = chain + "-" + link;
                            sb.append(' ').append(id).append(where.containsKey(id) ? "@" + where.get(id)
                                    : rejected(id) ? " rejected" : " absent");
                        }
                        System.out.println(sb);
                    }
                }
            }
        }
        long longestStallMs = 0;
        for (long[] st : stalls) {
            long length = st[1] - st[0];
            longestStallMs = Math.max(longestStallMs, length);
            // Allowed: what the faults under way or just over allow (one may have left work to recover), else the
            // fair-weather bound (a lost message costs a retry).
            long allowed = FAIR_WEATHER_STALL_MS;
            Fault blamed = null;
            for (Fault f : faultList) {
                // A fault that struck during a stall (a lost message being retried, say) extends it: the stall
                // may last up to the fair-weather bound before the fault plus what the fault allows.
                long lead = Math.max(0, f.atMs() - st[0]);
                if (f.atMs() <= st[1] && lead <= FAIR_WEATHER_STALL_MS
                        && st[0] <= f.atMs() + f.lastsMs() + STALL_AFTER_CRASH_MS
                        && lead + f.allowedStallMs() >= allowed) {
                    allowed = lead + f.allowedStallMs();
                    blamed = f;
                }
            }
            if (length > allowed) {
                v.add("appends stalled " + length + " ms from t=" + st[0] + (blamed == null ? " without a fault"
                        : " after the " + blamed.what() + " of " + blamed.target() + " at t=" + blamed.atMs() + " ("
                        + blamed.lastsMs() + " ms)") + "; at most " + allowed + " ms allowed");
            }
        }
        long recoveries = 0;
        long putOff = 0;
        long leftOut = 0;
        int kept = 0;
        int whole = 0;
        int neverInRing = 0;
        for (SimQueue q : cluster.queues.values()) {
            recoveries += q.metrics.recoveries();
            putOff += q.metrics.ringChangesPutOff();
            leftOut += q.metrics.maintainersLeftOut();
            kept += q.keptMemories;
            whole += q.wholeMemories + (q.ring.keptMemoryWhole() ? 1 : 0);
            neverInRing += q.node.life == SimNet.Life.UP && !q.ring.everInRing() ? 1 : 0;
        }
        // The run's fingerprint: the log (which record or hole at which LId) and the messages it took.
        long digest = net.messages * 31 + net.lost;
        for (RecordEnvelope r : log.values()) {
            digest = digest * 1_000_003 + r.getLid() * 31 + (r.getHole() ? 1 : r.getId().hashCode());
        }
        return new Result(seed, v.size() > 20 ? v.subList(0, 20) : v, sent, n, holes, faults, recoveries, kept, whole, neverInRing,
                net.messages, net.lost, longestStallMs, faultLog, digest, putOff, leftOut);
    }

    /** What a range of seeds found. */
    public record Summary(int seeds, List<Result> failed, long longestStallMs, long holes, long faults, long keptMemories,
                          long wholeMemories, double seconds) {
        public boolean ok() {
            return failed.isEmpty();
        }

        @Override
        public String toString() {
            return String.format("%d seeds, %d failed, %d faults, %d holes, longest append stall %d ms, %d dedup memories"
                    + " kept at queues' clean stops (%d found whole), %.1f s", seeds, failed.size(), faults, holes,
                    longestStallMs, keptMemories, wholeMemories, seconds);
        }
    }

    /**
     * Runs seeds {@code from .. from + count - 1} on {@code threads} threads
     * (each run is single-threaded and independent, so the outcome of a seed
     * does not depend on the others), handing each result to {@code each}
     * (from any of those threads).
     */
    public static Summary runSeeds(long from, int count, Config config, int threads,
                                   java.util.function.Consumer<Result> each) {
        long t0 = System.nanoTime();
        List<Result> failed = Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.atomic.AtomicLong next = new java.util.concurrent.atomic.AtomicLong(from);
        java.util.concurrent.atomic.AtomicLong stall = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong holes = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong faults = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong kept = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong whole = new java.util.concurrent.atomic.AtomicLong();
        Runnable worker = () -> {
            for (long s = next.getAndIncrement(); s < from + count; s = next.getAndIncrement()) {
                Result r = new Simulation(s, config).run();
                stall.accumulateAndGet(r.longestStallMs(), Math::max);
                holes.addAndGet(r.holes());
                faults.addAndGet(r.faults());
                kept.addAndGet(r.keptMemories());
                whole.addAndGet(r.wholeMemories());
                if (!r.ok()) {
                    failed.add(r);
                }
                each.accept(r);
            }
        };
        List<Thread> ts = new ArrayList<>();
        for (int i = 0; i < Math.max(1, threads); i++) {
            Thread t = new Thread(worker, "simulation-" + i);
            t.start();
            ts.add(t);
        }
        for (Thread t : ts) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        List<Result> sorted = new ArrayList<>(failed);
        sorted.sort(java.util.Comparator.comparingLong(Result::seed));
        return new Summary(count, sorted, stall.get(), holes.get(), faults.get(), kept.get(), whole.get(),
                (System.nanoTime() - t0) / 1e9);
    }
}
