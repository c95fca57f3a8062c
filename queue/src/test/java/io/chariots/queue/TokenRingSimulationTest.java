package io.chariots.queue;

import io.chariots.common.membership.Membership;
import io.chariots.common.record.Fnv1a64;
import io.chariots.common.record.LogRecord;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Rejection;
import io.chariots.proto.Role;
import io.chariots.proto.Token;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Queues of a ring wired through a simulated network, driven by a hand clock:
 * every message is an event delivered in order (or shuffled), maintainers and
 * indexers are in-memory. Checks what the cluster tests check — dense LIds,
 * every record once, every effect after its cause — without sockets or sleeps.
 */
class TokenRingSimulationTest {
    static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    final Random random = new Random(42);
    long now = 1_000 * MS;
    final ArrayDeque<Runnable> network = new ArrayDeque<>();
    final Map<String, TokenRing> queues = new HashMap<>();
    final TreeMap<Long, RecordEnvelope> stored = new TreeMap<>();
    final Map<String, Set<Long>> storedBy = new HashMap<>();
    final List<Rejection> rejections = new ArrayList<>();
    final Set<String> downMaintainers = new HashSet<>();
    boolean shuffle;
    int tokensPassed;

    Membership view(List<String> queueAddrs, List<String> maintainers, long version) {
        MembershipView.Builder v = MembershipView.newBuilder().setEpoch(1).setVersion(version);
        long seq = 1;
        for (String q : queueAddrs) {
            v.addMembers(Member.newBuilder().setRole(Role.QUEUE).setGrpcAddress(q).setAddress(q).setJoinSeq(seq++));
        }
        for (String m : maintainers) {
            v.addMembers(Member.newBuilder().setRole(Role.MAINTAINER).setGrpcAddress(m).setAddress(m).setJoinSeq(seq++));
        }
        v.addMembers(Member.newBuilder().setRole(Role.INDEXER).setGrpcAddress("i1").setAddress("i1").setJoinSeq(seq));
        return new Membership(v.build());
    }

    TokenRing node(String self, boolean hold, QueueConfig cfg) {
        TokenRing[] holder = new TokenRing[1];
        TokenRing.Links links = new TokenRing.Links() {
            @Override
            public void passToken(String successor, Token token) {
                tokensPassed++;
                network.add(() -> {
                    long seen = queues.get(successor).onToken(token, now);
                    network.add(() -> holder[0].onPassed(token.getHop()));
                    assertThat(seen).isGreaterThanOrEqualTo(token.getHop());
                });
            }

            @Override
            public void wake(List<String> others, String from) {
                for (String q : others) {
                    network.add(() -> queues.get(q).onWake(from, now));
                }
            }

            @Override
            public void exists(List<String> indexers, long probeId, List<CauseKey> keys) {
                network.add(() -> {
                    long[] lids = new long[keys.size()];
                    for (int i = 0; i < keys.size(); i++) {
                        lids[i] = indexedLid(keys.get(i));
                    }
                    holder[0].onExists(probeId, lids, now);
                });
            }

            @Override
            public void reject(List<String> indexers, List<Rejection> r) {
                rejections.addAll(r);
            }

            @Override
            public void prepareToken(List<String> maintainers, List<String> otherQueues) {
                network.add(() -> {
                    long max = stored.isEmpty() ? 0 : stored.lastKey();
                    String owner = null;
                    for (var e : storedBy.entrySet()) {
                        if (e.getValue().contains(max)) {
                            owner = e.getKey();
                        }
                    }
                    holder[0].onTokenPrepared(max, owner, 0, now);
                });
            }

            @Override
            public void ack(Object handle) {
                ((Runnable) handle).run();
            }
        };
        TokenRing t = new TokenRing(cfg, self, links, new SimpleMeterRegistry());
        t.maintainerLink((m, id, records) -> network.add(() -> {
            if (downMaintainers.contains(m)) {
                t.onStoreFailed(m, id, "down", now);
                return;
            }
            for (RecordEnvelope r : records) {
                RecordEnvelope prev = stored.put(r.getLid(), r);
                assertThat(prev == null || prev.equals(r)).as("LId %d stored twice with different records", r.getLid()).isTrue();
                storedBy.computeIfAbsent(m, x -> new HashSet<>()).add(r.getLid());
            }
            t.onStored(m, id, now);
        }));
        holder[0] = t;
        queues.put(self, t);
        return t;
    }

    /** The indexers know what the maintainers stored (lag: none). */
    long indexedLid(CauseKey k) {
        for (RecordEnvelope r : stored.values()) {
            if (r.getSeed() == k.seed() && r.getTagHashList().contains(k.hash())) {
                return r.getLid();
            }
        }
        return 0;
    }

