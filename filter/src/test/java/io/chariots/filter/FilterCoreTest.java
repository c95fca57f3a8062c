package io.chariots.filter;

import com.google.protobuf.ByteString;
import io.chariots.common.membership.Membership;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * FilterCore through what it sends to queues, what it acknowledges to
 * batchers and what it returns from {@code poll}.
 */
class FilterCoreTest {
    private static final long T0 = 1_000_000_000_000L;
    private static final long SECOND = 1_000_000_000L;

    /** One call to the queue sender. */
    private record Sent(String queue, long batchId, List<RecordEnvelope> records) {
        List<String> ids() {
            return records.stream().map(RecordEnvelope::getId).toList();
        }
    }

    private final List<Sent> sent = new ArrayList<>();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

    private FilterCore core(int dedupCapacity) {
        return new FilterCore((queue, batchId, records) -> sent.add(new Sent(queue, batchId, List.copyOf(records))),
                dedupCapacity, meters);
    }

    private static Membership queues(String... addresses) {
        MembershipView.Builder v = MembershipView.newBuilder().setEpoch(1).setVersion(1);
        // Added in reverse join order: the ring order is the join order, not the list order.
        for (int i = addresses.length - 1; i >= 0; i--) {
            v.addMembers(Member.newBuilder().setRole(Role.QUEUE).setInstanceId("queue-" + i)
                    .setAddress("main-" + addresses[i]).setGrpcAddress(addresses[i]).setJoinSeq(10 + i));
        }
        // Members of other roles are not queues.
        v.addMembers(Member.newBuilder().setRole(Role.FILTER).setInstanceId("filter").setGrpcAddress("filter-1")
                .setJoinSeq(1));
        v.addMembers(Member.newBuilder().setRole(Role.MAINTAINER).setInstanceId("m").setGrpcAddress("maintainer-1")
                .setJoinSeq(2));
        return new Membership(v.build());
    }

    private static RecordEnvelope rec(String id) {
        return RecordEnvelope.newBuilder().setId(id).setSeed(id.hashCode()).addTagHash(id.length())
                .setBody(ByteString.copyFromUtf8("body of " + id)).setTimestampMs(1234).build();
    }

    private static List<RecordEnvelope> recs(String... ids) {
        return Arrays.stream(ids).map(FilterCoreTest::rec).toList();
    }

    private double duplicates() {
        return meters.get("chariots_filter_duplicates_total").counter().count();
    }

    /**
     * Forwards one batch; if the filter sent anything, the queue takes it.
     * Returns the ids that reached a queue (empty if all were dropped).
     */
    private List<String> forwardAndSettle(FilterCore core, AtomicInteger acks, String... ids) {
        int before = sent.size();
        core.onForward(recs(ids), acks::incrementAndGet, T0);
        if (sent.size() == before) {
            return List.of();
        }
        assertThat(sent).hasSize(before + 1);
        Sent s = sent.get(before);
        core.onEnqueued(s.batchId());
        return s.ids();
    }

    @Test
    void aBatchGoesToTheQueueUnchangedAndIsAcknowledgedOnlyOnceTheQueueTookIt() {
        FilterCore core = core(100);
        core.onMembership(queues("q1"), T0);
        AtomicInteger acks = new AtomicInteger();
        List<RecordEnvelope> batch = recs("c", "a", "b");

        core.onForward(batch, acks::incrementAndGet, T0);

        assertThat(sent).hasSize(1);
        assertThat(sent.get(0).queue()).isEqualTo("q1");
        assertThat(sent.get(0).records()).containsExactlyElementsOf(batch);
        assertThat(acks).as("acknowledged before the queue took it").hasValue(0);
        core.poll(T0 + 10 * SECOND);
        assertThat(acks).hasValue(0);
        assertThat(sent).as("sent again while in flight").hasSize(1);

        core.onEnqueued(sent.get(0).batchId());
        assertThat(acks).hasValue(1);

        // A repeated outcome for the same batch changes nothing.
        core.onEnqueued(sent.get(0).batchId());
        core.onEnqueueFailed(sent.get(0).batchId(), "late", T0);
        core.poll(T0 + 100 * SECOND);
        assertThat(acks).hasValue(1);
        assertThat(sent).hasSize(1);
        assertThat(meters.get("chariots_filter_records_forwarded_total").counter().count()).isEqualTo(3.0);
    }

