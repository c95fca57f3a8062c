package io.chariots.batcher;

import com.google.protobuf.ByteString;
import io.chariots.common.grpc.MessageLimits;
import io.chariots.common.membership.Membership;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Batching logic with a hand clock and a recording sender. */
class BatchAssemblerTest {
    static final long MS = 1_000_000L;

    record Sent(String filter, long id, List<RecordEnvelope> records) {
    }

    final List<Sent> sent = new ArrayList<>();
    final List<Boolean> pressure = new ArrayList<>();
    long now = 1000 * MS;
    long highWaterBytes = 64L << 20;

    /** Batches leave after the 2 ms linger whatever is on their way. */
    BatchAssembler assembler(int maxBatch, int window, int high, int low) {
        return assembler(maxBatch, window, Duration.ofMillis(2), window, high, low);
    }

    BatchAssembler assembler(int maxBatch, int busyWindow, Duration busyLinger, int window, int high, int low) {
        BatchAssembler a = new BatchAssembler(new BatcherConfig(1 << 20, 10_000, 64 << 20, null, maxBatch, Duration.ofMillis(2), busyWindow, busyLinger, window, high, low,
                highWaterBytes, Duration.ofSeconds(10), 10_000, 100_000),
                (f, id, r) -> sent.add(new Sent(f, id, r)), pressure::add, new SimpleMeterRegistry());
        MembershipView.Builder v = MembershipView.newBuilder().setEpoch(1).setVersion(1);
        v.addMembers(Member.newBuilder().setRole(Role.FILTER).setGrpcAddress("f1").setJoinSeq(1));
        v.addMembers(Member.newBuilder().setRole(Role.FILTER).setGrpcAddress("f2").setJoinSeq(2));
        a.onMembership(new Membership(v.build()), now);
        return a;
    }