    void run(long forMs) {
        long end = now + forMs * MS;
        while (now < end) {
            int steps = 0;
            while (!network.isEmpty() && steps++ < 10_000) {
                if (shuffle && network.size() > 1 && random.nextInt(4) == 0) {
                    network.addLast(network.pollFirst());
                }
                network.poll().run();
            }
            now += MS;
            for (TokenRing q : queues.values()) {
                q.poll(now);
            }
        }
    }

    static RecordEnvelope record(String id, long seed, String tagValue, String causeValue) {
        LogRecord.Builder b = LogRecord.builder().id(id).seed(seed).tag("step", tagValue);
        if (causeValue != null) {
            b.prehashes(Fnv1a64.hashTag("step", causeValue));
        }
        return b.build().toEnvelope();
    }

    void checkInvariants(int expected) {
        assertThat(stored.keySet()).as("I1: LIds are exactly 1..N").containsExactlyElementsOf(
                java.util.stream.LongStream.rangeClosed(1, expected).boxed().toList());
        Set<String> ids = new HashSet<>();
        for (RecordEnvelope r : stored.values()) {
            assertThat(ids.add(r.getId())).as("I2: %s appears once", r.getId()).isTrue();
            for (long h : r.getPrehashList()) {
                long causeLid = indexedLid(new CauseKey(h, r.getSeed()));
                assertThat(causeLid).as("I3: cause of %s in the log", r.getId()).isPositive();
                assertThat(causeLid).as("I3: cause of %s before it", r.getId()).isLessThan(r.getLid());
            }
        }
    }

    @Test
    void chainsSpreadOverThreeQueuesLandDenseOnceAndInCausalOrder() {
        List<String> ring = List.of("q1", "q2", "q3");
        List<String> ms = List.of("m1", "m2", "m3");
        for (String q : ring) {
            node(q, q.equals("q1"), QueueConfig.defaults(q.equals("q1")));
        }
        Membership v = view(ring, ms, 1);
        queues.values().forEach(q -> q.onMembership(v, now));
        shuffle = true;
        int n = 0;
        int acked = 0;
        int[] acks = new int[1];
        for (int chain = 0; chain < 300; chain++) {
            long seed = random.nextLong(); // half of them above 2^63
            int len = 3 + random.nextInt(4);
            List<RecordEnvelope> links = new ArrayList<>();
            for (int i = 0; i < len; i++) {
                links.add(record("c" + chain + "-" + i, seed, "s" + i, i == 0 ? null : "s" + (i - 1)));
            }
            java.util.Collections.shuffle(links, random); // effects often arrive before causes
            for (RecordEnvelope r : links) {
                String q = ring.get(random.nextInt(ring.size()));
                queues.get(q).onEnqueue(List.of(r), (Runnable) () -> acks[0]++, now);
                n++;
            }
            if (chain % 20 == 0) {
                run(2);
            }
        }
        for (int i = 0; i < 2000; i++) {
            queues.get(ring.get(i % 3)).onEnqueue(List.of(record("plain-" + i, i, "x" + i, null)), (Runnable) () -> acks[0]++, now);
            n++;
        }
        run(500);
        acked = acks[0];
        assertThat(acked).isEqualTo(n);
        checkInvariants(n);
        assertThat(rejections).isEmpty();
        // Stripes: block b to maintainer b mod 3.
        assertThat(storedBy.get("m1")).contains(1L, 1000L, 3001L);
        assertThat(storedBy.get("m2")).contains(1001L, 2000L);
    }

    @Test
    void aCauseThatNeverComesIsRejectedAfterTheTimeoutWithoutBlockingOthers() {
        QueueConfig cfg = new QueueConfig(true, Duration.ofSeconds(2), 1000, 4, 100, 100_000, 1000, 100,
                Duration.ofMillis(20), Duration.ofMillis(20), Duration.ofMillis(200));
        TokenRing q = node("q1", true, cfg);
        q.onMembership(view(List.of("q1"), List.of("m1"), 1), now);
        run(5);
        q.onEnqueue(List.of(record("orphan", 7, "b", "never")), (Runnable) () -> { }, now);
        for (int i = 0; i < 10; i++) {
            q.onEnqueue(List.of(record("ok-" + i, 7, "v" + i, null)), (Runnable) () -> { }, now);
        }
        run(100);
        assertThat(stored).hasSize(10);
        assertThat(rejections).isEmpty();
        run(2500);
        assertThat(rejections).singleElement().satisfies(r -> {
            assertThat(r.getId()).isEqualTo("orphan");
            assertThat(r.getReason()).contains("cause timeout");
        });
        checkInvariants(10);
    }