    @Test
    void eachBatchIsAcknowledgedByItsOwnOutcome() {
        FilterCore core = core(100);
        core.onMembership(queues("q1"), T0);
        AtomicInteger first = new AtomicInteger();
        AtomicInteger second = new AtomicInteger();
        core.onForward(recs("a"), first::incrementAndGet, T0);
        core.onForward(recs("b"), second::incrementAndGet, T0);
        assertThat(sent).hasSize(2);
        assertThat(sent.get(0).batchId()).isNotEqualTo(sent.get(1).batchId());

        core.onEnqueued(sent.get(1).batchId());
        assertThat(first).hasValue(0);
        assertThat(second).hasValue(1);
        core.onEnqueued(sent.get(0).batchId());
        assertThat(first).hasValue(1);
        assertThat(second).hasValue(1);
    }

    @Test
    void duplicatesWithinOneBatchAreDroppedAndCounted() {
        FilterCore core = core(100);
        core.onMembership(queues("q1"), T0);
        AtomicInteger acks = new AtomicInteger();

        core.onForward(recs("a", "b", "a", "c", "b", "a"), acks::incrementAndGet, T0);

        assertThat(sent).hasSize(1);
        assertThat(sent.get(0).ids()).containsExactly("a", "b", "c");
        assertThat(duplicates()).isEqualTo(3.0);
        assertThat(acks).hasValue(0);
        core.onEnqueued(sent.get(0).batchId());
        assertThat(acks).hasValue(1);
    }

    @Test
    void duplicatesAcrossBatchesAreDroppedAndCounted() {
        FilterCore core = core(100);
        core.onMembership(queues("q1"), T0);
        AtomicInteger acks = new AtomicInteger();

        assertThat(forwardAndSettle(core, acks, "a", "b")).containsExactly("a", "b");
        assertThat(forwardAndSettle(core, acks, "b", "c", "a", "d")).containsExactly("c", "d");

        assertThat(duplicates()).isEqualTo(2.0);
        assertThat(acks).hasValue(2);
    }

    @Test
    void aBatchOfOnlyDuplicatesIsAcknowledgedAtOnceWithoutSending() {
        FilterCore core = core(100);
        core.onMembership(queues("q1"), T0);
        AtomicInteger acks = new AtomicInteger();
        forwardAndSettle(core, acks, "a", "b");
        assertThat(acks).hasValue(1);
        assertThat(sent).hasSize(1);

        AtomicInteger dupAck = new AtomicInteger();
        core.onForward(recs("b", "a", "b"), dupAck::incrementAndGet, T0);

        assertThat(dupAck).hasValue(1);
        assertThat(sent).hasSize(1);
        assertThat(duplicates()).isEqualTo(3.0);
        core.poll(T0 + 10 * SECOND);
        assertThat(sent).hasSize(1);
        assertThat(dupAck).hasValue(1);
    }

    @Test
    void theDedupWindowForgetsTheOldestIdFirst() {
        FilterCore core = core(3);
        core.onMembership(queues("q1"), T0);
        AtomicInteger acks = new AtomicInteger();
        for (String id : List.of("a", "b", "c", "d")) {
            assertThat(forwardAndSettle(core, acks, id)).containsExactly(id);
        }
        // Remembered now: b, c, d.
        assertThat(forwardAndSettle(core, acks, "b")).isEmpty();
        assertThat(forwardAndSettle(core, acks, "c")).isEmpty();
        assertThat(forwardAndSettle(core, acks, "d")).isEmpty();
        assertThat(duplicates()).isEqualTo(3.0);

        assertThat(forwardAndSettle(core, acks, "a")).as("the oldest id was forgotten").containsExactly("a");
        // Remembered now: c, d, a; b was the oldest.
        assertThat(forwardAndSettle(core, acks, "c")).isEmpty();
        assertThat(forwardAndSettle(core, acks, "d")).isEmpty();
        assertThat(forwardAndSettle(core, acks, "a")).isEmpty();
        assertThat(forwardAndSettle(core, acks, "b")).containsExactly("b");
        assertThat(acks).as("every batch acknowledged").hasValue(12);
    }

