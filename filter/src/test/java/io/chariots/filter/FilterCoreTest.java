package io.chariots.filter;

import io.chariots.common.layout.RingOwners;
import io.chariots.common.membership.Membership;
import io.chariots.proto.EnqueueReply;
import io.chariots.proto.Layout;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.RingMember;
import io.chariots.proto.Role;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * FilterCore through the parts it sends to queues, the layouts it asks for, when it acknowledges a batcher's
 * batch and what it returns from {@code poll}.
 */
class FilterCoreTest {
    private static final long MS = 1_000_000L;
    private static final long T0 = 1_000_000_000_000L;
    private static final String Q1 = "q1:7000";
    private static final String Q2 = "q2:7000";
    private static final String Q3 = "q3:7000";
    private static final String Q4 = "q4:7000";

    /** One Enqueue call. */
    private record Sent(String queue, long partId, long epoch, List<RecordEnvelope> records) {
        List<String> ids() {
            return records.stream().map(RecordEnvelope::getId).toList();
        }
    }

    private final List<Sent> sent = new ArrayList<>();
    private final List<String> fetches = new ArrayList<>();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final FilterCore core = new FilterCore(
            (queue, partId, epoch, records) -> sent.add(new Sent(queue, partId, epoch, List.copyOf(records))),
            fetches::add, 4, meters);

    private static RingMember ring(String address) {
        return RingMember.newBuilder().setAddress(address).setInstanceId("i-" + address).build();
    }

    private static Layout layout(long epoch, String... queues) {
        Layout.Builder b = Layout.newBuilder().setEpoch(epoch).setVersion(1);
        for (String q : queues) {
            b.addRing(ring(q));
        }
        return b.build();
    }

    private static String owner(String id, Layout l) {
        return RingOwners.ownerAddress(id, l.getRingList());
    }

    private static Membership view(Layout layout, String... queues) {
        MembershipView.Builder v = MembershipView.newBuilder().setEpoch(1).setVersion(1);
        for (int i = 0; i < queues.length; i++) {
            v.addMembers(Member.newBuilder().setRole(Role.QUEUE).setInstanceId("i-" + queues[i])
                    .setGrpcAddress(queues[i]).setJoinSeq(10 + i));
        }
        v.addMembers(Member.newBuilder().setRole(Role.MAINTAINER).setInstanceId("m").setGrpcAddress("m1:8000"));
        if (layout != null) {
            v.setLayout(layout);
        }
        return new Membership(v.build());
    }

    private static RecordEnvelope rec(String id) {
        return RecordEnvelope.newBuilder().setId(id).setSeed(id.hashCode()).addTagHash(id.length()).build();
    }