    @Test
    void aCauseAlreadyInTheLogIsFoundThroughTheIndexers() {
        TokenRing q = node("q1", true, QueueConfig.defaults(true));
        q.onMembership(view(List.of("q1"), List.of("m1"), 1), now);
        run(5);
        q.onEnqueue(List.of(record("a", 9, "a", null)), (Runnable) () -> { }, now);
        run(10);
        // A fresh queue node that never saw "a" (as after a restart) learns it from the indexer.
        TokenRing q2 = node("q2", false, QueueConfig.defaults(false));
        Membership v = view(List.of("q1", "q2"), List.of("m1"), 2);
        q.onMembership(v, now);
        q2.onMembership(v, now);
        q2.onEnqueue(List.of(record("b", 9, "b", "a")), (Runnable) () -> { }, now);
        run(200);
        checkInvariants(2);
    }

    @Test
    void recordsForADownMaintainerWaitAndLandWhenItReturns() {
        TokenRing q = node("q1", true, QueueConfig.defaults(true));
        q.onMembership(view(List.of("q1"), List.of("m1"), 1), now);
        run(5);
        downMaintainers.add("m1");
        for (int i = 0; i < 50; i++) {
            q.onEnqueue(List.of(record("r" + i, 1, "t" + i, null)), (Runnable) () -> { }, now);
        }
        run(3000);
        assertThat(stored).isEmpty();
        assertThat(q.buffered()).isEqualTo(50);
        downMaintainers.clear();
        run(2000);
        checkInvariants(50);
    }

    @Test
    void aNewMaintainerOnlyTakesBlocksNotYetStarted() {
        TokenRing q = node("q1", true, QueueConfig.defaults(true));
        q.onMembership(view(List.of("q1"), List.of("m1"), 1), now);
        run(5);
        for (int i = 0; i < 1500; i++) {
            q.onEnqueue(List.of(record("a" + i, 1, "t" + i, null)), (Runnable) () -> { }, now);
        }
        run(10);
        q.onMembership(view(List.of("q1"), List.of("m1", "m2"), 2), now);
        for (int i = 0; i < 2000; i++) {
            q.onEnqueue(List.of(record("b" + i, 1, "u" + i, null)), (Runnable) () -> { }, now);
        }
        run(50);
        checkInvariants(3500);
        // Block 1 (LIds 1001..2000) had started on m1 and stays there; block 2 goes to m2 (2 mod 2 = 0 → m1? no: stripe starts at block 2).
        assertThat(storedBy.get("m1")).contains(1001L, 2000L);
        assertThat(storedBy.get("m2")).isNotNull();
        for (long lid : storedBy.get("m2")) {
            assertThat(lid).isGreaterThan(2000);
        }
    }

    @Test
    void backpressureDefersAcknowledgementsUntilTheBufferDrains() {
        QueueConfig cfg = new QueueConfig(true, Duration.ofSeconds(30), 1000, 1, 10, 20, 1000, 100,
                Duration.ofMillis(20), Duration.ofMillis(20), Duration.ofMillis(200));
        TokenRing q = node("q1", true, cfg);
        q.onMembership(view(List.of("q1"), List.of("m1"), 1), now);
        run(5);
        downMaintainers.add("m1");
        int[] acks = new int[1];
        for (int i = 0; i < 10; i++) {
            List<RecordEnvelope> batch = new ArrayList<>();
            for (int j = 0; j < 5; j++) {
                batch.add(record("r" + i + "-" + j, 1, "t" + i + "-" + j, null));
            }
            q.onEnqueue(batch, (Runnable) () -> acks[0]++, now);
        }
        run(100);
        assertThat(acks[0]).as("acks stop once 20 records are buffered").isLessThanOrEqualTo(4);
        downMaintainers.clear();
        run(3000);
        assertThat(acks[0]).isEqualTo(10);
        checkInvariants(50);
    }

    @Test
    void idleTokenMovesAtABoundedRate() {
        List<String> ring = List.of("q1", "q2", "q3");
        for (String q : ring) {
            node(q, q.equals("q1"), QueueConfig.defaults(q.equals("q1")));
        }
        Membership v = view(ring, List.of("m1"), 1);
        queues.values().forEach(q -> q.onMembership(v, now));
        run(50);
        int before = tokensPassed;
        run(1000);
        // Idle hold of 20 ms per hop: about 50 hops a second, not thousands.
        assertThat(tokensPassed - before).isBetween(30, 60);
    }
}