    @Test
    void aDuplicateDoesNotMakeItsIdYoungerInTheWindow() {
        FilterCore core = core(3);
        core.onMembership(queues("q1"), T0);
        AtomicInteger acks = new AtomicInteger();
        forwardAndSettle(core, acks, "a", "b", "c");
        assertThat(forwardAndSettle(core, acks, "a")).isEmpty(); // seen again: stays the oldest
        assertThat(forwardAndSettle(core, acks, "d")).containsExactly("d"); // evicts a, not b

        assertThat(forwardAndSettle(core, acks, "b")).isEmpty();
        assertThat(forwardAndSettle(core, acks, "a")).containsExactly("a");
    }

    @Test
    void batchesGoRoundRobinOverTheQueuesInJoinOrder() {
        FilterCore core = core(100);
        core.onMembership(queues("q1", "q2", "q3"), T0);
        AtomicInteger acks = new AtomicInteger();
        for (int i = 0; i < 7; i++) {
            forwardAndSettle(core, acks, "r" + i);
        }
        assertThat(sent).extracting(Sent::queue).containsExactly("q1", "q2", "q3", "q1", "q2", "q3", "q1");
        assertThat(acks).hasValue(7);
    }

    @Test
    void aNewViewChangesWhereBatchesGo() {
        FilterCore core = core(100);
        core.onMembership(queues("q1", "q2"), T0);
        AtomicInteger acks = new AtomicInteger();
        forwardAndSettle(core, acks, "a");
        core.onMembership(queues("q3"), T0);
        forwardAndSettle(core, acks, "b");
        forwardAndSettle(core, acks, "c");
        assertThat(sent).extracting(Sent::queue).containsExactly("q1", "q3", "q3");
    }

    @Test
    void withoutAQueueBatchesWaitAndGoOutInOrderWhenOneAppears() {
        FilterCore core = core(100);
        AtomicInteger first = new AtomicInteger();
        AtomicInteger second = new AtomicInteger();
        core.onForward(recs("a", "b"), first::incrementAndGet, T0);
        core.onForward(recs("c"), second::incrementAndGet, T0 + 1);
        core.poll(T0 + 5 * SECOND);
        // A view with no queue in it does not help either.
        core.onMembership(new Membership(MembershipView.newBuilder().setEpoch(1).setVersion(1)
                .addMembers(Member.newBuilder().setRole(Role.FILTER).setGrpcAddress("f1")).build()), T0 + 6 * SECOND);
        core.poll(T0 + 7 * SECOND);
        assertThat(sent).isEmpty();
        assertThat(first).hasValue(0);
        assertThat(second).hasValue(0);

        core.onMembership(queues("q1"), T0 + 8 * SECOND);

        assertThat(sent).hasSize(2);
        assertThat(sent.get(0).ids()).containsExactly("a", "b");
        assertThat(sent.get(1).ids()).containsExactly("c");
        assertThat(sent).extracting(Sent::queue).containsOnly("q1");
        assertThat(first).hasValue(0);
        core.onEnqueued(sent.get(0).batchId());
        core.onEnqueued(sent.get(1).batchId());
        assertThat(first).hasValue(1);
        assertThat(second).hasValue(1);
    }

    @Test
    void aFailedBatchIsRetriedAfterABackoffOnTheNextQueueAndAcknowledgedOnlyWhenItLands() {
        FilterCore core = core(100);
        core.onMembership(queues("q1", "q2"), T0);
        AtomicInteger acks = new AtomicInteger();
        List<RecordEnvelope> batch = recs("a", "b");
        core.onForward(batch, acks::incrementAndGet, T0);
        assertThat(sent).hasSize(1);
        Sent first = sent.get(0);
        assertThat(first.queue()).isEqualTo("q1");

        core.onEnqueueFailed(first.batchId(), "q1: UNAVAILABLE", T0);
        assertThat(acks).as("a failed batch is not acknowledged").hasValue(0);
        assertThat(sent).as("not retried at once").hasSize(1);
        core.poll(T0);
        assertThat(sent).as("not retried before the backoff").hasSize(1);

        core.poll(T0 + SECOND);
        assertThat(sent).hasSize(2);
        Sent second = sent.get(1);
        assertThat(second.queue()).isEqualTo("q2");
        assertThat(second.records()).containsExactlyElementsOf(batch);
        assertThat(acks).hasValue(0);

        // Fails again: the third attempt goes round to q1.
        core.onEnqueueFailed(second.batchId(), "q2: DEADLINE_EXCEEDED", T0 + SECOND);
        core.poll(T0 + SECOND);
        assertThat(sent).hasSize(2);
        core.poll(T0 + 2 * SECOND);
        assertThat(sent).hasSize(3);
        Sent third = sent.get(2);
        assertThat(third.queue()).isEqualTo("q1");
        assertThat(third.records()).containsExactlyElementsOf(batch);
        assertThat(acks).hasValue(0);

        core.onEnqueued(third.batchId());
        assertThat(acks).hasValue(1);
        core.poll(T0 + 100 * SECOND);
        assertThat(sent).hasSize(3);
        assertThat(acks).hasValue(1);
    }