    static List<RecordEnvelope> records(String prefix, int n) {
        List<RecordEnvelope> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(RecordEnvelope.newBuilder().setId(prefix + i).build());
        }
        return out;
    }

    @Test
    void batchesBySizeAndByLingerAndPartitionsByIdOverFilters() {
        BatchAssembler a = assembler(10, 4, 1000, 500);
        a.add(records("x", 25), now);
        assertThat(sent).as("full batches leave at once").allSatisfy(s -> assertThat(s.records()).hasSize(10));
        int full = sent.size();
        now += 3 * MS;
        a.poll(now);
        assertThat(sent.size()).as("the rest leaves after the linger").isGreaterThan(full);
        for (Sent s : sent) {
            for (RecordEnvelope r : s.records()) {
                String owner = Math.floorMod(r.getId().hashCode(), 2) == 0 ? "f1" : "f2";
                assertThat(s.filter()).as("same id, same filter").isEqualTo(owner);
            }
        }
        assertThat(sent.stream().mapToInt(s -> s.records().size()).sum()).isEqualTo(25);
    }

    @Test
    void aFullWindowWaitsForAnAcknowledgementWithoutSpinning() {
        BatchAssembler a = assembler(1000, 1, 100_000, 50_000);
        a.add(records("a", 5), now);
        now += 3 * MS;
        a.poll(now);
        int before = sent.size();
        a.add(records("b", 5), now);
        now += 5 * MS;
        long deadline = a.poll(now);
        assertThat(deadline - now).as("next deadline must not be in the past while blocked on the window").isPositive();
        assertThat(sent).hasSize(before);
        for (Sent s : List.copyOf(sent)) {
            a.onForwarded(s.id(), List.of(), now);
        }
        a.poll(now);
        assertThat(sent.size()).isGreaterThan(before);
    }

    @Test
    void whileAFilterHasBusyWindowBatchesOnTheirWayTheNextGathersUntilOneIsAnsweredOrForTheBusyLinger() {
        BatchAssembler a = assembler(1000, 2, Duration.ofMillis(20), 256, 100_000, 50_000);
        Map<String, Long> addedAt = new HashMap<>();
        // One record a millisecond: with the filters keeping up, each batch leaves after the 2 ms linger.
        int n = 0;
        for (; sent.size() < 4; n++) {
            addedAt.put("r" + n, now);
            a.add(List.of(RecordEnvelope.newBuilder().setId("r" + n).build()), now);
            now += MS;
            a.poll(now);
        }
        assertThat(sent.stream().map(Sent::filter)).as("two batches on their way to each filter").containsOnly("f1", "f2")
                .filteredOn("f1"::equals).hasSize(2);
        assertThat(sent).allSatisfy(s -> assertThat(s.records().size()).as("lingered batches are small").isLessThanOrEqualTo(3));
        // Both filters busy: two records a millisecond for 15 ms, and nothing leaves; the loop sleeps till the busy linger.
        for (int i = 0; i < 30; i++, n++) {
            addedAt.put("r" + n, now);
            a.add(List.of(RecordEnvelope.newBuilder().setId("r" + n).build()), now);
            now += MS / 2;
            long next = a.poll(now);
            assertThat(next - now).as("no deadline in the past while waiting for an answer").isPositive();
            assertThat(next - oldestUnsent(addedAt)).as("nor one beyond the busy linger").isLessThanOrEqualTo(20 * MS);
        }
        assertThat(sent).as("nothing leaves a busy filter before the busy linger").hasSize(4);
        // An answer from f1: f1's gathered records leave at once, in one batch; f2 still waits.
        Sent first = sent.get(0);
        a.onForwarded(first.id(), List.of(), now);
        assertThat(sent).hasSize(5);
        assertThat(sent.get(4).filter()).isEqualTo(first.filter());
        assertThat(sent.get(4).records().size()).as("one batch of all f1 gathered while busy").isGreaterThan(8);
        String other = first.filter().equals("f1") ? "f2" : "f1";
        // f2 never answers: its batch leaves once its first record has waited the busy linger, not before.
        now = oldestUnsent(addedAt) + 20 * MS - 1;
        a.poll(now);
        assertThat(sent).hasSize(5);
        now += 1;
        a.poll(now);
        assertThat(sent).hasSize(6);
        assertThat(sent.get(5).filter()).isEqualTo(other);
        assertThat(sent.get(5).records().size()).as("one batch of all the stalled filter gathered").isGreaterThan(8);
        assertThat(sent.stream().mapToInt(s -> s.records().size()).sum()).as("every record sent once").isEqualTo(n);

        // A batch that reaches max_batch leaves even while busy.
        BatchAssembler b = assembler(10, 1, Duration.ofSeconds(1), 256, 100_000, 50_000);
        sent.clear();
        b.add(records("m", 2), now);
        now += 3 * MS;
        b.poll(now);
        assertThat(sent).as("the first batches leave after the linger").hasSize(2);
        b.add(records("m", 40), now);
        assertThat(sent.subList(2, sent.size())).as("full batches leave whatever is on their way").hasSizeGreaterThanOrEqualTo(3)
                .allSatisfy(s -> assertThat(s.records()).hasSize(10));
        // Once the filters keep up again, a lone record leaves after the linger.
        for (Sent s : List.copyOf(sent)) {
            b.onForwarded(s.id(), List.of(), now);
        }
        sent.clear();
        b.add(records("late", 1), now);
        now += 3 * MS;
        b.poll(now);
        assertThat(sent).hasSize(1);
    }

    /** When the oldest record not yet in a sent batch was added. */
    private long oldestUnsent(Map<String, Long> addedAt) {
        Set<String> out = new HashSet<>();
        sent.forEach(s -> s.records().forEach(r -> out.add(r.getId())));
        return addedAt.entrySet().stream().filter(e -> !out.contains(e.getKey())).mapToLong(Map.Entry::getValue).min().orElseThrow();
    }

    @Test
    void busyWindowAndBusyLingerAreCheckedAtStart() {
        assertThatThrownBy(() -> assembler(10, 0, Duration.ofMillis(20), 256, 100, 50)).hasMessageContaining("batcher.busy_window");
        assertThatThrownBy(() -> assembler(10, 300, Duration.ofMillis(20), 256, 100, 50)).hasMessageContaining("batcher.busy_window");
        assertThatThrownBy(() -> assembler(10, 4, Duration.ofMillis(1), 256, 100, 50)).hasMessageContaining("batcher.busy_linger_ms");
    }

    @Test
    void aFailedBatchIsRetriedAndBackpressureFollowsTheWaterMarks() {
        BatchAssembler a = assembler(5, 4, 20, 10);
        a.add(records("r", 25), now);
        assertThat(pressure).containsExactly(true);
        Sent first = sent.get(0);
        a.onForwardFailed(first.id(), "UNAVAILABLE", now);
        now += 100 * MS;
        a.poll(now);
        now += 3 * MS; // re-collected records leave after one linger
        a.poll(now);
        assertThat(sent.stream().skip(1).flatMap(s -> s.records().stream()))
                .as("the failed records are sent again").containsAll(first.records());
        for (Sent s : List.copyOf(sent)) {
            a.onForwarded(s.id(), List.of(), now);
        }
        assertThat(pressure).containsExactly(true, false);
        assertThat(a.buffered()).isZero();
        assertThat(a.bufferedBytes()).isZero();
    }

    @Test
    void largeRecordsCloseABatchAtSixteenMebibytesAndPauseReadingByTheirBytes() {
        BatchAssembler a = assembler(2000, 256, 30_000, 15_000); // record-count marks far away
        List<RecordEnvelope> big = new ArrayList<>();
        for (int i = 0; i < 14; i++) {
            big.add(RecordEnvelope.newBuilder().setId("big" + i).setBody(ByteString.copyFrom(new byte[5 << 20])).build());
        }
        for (RecordEnvelope r : big) {
            a.add(List.of(r), now); // one frame at a time, as a raw TCP connection delivers them
        }
        now += 3 * MS;
        a.poll(now);
        assertThat(sent.stream().mapToInt(b -> b.records().size()).sum()).isEqualTo(14);
        for (Sent b : sent) {
            long bytes = b.records().stream().mapToLong(RecordEnvelope::getSerializedSize).sum();
            // A fourth of 5 MiB would take it past 16 MiB: three at most, never the 2000 of max_batch.
            assertThat(b.records().size()).as("records of batch %d", b.id()).isBetween(1, 3);
            assertThat(bytes).as("batch %d", b.id()).isLessThanOrEqualTo(MessageLimits.BATCH_BYTES);
        }
        // 14 records of 5 MiB = 70 MiB held: past the 64 MiB mark, though 14 records are far below 30000.
        assertThat(pressure).containsExactly(true);
        assertThat(a.full()).isTrue();
        List<Sent> answered = new ArrayList<>();
        for (Sent b : List.copyOf(sent)) {
            a.onForwarded(b.id(), List.of(), now);
            answered.add(b);
            long held = sent.stream().filter(x -> !answered.contains(x))
                    .flatMap(x -> x.records().stream()).mapToLong(RecordEnvelope::getSerializedSize).sum();
            // Reading resumes at half the mark, 32 MiB, not before.
            assertThat(pressure.get(pressure.size() - 1)).as("paused with %d bytes held", held).isEqualTo(held > (32L << 20));
        }
        assertThat(pressure).containsExactly(true, false);
        assertThat(a.full()).isFalse();
        assertThat(a.bufferedBytes()).isZero();
    }

    @Test
    void anAppBatchIsRefusedOnlyWhileMoreThanHalfTheByteMarkIsHeldAndWouldPassIt() {
        highWaterBytes = 32L << 20;
        BatchAssembler a = assembler(2000, 256, 30_000, 15_000);
        List<RecordEnvelope> appBatch = List.of(RecordEnvelope.newBuilder().setId("app")
                .setBody(ByteString.copyFrom(new byte[20 << 20])).build());
        a.add(List.of(RecordEnvelope.newBuilder().setId("tcp1").setBody(ByteString.copyFrom(new byte[15 << 20])).build()), now);
        assertThat(a.full(appBatch)).as("15 MiB held: under half, taken though 35 MiB passes the mark").isFalse();
        a.add(List.of(RecordEnvelope.newBuilder().setId("tcp2").setBody(ByteString.copyFrom(new byte[5 << 20])).build()), now);
        assertThat(a.full()).as("20 MiB: raw TCP still read").isFalse();
        assertThat(a.full(appBatch)).as("20 MiB held, 40 with it").isTrue();
        assertThat(a.full(appBatch.subList(0, 0))).as("an empty batch passes nothing").isFalse();
    }

    @Test
    void parkedRecordsLeaveTheWaterMarksAndAreSentAgainUntilSettled() {
        BatchAssembler a = assembler(10, 4, 20, 10);
        a.add(records("e", 20), now);
        assertThat(pressure).as("20 held: reading pauses").containsExactly(true);
        // Every batch comes back with two of its records parked at their queue (waiting for a cause).
        List<String> parkedIds = new ArrayList<>();
        for (Sent s : List.copyOf(sent)) {
            List<String> p = List.of(s.records().get(0).getId(), s.records().get(1).getId());
            parkedIds.addAll(p);
            a.onForwarded(s.id(), p, now);
        }
        assertThat(a.buffered()).as("parked records are not held against the water marks").isZero();
        assertThat(pressure).as("so reading resumes, and causes can come in").containsExactly(true, false);
        assertThat(a.parked()).isEqualTo(parkedIds.size());

        int before = sent.size();
        now += BatchAssembler.PARKED_RESEND.toNanos() - MS;
        a.poll(now);
        assertThat(sent).as("not sent again before the interval").hasSize(before);
        now += 2 * MS;
        a.poll(now);
        now += 3 * MS; // one linger
        a.poll(now);
        List<String> resent = sent.stream().skip(before).flatMap(s -> s.records().stream()).map(RecordEnvelope::getId).toList();
        assertThat(resent).as("every parked record is sent again").containsExactlyInAnyOrderElementsOf(parkedIds);
        assertThat(a.parked()).isZero();
        assertThat(a.drain(now)).as("in flight again: held until answered").isEqualTo(parkedIds.size());
        for (Sent s : sent.subList(before, sent.size())) {
            a.onForwarded(s.id(), List.of(), now); // their causes came: settled
        }
        assertThat(a.buffered()).isZero();
        assertThat(a.parked()).isZero();
        assertThat(a.drain(now)).isZero();
    }

    /** Answers the last batch sent with its first record parked, then steps 100 ms at a time until it is sent again. */
    private long parkedAndResentAfterSeconds(BatchAssembler a, boolean draining) {
        Sent s = sent.get(sent.size() - 1);
        a.onForwarded(s.id(), List.of(s.records().get(0).getId()), now); // parked: its cause is still missing
        assertThat(a.parked()).isEqualTo(1);
        long parkedAt = now;
        int before = sent.size();
        while (sent.size() == before) {
            now += 100 * MS;
            if (draining) {
                a.drain(now);
            } else {
                a.poll(now);
            }
        }
        return (now - parkedAt) / 1000 / MS; // resent within a linger of its due time
    }

    private BatchAssembler sentOneRecord() {
        BatchAssembler a = assembler(10, 4, 20, 10);
        a.add(records("e", 1), now);
        now += 3 * MS; // one linger
        a.poll(now);
        assertThat(sent).hasSize(1);
        return a;
    }

    @Test
    void aRecordParkedAgainAndAgainWaitsTwiceAsLongEachTimeUpToTheMaximum() {
        BatchAssembler a = sentOneRecord();
        List<Long> waitedSeconds = new ArrayList<>();
        for (int round = 0; round < 6; round++) {
            waitedSeconds.add(parkedAndResentAfterSeconds(a, false));
        }
        assertThat(waitedSeconds).containsExactly(1L, 2L, 4L, 8L, 8L, 8L);
        assertThat(BatchAssembler.PARKED_RESEND_MAX).isEqualTo(Duration.ofSeconds(8));

        // Settled at last; when the same record comes in again later and is parked, it starts over at one second.
        Sent last = sent.get(sent.size() - 1);
        a.onForwarded(last.id(), List.of(), now);
        assertThat(a.parked()).isZero();
        a.add(List.of(last.records().get(0)), now);
        now += 3 * MS;
        a.poll(now);
        assertThat(parkedAndResentAfterSeconds(a, false)).isEqualTo(1L);
    }

    @Test
    void aCleanStopSendsParkedRecordsAtOnceAndThenEverySecond() {
        BatchAssembler a = sentOneRecord();
        for (int round = 0; round < 4; round++) { // parked four times: its next wait is 8 s
            parkedAndResentAfterSeconds(a, false);
        }
        Sent s = sent.get(sent.size() - 1);
        a.onForwarded(s.id(), List.of(s.records().get(0).getId()), now);
        int before = sent.size();
        assertThat(a.drain(now)).as("parked: not yet settled").isEqualTo(1);
        assertThat(sent).as("sent again at once").hasSize(before + 1);
        assertThat(parkedAndResentAfterSeconds(a, true)).as("while draining, every second").isEqualTo(1L);
    }
}