    private static List<RecordEnvelope> recs(int n, String prefix) {
        List<RecordEnvelope> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(rec(prefix + i));
        }
        return out;
    }

    /** An id that {@code queue} owns in {@code l}. */
    private static String ownedBy(String queue, Layout l, String prefix) {
        for (int i = 0; ; i++) {
            if (queue.equals(owner(prefix + i, l))) {
                return prefix + i;
            }
        }
    }

    private static EnqueueReply settled(Sent s) {
        return EnqueueReply.newBuilder().setStatus(EnqueueReply.Status.SETTLED).setAppended(s.records().size()).build();
    }

    private static EnqueueReply retry(long epoch) {
        return EnqueueReply.newBuilder().setStatus(EnqueueReply.Status.RETRY).setEpoch(epoch).build();
    }

    private static EnqueueReply stale(long epoch, Layout l) {
        EnqueueReply.Builder b = EnqueueReply.newBuilder().setStatus(EnqueueReply.Status.STALE_EPOCH).setEpoch(epoch);
        if (l != null) {
            b.setLayout(l);
        }
        return b.build();
    }

    private double counter(String name) {
        return meters.get(name).counter().count();
    }

    private double gauge(String name) {
        return meters.get(name).gauge().value();
    }

    private List<Sent> sentSince(int from) {
        return List.copyOf(sent.subList(from, sent.size()));
    }

    // ------------------------------------------------------------ routing and acks

    @Test
    void eachRecordGoesToItsOwnerInOnePartPerQueue() {
        Layout l = layout(3, Q1, Q2, Q3);
        core.onLayout(l, T0);
        List<RecordEnvelope> batch = recs(60, "r");
        core.onForward(batch, parked -> { }, T0);

        assertThat(sent).extracting(Sent::queue).containsExactlyInAnyOrder(Q1, Q2, Q3);
        for (Sent s : sent) {
            assertThat(s.epoch()).isEqualTo(3);
            List<String> expected = batch.stream().map(RecordEnvelope::getId).filter(id -> owner(id, l).equals(s.queue()))
                    .toList();
            assertThat(s.ids()).as("in batch order, only what %s owns", s.queue()).isEqualTo(expected);
        }
        assertThat(sent.stream().mapToInt(s -> s.records().size()).sum()).isEqualTo(60);
        assertThat(core.epoch()).isEqualTo(3);
    }

    @Test
    void theBatcherIsAnsweredOnlyOnceEveryPartIsSettled() {
        core.onLayout(layout(3, Q1, Q2, Q3), T0);
        AtomicInteger acks = new AtomicInteger();
        core.onForward(recs(60, "r"), parked -> acks.incrementAndGet(), T0);
        assertThat(core.batchesInFlight()).isEqualTo(1);
        assertThat(gauge("chariots_filter_batches_in_flight")).isEqualTo(1.0);

        core.onReply(sent.get(0).partId(), settled(sent.get(0)), T0);
        core.onReply(sent.get(1).partId(), settled(sent.get(1)), T0);
        assertThat(acks).hasValue(0);
        core.poll(T0 + 10_000 * MS);
        assertThat(acks).hasValue(0);
        assertThat(sent).as("nothing sent again while in flight").hasSize(3);

        core.onReply(sent.get(2).partId(), settled(sent.get(2)), T0);
        assertThat(acks).hasValue(1);
        assertThat(core.batchesInFlight()).isZero();
        assertThat(counter("chariots_filter_records_forwarded_total")).isEqualTo(60.0);

        // A repeated outcome changes nothing.
        core.onReply(sent.get(2).partId(), settled(sent.get(2)), T0);
        core.onFailed(sent.get(2).partId(), "late", T0);
        core.poll(T0 + 20_000 * MS);
        assertThat(acks).hasValue(1);
        assertThat(sent).hasSize(3);
        assertThat(counter("chariots_filter_records_forwarded_total")).isEqualTo(60.0);
    }

    @Test
    void eachBatchIsAnsweredByItsOwnParts() {
        Layout l = layout(3, Q1);
        core.onLayout(l, T0);
        AtomicInteger first = new AtomicInteger();
        AtomicInteger second = new AtomicInteger();
        core.onForward(recs(2, "a"), parked -> first.incrementAndGet(), T0);
        core.onForward(recs(3, "b"), parked -> second.incrementAndGet(), T0);
        assertThat(sent).hasSize(2);
        core.onReply(sent.get(1).partId(), settled(sent.get(1)), T0);
        assertThat(second).hasValue(1);
        assertThat(first).hasValue(0);
        assertThat(core.batchesInFlight()).isEqualTo(1);
    }

    @Test
    void recordsParkedAtTheirQueuesAreHandedBackWithTheAnswer() {
        core.onLayout(layout(3, Q1, Q2, Q3), T0);
        List<List<String>> answers = new ArrayList<>();
        core.onForward(recs(60, "r"), answers::add, T0);
        assertThat(sent).hasSize(3);
        // Two queues each hold one record for a cause; the third settles everything.
        String p0 = sent.get(0).ids().get(0);
        String p1 = sent.get(1).ids().get(1);
        core.onReply(sent.get(0).partId(), settled(sent.get(0)).toBuilder().addParkedIds(p0).build(), T0);
        core.onReply(sent.get(1).partId(), settled(sent.get(1)).toBuilder().addParkedIds(p1).build(), T0);
        assertThat(answers).isEmpty();
        core.onReply(sent.get(2).partId(), settled(sent.get(2)), T0);
        assertThat(answers).containsExactly(List.of(p0, p1));
        assertThat(core.batchesInFlight()).isZero();
        assertThat(counter("chariots_filter_records_forwarded_total")).as("parked records are not settled yet").isEqualTo(58.0);
    }

    @Test
    void anEmptyBatchIsAnsweredAtOnce() {
        AtomicInteger acks = new AtomicInteger();
        core.onForward(List.of(), parked -> acks.incrementAndGet(), T0);
        assertThat(acks).hasValue(1);
        assertThat(sent).isEmpty();
        assertThat(core.batchesInFlight()).isZero();
    }

    @Test
    void atMostWindowPartsAreInFlightToAQueue() {
        core.onLayout(layout(3, Q1), T0);
        for (int i = 0; i < 6; i++) {
            core.onForward(List.of(rec("x" + i)), parked -> { }, T0);
        }
        assertThat(sent).hasSize(4);
        core.onReply(sent.get(0).partId(), settled(sent.get(0)), T0);
        core.poll(T0);
        assertThat(sent).hasSize(5);
        assertThat(sent.get(4).ids()).containsExactly("x4");
    }

    // ------------------------------------------------------------ no layout yet

    @Test
    void withoutALayoutPartsWaitAndALayoutIsFetched() {
        core.onMembership(view(null, Q1, Q2), T0);
        AtomicInteger acks = new AtomicInteger();
        core.onForward(recs(10, "r"), parked -> acks.incrementAndGet(), T0);
        assertThat(sent).isEmpty();
        assertThat(core.describe()).contains("unrouted 1");

        fetches.clear();
        long next = core.poll(T0 + 1000 * MS);
        assertThat(fetches).hasSize(1);
        assertThat(next).isLessThanOrEqualTo(T0 + 1200 * MS);
        core.poll(T0 + 1100 * MS);
        assertThat(fetches).as("not before the fetch interval").hasSize(1);
        core.poll(next);
        assertThat(fetches).hasSize(2);
        assertThat(fetches).as("the view's queues in turn").containsExactlyInAnyOrder(Q1, Q2);

        Layout l = layout(2, Q1, Q2);
        core.onLayout(l, next);
        assertThat(sent).extracting(Sent::queue).containsExactlyInAnyOrder(Q1, Q2);
        assertThat(sent).allSatisfy(s -> assertThat(s.epoch()).isEqualTo(2));
        assertThat(counter("chariots_filter_records_rerouted_total")).as("never routed before").isZero();
        for (Sent s : List.copyOf(sent)) {
            core.onReply(s.partId(), settled(s), next);
        }
        assertThat(acks).hasValue(1);
        fetches.clear();
        core.poll(next + 10_000 * MS);
        assertThat(fetches).as("nothing waits for a layout").isEmpty();
    }

    @Test
    void aLayoutInTheMembershipViewRoutesTheWaitingParts() {
        core.onForward(recs(5, "r"), parked -> { }, T0);
        assertThat(sent).isEmpty();
        core.onMembership(view(layout(1, Q1), Q1), T0);
        assertThat(sent).hasSize(1);
        assertThat(sent.get(0).queue()).isEqualTo(Q1);
        assertThat(gauge("chariots_filter_epoch")).isEqualTo(1.0);
    }

    // ------------------------------------------------------------ retries

    @Test
    void aRetryGoesToTheSameQueueAfterABackoff() {
        Layout l = layout(3, Q1, Q2, Q3);
        core.onMembership(view(l, Q1, Q2, Q3), T0);
        String id = ownedBy(Q2, l, "r");
        AtomicInteger acks = new AtomicInteger();
        core.onForward(List.of(rec(id)), parked -> acks.incrementAndGet(), T0);
        Sent first = sent.get(0);
        assertThat(first.queue()).isEqualTo(Q2);

        core.onReply(first.partId(), retry(3), T0);
        long next = core.poll(T0);
        assertThat(sent).hasSize(1);
        assertThat(next).isGreaterThan(T0);
        core.poll(next - 1);
        assertThat(sent).hasSize(1);
        core.poll(next);
        assertThat(sent).hasSize(2);
        Sent again = sent.get(1);
        assertThat(again.queue()).isEqualTo(Q2);
        assertThat(again.epoch()).isEqualTo(3);
        assertThat(again.ids()).containsExactly(id);

        // The old part id is spent; the new one settles the batch.
        core.onReply(first.partId(), settled(first), next);
        assertThat(acks).hasValue(0);
        core.onReply(again.partId(), settled(again), next);
        assertThat(acks).hasValue(1);
    }

    @Test
    void aFailedCallGoesToTheSameQueueAgainNeverAnother() {
        Layout l = layout(3, Q1, Q2, Q3);
        core.onMembership(view(l, Q1, Q2, Q3), T0);
        String id = ownedBy(Q3, l, "r");
        core.onForward(List.of(rec(id)), parked -> { }, T0);
        long now = T0;
        for (int i = 0; i < 8; i++) {
            Sent s = sent.get(sent.size() - 1);
            core.onFailed(s.partId(), "UNAVAILABLE", now);
            int before = sent.size();
            long next = core.poll(now);
            while (sent.size() == before) {
                assertThat(next).isGreaterThan(now);
                now = next;
                next = core.poll(now);
            }
        }
        assertThat(sent).hasSize(9);
        assertThat(sent).allSatisfy(s -> {
            assertThat(s.queue()).isEqualTo(Q3);
            assertThat(s.epoch()).isEqualTo(3);
            assertThat(s.ids()).containsExactly(id);
        });
        assertThat(core.describe()).contains(Q3);
    }

    @Test
    void theBackoffGrowsWithFailuresInARow() {
        Layout l = layout(3, Q1);
        core.onLayout(l, T0);
        core.onForward(List.of(rec("a")), parked -> { }, T0);
        List<Long> waits = new ArrayList<>();
        long now = T0;
        for (int i = 0; i < 4; i++) {
            core.onReply(sent.get(sent.size() - 1).partId(), retry(3), now);
            long next = core.poll(now);
            waits.add(next - now);
            now = next;
            core.poll(now);
        }
        assertThat(sent).hasSize(5);
        assertThat(waits).containsExactly(20 * MS, 40 * MS, 80 * MS, 160 * MS);
    }

    @Test
    void aFailedCallAsksForALayoutAtMostEveryHalfSecond() {
        Layout l = layout(3, Q1, Q2);
        core.onMembership(view(l, Q1, Q2), T0);
        fetches.clear();
        core.onForward(recs(20, "r"), parked -> { }, T0);
        Sent a = sent.get(0);
        Sent b = sent.get(1);
        core.onFailed(a.partId(), "UNAVAILABLE", T0);
        core.onFailed(b.partId(), "UNAVAILABLE", T0 + 100 * MS);
        assertThat(fetches).hasSize(1);
        core.poll(T0 + 500 * MS);
        Sent a2 = sent.stream().filter(s -> s.queue().equals(a.queue())).reduce((x, y) -> y).orElseThrow();
        core.onFailed(a2.partId(), "UNAVAILABLE", T0 + 500 * MS);
        assertThat(fetches).hasSize(2);
    }

    @Test
    void aRetryNamingANewerEpochAsksForItsLayout() {
        Layout l = layout(3, Q1, Q2);
        core.onMembership(view(l, Q1, Q2), T0);
        fetches.clear();
        core.onForward(recs(1, "r"), parked -> { }, T0);
        // The queue knows epoch 4 but not its layout yet.
        core.onReply(sent.get(0).partId(), retry(4), T0);
        core.poll(T0);
        assertThat(fetches).hasSize(1);
        // A RETRY at the filter's own epoch asks nothing.
        core.onForward(recs(1, "s"), parked -> { }, T0);
        core.onReply(sent.get(sent.size() - 1).partId(), retry(3), T0 + 300 * MS);
        assertThat(fetches).hasSize(1);
        // Asked again at most every 200 ms, of the view's queues in turn.
        core.onForward(recs(1, "t"), parked -> { }, T0);
        core.onReply(sent.get(sent.size() - 1).partId(), retry(4), T0 + 100 * MS);
        assertThat(fetches).hasSize(1);
        core.onForward(recs(1, "u"), parked -> { }, T0);
        core.onReply(sent.get(sent.size() - 1).partId(), retry(4), T0 + 200 * MS);
        assertThat(fetches).containsExactlyInAnyOrder(Q1, Q2);
        // The part still goes to the same queue meanwhile.
        int before = sent.size();
        core.poll(T0 + 1000 * MS);
        Sent again = sent.stream().skip(before).filter(x -> x.ids().equals(sent.get(0).ids())).findFirst().orElseThrow();
        assertThat(again.queue()).isEqualTo(sent.get(0).queue());
        assertThat(again.epoch()).isEqualTo(3);
    }

    // ------------------------------------------------------------ epochs

    @Test
    void aStaleEpochWithANewerLayoutRoutesThePartAgain() {
        Layout old = layout(3, Q1, Q2);
        core.onMembership(view(old, Q1, Q2, Q3), T0);
        AtomicInteger acks = new AtomicInteger();
        List<RecordEnvelope> batch = recs(40, "r");
        core.onForward(batch, parked -> acks.incrementAndGet(), T0);
        Sent toQ1 = sent.stream().filter(s -> s.queue().equals(Q1)).findFirst().orElseThrow();
        Sent toQ2 = sent.stream().filter(s -> s.queue().equals(Q2)).findFirst().orElseThrow();
        core.onReply(toQ2.partId(), settled(toQ2), T0);

        Layout newer = layout(4, Q1, Q3);
        int from = sent.size();
        core.onReply(toQ1.partId(), stale(4, newer), T0);
        assertThat(core.epoch()).isEqualTo(4);
        List<Sent> rerouted = sentSince(from);
        assertThat(rerouted).allSatisfy(s -> {
            assertThat(s.epoch()).isEqualTo(4);
            assertThat(s.ids()).allSatisfy(id -> assertThat(owner(id, newer)).isEqualTo(s.queue()));
        });
        assertThat(rerouted.stream().flatMap(s -> s.ids().stream()).toList())
                .containsExactlyInAnyOrderElementsOf(toQ1.ids());
        assertThat(counter("chariots_filter_records_rerouted_total")).isEqualTo(toQ1.records().size());

        for (Sent s : rerouted) {
            assertThat(acks).hasValue(0);
            core.onReply(s.partId(), settled(s), T0);
        }
        assertThat(acks).hasValue(1);
    }

    @Test
    void aStaleEpochWithoutALayoutWaitsUntilOneArrives() {
        Layout old = layout(3, Q1, Q2);
        core.onMembership(view(old, Q1, Q2), T0);
        AtomicInteger acks = new AtomicInteger();
        core.onForward(recs(10, "r"), parked -> acks.incrementAndGet(), T0);
        List<Sent> parts = List.copyOf(sent);
        core.onReply(parts.get(0).partId(), stale(4, null), T0);
        fetches.clear();
        core.poll(T0);
        assertThat(fetches).hasSize(1);
        assertThat(sent).as("not sent anywhere meanwhile").hasSize(parts.size());
        core.poll(T0 + 5_000 * MS);
        assertThat(sent).hasSize(parts.size());
        assertThat(core.describe()).contains("unrouted 1");

        // A fetched layout of the same epoch does not help; a newer one routes it.
        core.onLayout(old, T0 + 5_000 * MS);
        assertThat(sent).hasSize(parts.size());
        Layout newer = layout(4, Q2);
        core.onLayout(newer, T0 + 5_000 * MS);
        List<Sent> after = sentSince(parts.size());
        assertThat(after).extracting(Sent::queue).containsOnly(Q2);
        assertThat(after).allSatisfy(s -> assertThat(s.epoch()).isEqualTo(4));
        // Both parts of epoch 3 went again: the stale one and the one still in flight.
        assertThat(after.stream().mapToInt(s -> s.records().size()).sum()).isEqualTo(10);
        for (Sent s : after) {
            core.onReply(s.partId(), settled(s), T0 + 5_000 * MS);
        }
        assertThat(acks).hasValue(1);
    }

    @Test
    void aNewerLayoutReroutesEveryUnsettledPartAndLateRepliesAreIgnored() {
        Layout old = layout(3, Q1, Q2, Q3);
        core.onLayout(old, T0);
        AtomicInteger acks = new AtomicInteger();
        core.onForward(recs(30, "a"), parked -> acks.incrementAndGet(), T0);
        for (int i = 0; i < 5; i++) {
            core.onForward(recs(3, "b" + i + "-"), parked -> acks.incrementAndGet(), T0); // beyond the windows: queued
        }
        Sent settledPart = sent.get(0);
        core.onReply(settledPart.partId(), settled(settledPart), T0);
        List<Sent> oldParts = List.copyOf(sent);
        core.onReply(sent.get(1).partId(), retry(3), T0); // backing off, queued again

        Layout newer = layout(5, Q4);
        int from = sent.size();
        core.onLayout(newer, T0 + MS);
        List<Sent> again = sentSince(from);
        assertThat(again).extracting(Sent::queue).containsOnly(Q4);
        assertThat(again).allSatisfy(s -> assertThat(s.epoch()).isEqualTo(5));
        int unsettled = 30 + 15 - settledPart.records().size();
        // Window 4: what is not in flight yet is queued for q4.
        core.poll(T0 + MS);
        for (int guard = 0; acks.get() < 6 && guard < 100; guard++) {
            List<Sent> pending = sentSince(from);
            from = sent.size();
            for (Sent s : pending) {
                core.onReply(s.partId(), settled(s), T0 + 2 * MS);
            }
            core.poll(T0 + 2 * MS);
        }
        assertThat(acks).hasValue(6);
        assertThat(counter("chariots_filter_records_rerouted_total")).isEqualTo(unsettled);
        assertThat(counter("chariots_filter_records_forwarded_total")).isEqualTo(45.0);

        // Replies for parts of epoch 3 arrive late: ignored.
        int total = sent.size();
        for (Sent s : oldParts) {
            core.onReply(s.partId(), settled(s), T0 + 3 * MS);
            core.onFailed(s.partId(), "late", T0 + 3 * MS);
        }
        core.poll(T0 + 10_000 * MS);
        assertThat(sent).hasSize(total);
        assertThat(acks).hasValue(6);
    }

    @Test
    void anOlderOrEqualLayoutIsIgnored() {
        core.onLayout(layout(5, Q1), T0);
        core.onForward(recs(3, "r"), parked -> { }, T0);
        assertThat(sent).hasSize(1);
        core.onLayout(layout(5, Q2), T0);
        core.onLayout(layout(4, Q2), T0);
        core.onMembership(view(layout(2, Q3), Q3), T0);
        assertThat(core.epoch()).isEqualTo(5);
        assertThat(sent).hasSize(1);
        core.onForward(recs(3, "s"), parked -> { }, T0);
        assertThat(sent).extracting(Sent::queue).containsOnly(Q1);
    }

    @Test
    void aNewerLayoutInAMembershipViewReroutes() {
        core.onMembership(view(layout(3, Q1), Q1, Q2), T0);
        core.onForward(recs(8, "r"), parked -> { }, T0);
        assertThat(sent).hasSize(1);
        Layout newer = layout(4, Q1, Q2);
        core.onMembership(view(newer, Q1, Q2), T0 + MS);
        List<Sent> again = sentSince(1);
        assertThat(again.stream().flatMap(s -> s.ids().stream()).toList())
                .containsExactlyInAnyOrderElementsOf(sent.get(0).ids());
        assertThat(again).allSatisfy(s -> {
            assertThat(s.epoch()).isEqualTo(4);
            assertThat(s.ids()).allSatisfy(id -> assertThat(owner(id, newer)).isEqualTo(s.queue()));
        });
    }

    // ------------------------------------------------------------ poll

    @Test
    void pollsDeadlineIsNeverLaterThanAPendingRetry() {
        core.onLayout(layout(3, Q1), T0);
        core.onForward(List.of(rec("a")), parked -> { }, T0);
        core.onReply(sent.get(0).partId(), retry(3), T0);
        long now = T0;
        long deadline = core.poll(now);
        int steps = 0;
        while (sent.size() == 1) {
            assertThat(++steps).as("steps to reach the retry").isLessThan(100);
            assertThat(deadline).isGreaterThan(now);
            core.poll(deadline - 1);
            assertThat(sent).as("retry was due before the deadline poll returned").hasSize(1);
            now = deadline;
            deadline = core.poll(now);
        }
        assertThat(now).isEqualTo(T0 + 20 * MS);
    }

    @Test
    void pollWithNothingPendingReturnsAFutureDeadline() {
        assertThat(core.poll(T0)).isGreaterThan(T0);
        core.onLayout(layout(3, Q1), T0);
        assertThat(core.poll(T0)).isGreaterThan(T0).isLessThanOrEqualTo(T0 + 1000 * MS);
    }

    @Test
    void partsOfABatchThatNoLongerHaveAnOwnerCountOnce() {
        // Records of one batch split over three queues; one part is re-routed twice before settling.
        Layout l1 = layout(3, Q1, Q2, Q3);
        core.onLayout(l1, T0);
        AtomicInteger acks = new AtomicInteger();
        core.onForward(recs(30, "r"), parked -> acks.incrementAndGet(), T0);
        Map<String, Sent> byQueue = new HashMap<>();
        for (Sent s : sent) {
            byQueue.put(s.queue(), s);
        }
        core.onReply(byQueue.get(Q1).partId(), settled(byQueue.get(Q1)), T0);
        int from = sent.size();
        core.onLayout(layout(4, Q2, Q3), T0);
        int mid = sent.size();
        core.onLayout(layout(5, Q3), T0);
        List<Sent> last = sentSince(mid);
        assertThat(last).extracting(Sent::queue).containsOnly(Q3);
        assertThat(last.stream().mapToInt(s -> s.records().size()).sum())
                .isEqualTo(30 - byQueue.get(Q1).records().size());
        for (Sent s : sentSince(from)) {
            core.onReply(s.partId(), settled(s), T0);
        }
        assertThat(acks).hasValue(1);
        assertThat(core.batchesInFlight()).isZero();
    }
}
