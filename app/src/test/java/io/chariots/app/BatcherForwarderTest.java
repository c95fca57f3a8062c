package io.chariots.app;

import com.google.protobuf.ByteString;
import io.chariots.common.grpc.MessageLimits;
import io.chariots.common.membership.Membership;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class BatcherForwarderTest {
    private static final long MS = 1_000_000L;

    /** One call to a batcher, as the forwarder made it. */
    private record Call(String batcher, long id, List<RecordEnvelope> records) {
    }

    private final List<Call> calls = new ArrayList<>();
    private final List<String> answers = new ArrayList<>();
    private final BatcherForwarder forwarder = new BatcherForwarder(
            new AppConfig(Duration.ofMillis(1), 1000, 50_000, 64L << 20, 1 << 20, 10_000, Duration.ofSeconds(10), Duration.ofSeconds(10), 1000,
                    Duration.ofSeconds(5)),
            (batcher, id, records) -> calls.add(new Call(batcher, id, records)));

    private static Membership batchers(String... addresses) {
        MembershipView.Builder v = MembershipView.newBuilder();
        for (String a : addresses) {
            v.addMembers(Member.newBuilder().setRole(Role.BATCHER).setGrpcAddress(a));
        }
        return new Membership(v.build());
    }

    private void append(String id, long now) {
        append(id, List.of(RecordEnvelope.newBuilder().setId(id).build()), now);
    }

    /** A request of {@code n} records of {@code mib} MiB each, ids {@code id-0}… */
    private void appendLarge(String id, int n, int mib, long now) {
        List<RecordEnvelope> records = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            records.add(large(id + "-" + i, mib));
        }
        append(id, records, now);
    }

    private static RecordEnvelope large(String id, int mib) {
        return RecordEnvelope.newBuilder().setId(id).setBody(ByteString.copyFrom(new byte[mib << 20])).build();
    }

    private void append(String id, List<RecordEnvelope> records, long now) {
        forwarder.submit(records, new BatcherForwarder.Reply() {
            @Override
            public void accepted() {
                answers.add(id + " accepted");
            }

            @Override
            public void unavailable(String why) {
                answers.add(id + " unavailable: " + why);
            }
        }, now);
    }

    @Test
    void aFullBatcherIsNotAskedAgainBeforeItsBackoffEnds() {
        forwarder.onMembership(batchers("b1:10000"), 0);
        append("r1", 0);
        assertThat(calls).hasSize(1);
        long t = 0;
        for (int failure = 1; failure <= 5; failure++) {
            Call last = calls.get(calls.size() - 1);
            forwarder.onFailed(last.id(), "RESOURCE_EXHAUSTED: batcher buffer full", t);
            long backoff = BatcherForwarder.BACKOFF.delayNanos(failure);
            assertThat(forwarder.poll(t)).as("the next deadline is the backoff's end").isLessThanOrEqualTo(t + backoff);
            forwarder.poll(t + backoff - 1);
            assertThat(calls).as("failure %d: not sent again before %d ms", failure, backoff / MS).hasSize(failure);
            t += backoff;
            forwarder.poll(t);
            assertThat(calls).as("failure %d: sent again once the backoff ended", failure).hasSize(failure + 1);
            assertThat(calls.get(failure).records()).extracting(RecordEnvelope::getId).containsExactly("r1");
        }
        assertThat(BatcherForwarder.BACKOFF.delayNanos(4)).isEqualTo(80 * MS);
        assertThat(BatcherForwarder.BACKOFF.delayNanos(5)).isEqualTo(100 * MS);
        forwarder.onAccepted(calls.get(calls.size() - 1).id(), t);
        assertThat(answers).containsExactly("r1 accepted");
        assertThat(forwarder.inFlightRecords()).isZero();
    }

    @Test
    void batchesOfLargeRecordsAreCutAtSixteenMebibytesAndARequestIsAnsweredOnceEveryPartIsTaken() {
        forwarder.onMembership(batchers("b1:10000", "b2:10000"), 0);
        append("first", 0); // on its way: what follows gathers
        appendLarge("a", 2, 7, 0);
        appendLarge("b", 10, 5, 0); // 50 MiB in one request
        assertThat(calls).as("gathered past 16 MiB: sent without waiting for the linger").hasSizeGreaterThan(1);
        forwarder.poll(2 * MS);
        List<String> sent = new ArrayList<>();
        for (Call c : calls) {
            long bytes = c.records().stream().mapToLong(RecordEnvelope::getSerializedSize).sum();
            assertThat(bytes).as("call %d", c.id()).isLessThanOrEqualTo(MessageLimits.BATCH_BYTES);
            c.records().forEach(r -> sent.add(r.getId()));
        }
        assertThat(sent).containsExactly("first", "a-0", "a-1", "b-0", "b-1", "b-2", "b-3", "b-4", "b-5", "b-6", "b-7", "b-8", "b-9");
        // "b" is answered only once the last of its parts is taken.
        List<Call> byB = calls.stream().filter(c -> c.records().stream().anyMatch(r -> r.getId().startsWith("b-"))).toList();
        assertThat(byB).hasSizeGreaterThan(1);
        for (Call c : calls) {
            assertThat(answers).as("before call %d is taken", c.id()).doesNotContain("b accepted");
            forwarder.onAccepted(c.id(), 3 * MS);
        }
        assertThat(answers).containsExactly("first accepted", "a accepted", "b accepted");
        assertThat(forwarder.inFlightRecords()).isZero();
        assertThat(forwarder.inFlightBytes()).isZero();
    }

    @Test
    void recordsInFlightAreBoundedByTheirBytesButOneLargeRequestAloneIsTaken() {
        forwarder.onMembership(batchers("b1:10000"), 0);
        List<RecordEnvelope> huge = List.of(large("h", 70)); // more than the 64 MiB bound by itself
        assertThat(forwarder.full(huge)).as("nothing in flight: taken").isFalse();
        appendLarge("a", 12, 5, 0); // 60 MiB in flight
        assertThat(forwarder.full(List.of(large("x", 5)))).as("65 MiB in flight would pass 64").isTrue();
        assertThat(forwarder.full(List.of(large("y", 3)))).as("63 MiB").isFalse();
        assertThat(forwarder.full(huge)).isTrue();
        for (Call c : List.copyOf(calls)) {
            forwarder.onAccepted(c.id(), MS);
        }
        assertThat(answers).containsExactly("a accepted");
        assertThat(forwarder.full(List.of(large("x", 5)))).as("taken by a batcher: out of flight").isFalse();
    }

    @Test
    void requestsThatComeDuringABackoffShareOneBatchAfterIt() {
        forwarder.onMembership(batchers("b1:10000"), 0);
        append("r1", 0);
        forwarder.onFailed(calls.get(0).id(), "RESOURCE_EXHAUSTED: batcher buffer full", 0);
        for (int i = 2; i <= 9; i++) {
            append("r" + i, (i - 1) * MS);
            forwarder.poll((i - 1) * MS);
        }
        assertThat(calls).as("nothing goes out during the backoff").hasSize(1);
        forwarder.poll(10 * MS);
        assertThat(calls).as("the refused batch again, then one batch of what came meanwhile").hasSize(3);
        assertThat(calls.get(1).records()).extracting(RecordEnvelope::getId).containsExactly("r1");
        assertThat(calls.get(2).records()).extracting(RecordEnvelope::getId).containsExactly("r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9");
        forwarder.onAccepted(calls.get(1).id(), 11 * MS);
        forwarder.onAccepted(calls.get(2).id(), 11 * MS);
        assertThat(answers).hasSize(9).allSatisfy(a -> assertThat(a).endsWith(" accepted"));
    }

    @Test
    void aBatchWaitingForOneBatchersBackoffDoesNotHoldBackRequestsAnotherTakesNow() {
        forwarder.onMembership(batchers("b1:10000", "b2:10000"), 0);
        append("r1", 0);
        append("r2", 0);
        forwarder.poll(MS);
        assertThat(calls).extracting(Call::batcher).containsExactly("b1:10000", "b2:10000");
        forwarder.onFailed(calls.get(0).id(), "RESOURCE_EXHAUSTED: batcher buffer full", MS); // r1 goes to b2
        forwarder.onFailed(calls.get(1).id(), "RESOURCE_EXHAUSTED: batcher buffer full", MS); // r2 waits for a backoff
        forwarder.onFailed(calls.get(2).id(), "RESOURCE_EXHAUSTED: batcher buffer full", MS); // r1 too; b2 backs off 20 ms
        assertThat(calls).hasSize(3);
        forwarder.poll(11 * MS); // b1's backoff ends: what waited for it goes
        assertThat(calls).hasSize(4);
        assertThat(calls.get(3).batcher()).isEqualTo("b1:10000");
        forwarder.onAccepted(calls.get(3).id(), 11 * MS);

        append("r3", 12 * MS); // b2 still backs off with a batch queued
        forwarder.poll(13 * MS);
        assertThat(calls).as("r3 leaves after its linger, to b1, not after b2's backoff").hasSize(5);
        assertThat(calls.get(4).batcher()).isEqualTo("b1:10000");
        assertThat(calls.get(4).records()).extracting(RecordEnvelope::getId).containsExactly("r3");
        forwarder.poll(21 * MS);
        assertThat(calls).hasSize(6);
        assertThat(calls.get(5).batcher()).isEqualTo("b2:10000");
    }

    @Test
    void aBatchOneBatcherFailsGoesToAnotherAtOnce() {
        forwarder.onMembership(batchers("b1:10000", "b2:10000"), 0);
        append("r1", 0);
        Call first = calls.get(0);
        forwarder.onFailed(first.id(), "UNAVAILABLE: batcher stopping", 0);
        assertThat(calls).hasSize(2);
        assertThat(calls.get(1).batcher()).isNotEqualTo(first.batcher());
        forwarder.onAccepted(calls.get(1).id(), 0);
        assertThat(answers).containsExactly("r1 accepted");

        append("r2", 5 * MS);
        assertThat(calls.get(2).batcher()).as("the failed batcher is passed over while it backs off").isEqualTo(calls.get(1).batcher());
    }

    @Test
    void aRequestNoBatcherTakesInTimeIsAnsweredUnavailableAndItsRecordsAreNotSentAfterwards() {
        forwarder.onMembership(batchers("b1:10000"), 0);
        append("r1", 0);
        long t = 0;
        int failures = 0;
        while (answers.isEmpty() && t <= Duration.ofSeconds(11).toNanos()) {
            long next = forwarder.poll(t);
            while (calls.size() > failures) { // the batcher refuses each call at once
                forwarder.onFailed(calls.get(calls.size() - 1).id(), "RESOURCE_EXHAUSTED: batcher buffer full", t);
                failures++;
                next = forwarder.poll(t);
            }
            if (answers.isEmpty()) {
                t = next;
            }
        }
        assertThat(answers).containsExactly("r1 unavailable: no batcher accepted the records in time");
        assertThat(t).as("answered at its forward timeout").isEqualTo(Duration.ofSeconds(10).toNanos());
        assertThat(calls.size()).as("with a backoff of up to 100 ms, about a hundred calls in 10 s, not a storm").isBetween(90, 110);
        assertThat(forwarder.inFlightRecords()).isZero();
        assertThat(forwarder.inFlightBytes()).as("a request timed out is out of flight").isZero();
    }

    @Test
    void recordsWhoseRequestWasAnsweredWhileTheyWaitedAreNotSent() {
        BatcherForwarder quick = new BatcherForwarder(
                new AppConfig(Duration.ofMillis(1), 1000, 50_000, 64L << 20, 1 << 20, 10_000, Duration.ofMillis(5), Duration.ofSeconds(10), 1000,
                        Duration.ofSeconds(5)),
                (batcher, id, records) -> calls.add(new Call(batcher, id, records)));
        quick.onMembership(batchers("b1:10000"), 0);
        quick.submit(List.of(RecordEnvelope.newBuilder().setId("r1").build()), new BatcherForwarder.Reply() {
            @Override
            public void accepted() {
                answers.add("r1 accepted");
            }

            @Override
            public void unavailable(String why) {
                answers.add("r1 unavailable: " + why);
            }
        }, 0);
        quick.onFailed(calls.get(0).id(), "RESOURCE_EXHAUSTED: batcher buffer full", 0); // waits 10 ms for the backoff
        quick.poll(6 * MS);
        assertThat(answers).containsExactly("r1 unavailable: no batcher accepted the records in time");
        quick.poll(10 * MS);
        assertThat(calls).hasSize(2);
        assertThat(calls.get(1).records()).as("the batch that waited, without the answered request's record").isEmpty();
    }

    @Test
    void theBatchesOfABatcherThatLeftGoToTheOthers() {
        forwarder.onMembership(batchers("b1:10000", "b2:10000"), 0);
        append("r1", 0);
        String first = calls.get(0).batcher();
        String other = first.equals("b1:10000") ? "b2:10000" : "b1:10000";
        forwarder.onMembership(batchers(other), MS);
        assertThat(calls).hasSize(2);
        assertThat(calls.get(1).batcher()).isEqualTo(other);
        assertThat(calls.get(1).records()).extracting(RecordEnvelope::getId).containsExactly("r1");
        forwarder.onAccepted(calls.get(0).id(), MS); // the gone batcher's late answer is ignored
        assertThat(answers).isEmpty();
        forwarder.onAccepted(calls.get(1).id(), MS);
        assertThat(answers).containsExactly("r1 accepted");
    }
}