    @Test
    void outcomesForUnknownBatchesAreIgnored() {
        FilterCore core = core(100);
        core.onMembership(queues("q1"), T0);
        AtomicInteger acks = new AtomicInteger();
        core.onForward(recs("a"), acks::incrementAndGet, T0);
        long id = sent.get(0).batchId();

        core.onEnqueued(id + 1000);
        core.onEnqueueFailed(id + 1001, "who?", T0);
        core.onEnqueueFailed(-1, "who?", T0);
        core.poll(T0 + 100 * SECOND);
        assertThat(acks).hasValue(0);
        assertThat(sent).hasSize(1);

        core.onEnqueued(id);
        assertThat(acks).hasValue(1);
        // Late, after it landed: neither re-sent nor acknowledged again.
        core.onEnqueueFailed(id, "late failure", T0 + 100 * SECOND);
        core.onEnqueued(id);
        core.poll(T0 + 200 * SECOND);
        assertThat(acks).hasValue(1);
        assertThat(sent).hasSize(1);
    }

    @Test
    void pollsDeadlineIsNeverLaterThanAPendingRetry() {
        FilterCore core = core(100);
        core.onMembership(queues("q1"), T0);
        AtomicInteger acks = new AtomicInteger();
        core.onForward(recs("a"), acks::incrementAndGet, T0);
        core.onEnqueueFailed(sent.get(0).batchId(), "failed", T0);

        // Follow the deadlines poll returns. Before each deadline the retry must not be due
        // yet (else that deadline came after the retry); the retry must happen at one of them.
        long now = T0;
        long deadline = core.poll(now);
        int steps = 0;
        while (sent.size() == 1) {
            assertThat(deadline).isGreaterThan(now);
            assertThat(++steps).as("steps to reach the retry").isLessThan(100);
            core.poll(deadline - 1);
            assertThat(sent).as("retry was due before the deadline poll returned").hasSize(1);
            now = deadline;
            deadline = core.poll(now);
        }
        assertThat(sent).hasSize(2);
        assertThat(now).isBetween(T0 + 1, T0 + SECOND);
    }

    @Test
    void pollWithNothingPendingReturnsAFutureDeadline() {
        FilterCore core = core(100);
        assertThat(core.poll(T0)).isGreaterThan(T0);
        core.onMembership(queues("q1"), T0);
        assertThat(core.poll(T0)).isGreaterThan(T0);
    }

    @Test
    void theInFlightGaugeCountsWaitingAndUnacknowledgedBatches() {
        FilterCore core = core(100);
        AtomicInteger acks = new AtomicInteger();
        core.onForward(recs("a"), acks::incrementAndGet, T0);
        core.onForward(recs("b"), acks::incrementAndGet, T0);
        assertThat(gauge()).isEqualTo(2.0);
        core.onMembership(queues("q1"), T0);
        assertThat(gauge()).isEqualTo(2.0);
        core.onEnqueued(sent.get(0).batchId());
        assertThat(gauge()).isEqualTo(1.0);
        core.onEnqueueFailed(sent.get(1).batchId(), "x", T0);
        assertThat(gauge()).isEqualTo(1.0);
        core.poll(T0 + SECOND);
        core.onEnqueued(sent.get(2).batchId());
        assertThat(gauge()).isEqualTo(0.0);
    }

    private double gauge() {
        return meters.get("chariots_filter_batches_in_flight").gauge().value();
    }
}
