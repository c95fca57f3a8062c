package io.chariots.queue;

import com.google.protobuf.ByteString;
import io.chariots.common.grpc.MessageLimits;
import io.chariots.common.link.WindowedSender;
import io.chariots.proto.RecordEnvelope;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** StoreOutbox through the batches it sends, the records it hands back and what it reports. */
class StoreOutboxTest {
    private static final long MS = 1_000_000L;
    private static final long T0 = 6_000_000_000_000L;
    private static final String M1 = "m1:8000";
    private static final String M2 = "m2:8000";
    private static final long[] NONE = new long[0];

    private record Sent(String maintainer, long id, long epoch, List<RecordEnvelope> records) {
        List<Long> lids() {
            return records.stream().map(RecordEnvelope::getLid).toList();
        }
    }

    private final List<Sent> sent = new ArrayList<>();
    private final StoreOutbox outbox = new StoreOutbox((m, id, epoch, records) -> sent.add(new Sent(m, id, epoch,
            List.copyOf(records))), 2, 3, new WindowedSender.Backoff(Duration.ofMillis(10), Duration.ofMillis(40)));

    private static RecordEnvelope rec(long lid) {
        return RecordEnvelope.newBuilder().setId("r" + lid).setLid(lid).build();
    }

    private void add(String maintainer, long lid, long... deps) {
        outbox.add(7, maintainer, rec(lid), deps);
    }

    private List<Sent> sentTo(String m) {
        return sent.stream().filter(s -> s.maintainer().equals(m)).toList();
    }

    @Test
    void recordsAreBatchedPerMaintainerUpToMaxBatchAndSentAtFlush() {
        for (long lid = 1; lid <= 7; lid++) {
            add(M1, lid);
        }
        add(M2, 8);
        add(M2, 9);
        assertThat(sent).as("nothing goes out before a flush").isEmpty();

        outbox.flush(T0);
        // M1: batches of 3, 3 and 1, two in flight at most; M2: one batch of 2.
        assertThat(sentTo(M1)).extracting(Sent::lids).containsExactly(List.of(1L, 2L, 3L), List.of(4L, 5L, 6L));
        assertThat(sentTo(M2)).extracting(Sent::lids).containsExactly(List.of(8L, 9L));
        assertThat(sent).allSatisfy(s -> assertThat(s.epoch()).isEqualTo(7));

        assertThat(outbox.onStored(sentTo(M1).get(0).id()).records()).extracting(RecordEnvelope::getLid).containsExactly(1L, 2L, 3L);
        outbox.flush(T0);
        assertThat(sentTo(M1)).extracting(Sent::lids).containsExactly(List.of(1L, 2L, 3L), List.of(4L, 5L, 6L),
                List.of(7L));
    }

    @Test
    void aBatchOfLargeRecordsIsClosedAtSixteenMebibytes() {
        StoreOutbox wide = new StoreOutbox((m, id, epoch, records) -> sent.add(new Sent(m, id, epoch, List.copyOf(records))),
                100, 2000, new WindowedSender.Backoff(Duration.ofMillis(10), Duration.ofMillis(40)));
        for (long lid = 1; lid <= 10; lid++) {
            wide.add(7, M1, rec(lid).toBuilder().setBody(ByteString.copyFrom(new byte[6 << 20])).build(), NONE);
        }
        wide.flush(T0);
        // 6 MiB each: a third would take a batch past 16 MiB, so it starts the next; not max_batch's 2000.
        assertThat(sentTo(M1)).extracting(Sent::lids).containsExactly(List.of(1L, 2L), List.of(3L, 4L), List.of(5L, 6L),
                List.of(7L, 8L), List.of(9L, 10L));
        assertThat(sent).allSatisfy(b -> assertThat(b.records().stream().mapToLong(RecordEnvelope::getSerializedSize).sum())
                .isLessThanOrEqualTo(MessageLimits.BATCH_BYTES));
    }

    @Test
    void aRecordWhoseCauseIsInTheBatchGoesWithItOnlyIfItFitsAndElseWaitsUntilTheCauseIsStored() {
        StoreOutbox wide = new StoreOutbox((m, id, epoch, records) -> sent.add(new Sent(m, id, epoch, List.copyOf(records))),
                100, 2000, new WindowedSender.Backoff(Duration.ofMillis(10), Duration.ofMillis(40)));
        wide.add(7, M1, rec(1).toBuilder().setBody(ByteString.copyFrom(new byte[10 << 20])).build(), NONE);
        wide.add(7, M1, rec(2), new long[]{1}); // small: joins its cause's batch
        wide.add(7, M1, rec(3).toBuilder().setBody(ByteString.copyFrom(new byte[10 << 20])).build(), new long[]{2});
        wide.flush(T0);
        // 3 would start the next batch, which could be stored before its cause's: it waits until 2 is stored.
        assertThat(sentTo(M1)).extracting(Sent::lids).containsExactly(List.of(1L, 2L));
        wide.onStored(sentTo(M1).get(0).id());
        wide.flush(T0);
        assertThat(sentTo(M1)).extracting(Sent::lids).containsExactly(List.of(1L, 2L), List.of(3L));
    }

    @Test
    void aRecordWaitsUntilItsLocalDependencyIsStoredUnlessItGoesInTheSameBatch() {
        add(M1, 1);
        add(M2, 2, 1);     // the effect, at another maintainer: waits
        add(M1, 3, 1);     // an effect at the same maintainer: in the cause's batch, stored whole or not at all
        add(M2, 4);        // independent
        outbox.flush(T0);
        assertThat(sent).extracting(Sent::lids).containsExactlyInAnyOrder(List.of(1L, 3L), List.of(4L));

        // Sending the cause is not enough: only its store releases the effects.
        outbox.flush(T0 + 1);
        assertThat(sent).hasSize(2);
        Sent cause = sentTo(M1).get(0);
        assertThat(outbox.onStored(cause.id()).records()).extracting(RecordEnvelope::getLid).containsExactly(1L, 3L);
        outbox.flush(T0 + 2);
        assertThat(sentTo(M2)).extracting(Sent::lids).containsExactly(List.of(4L), List.of(2L));
        assertThat(sentTo(M1)).extracting(Sent::lids).containsExactly(List.of(1L, 3L));
    }

    /** Another datacenter's records, each depending on the one before, go out together, not one per round trip. */
    @Test
    void aChainAtOneMaintainerGoesInOneBatchButNotIntoOneAlreadySent() {
        add(M1, 1);
        add(M1, 2, 1);
        add(M1, 3, 2);
        outbox.flush(T0);
        assertThat(sentTo(M1)).extracting(Sent::lids).containsExactly(List.of(1L, 2L, 3L));
        add(M1, 4, 3);     // its dependency left in a batch not yet stored: waits for it
        outbox.flush(T0 + 1);
        assertThat(sentTo(M1)).hasSize(1);
        outbox.onStored(sentTo(M1).get(0).id());
        outbox.flush(T0 + 2);
        assertThat(sentTo(M1)).extracting(Sent::lids).containsExactly(List.of(1L, 2L, 3L), List.of(4L));
    }

    @Test
    void aRecordWithSeveralDependenciesWaitsForAllOfThem() {
        add(M1, 1);
        add(M2, 2);
        add(M1, 3, 1, 2);
        outbox.flush(T0);
        outbox.onStored(sentTo(M1).get(0).id());
        outbox.flush(T0);
        assertThat(sent).noneMatch(s -> s.lids().contains(3L));
        outbox.onStored(sentTo(M2).get(0).id());
        outbox.flush(T0);
        assertThat(sentTo(M1)).extracting(Sent::lids).containsExactly(List.of(1L), List.of(3L));
    }

    @Test
    void aDependencyNotGivenOutHereIsNoReasonToWait() {
        add(M1, 5, 2); // LId 2: stored long ago, or given by another queue
        outbox.flush(T0);
        assertThat(sent).extracting(Sent::lids).containsExactly(List.of(5L));
    }

    @Test
    void onStoredReturnsTheRecordsOnceAndUnknownBatchesGiveNull() {
        add(M1, 1);
        add(M1, 2);
        outbox.flush(T0);
        long id = sent.get(0).id();
        assertThat(outbox.onStored(id).records()).extracting(RecordEnvelope::getId).containsExactly("r1", "r2");
        assertThat(outbox.onStored(id)).isNull();
        assertThat(outbox.onStored(424242)).isNull();
    }

    @Test
    void unstoredFromIsTheLowestLidNotYetStored() {
        assertThat(outbox.unstoredFrom()).isZero();
        add(M1, 10);
        add(M2, 11);
        add(M1, 12);
        assertThat(outbox.unstoredFrom()).isEqualTo(10);
        assertThat(outbox.unstoredCount()).isEqualTo(3);
        outbox.flush(T0);
        // M1's batch (10, 12) stored: 11 is the lowest left.
        outbox.onStored(sentTo(M1).get(0).id());
        assertThat(outbox.unstoredFrom()).isEqualTo(11);
        assertThat(outbox.unstoredCount()).isEqualTo(1);
        outbox.onStored(sentTo(M2).get(0).id());
        assertThat(outbox.unstoredFrom()).isZero();
        assertThat(outbox.unstoredCount()).isZero();
    }

    @Test
    void unstoredFromComparesLidsUnsigned() {
        long huge = 0x8000_0000_0000_0005L; // past 2^63: negative as a signed long
        add(M1, huge);
        add(M1, 3);
        assertThat(outbox.unstoredFrom()).isEqualTo(3);
    }

    @Test
    void aFailedBatchIsRetriedToTheSameMaintainerAfterItsBackoff() {
        add(M1, 1);
        add(M1, 2);
        outbox.flush(T0);
        Sent first = sent.get(0);
        outbox.onFailed(M1, first.id(), T0);
        assertThat(outbox.poll(T0)).isEqualTo(T0 + 10 * MS);
        assertThat(sent).hasSize(1);
        assertThat(outbox.poll(T0 + 10 * MS)).isEqualTo(Long.MAX_VALUE);
        assertThat(sent).hasSize(2);
        Sent again = sent.get(1);
        assertThat(again.maintainer()).isEqualTo(M1);
        assertThat(again.records()).isEqualTo(first.records());
        assertThat(again.epoch()).isEqualTo(first.epoch());
        assertThat(again.id()).isNotEqualTo(first.id());
        // The first attempt's id is spent; the retry's stores.
        assertThat(outbox.onStored(first.id())).isNull();
        assertThat(outbox.onStored(again.id()).records()).hasSize(2);
        assertThat(outbox.unstoredFrom()).isZero();
    }

    @Test
    void aRetryGoesOutBeforeLaterBatches() {
        StoreOutbox one = new StoreOutbox((m, id, epoch, records) -> sent.add(new Sent(m, id, epoch, List.copyOf(records))),
                1, 1, new WindowedSender.Backoff(Duration.ofMillis(10), Duration.ofMillis(40)));
        one.add(7, M1, rec(1), NONE);
        one.add(7, M1, rec(2), NONE);
        one.flush(T0);
        one.onFailed(M1, sent.get(0).id(), T0);
        one.poll(T0 + 10 * MS);
        assertThat(sent).extracting(Sent::lids).containsExactly(List.of(1L), List.of(1L));
    }

    @Test
    void failureCountsNameTheFailingMaintainers() {
        add(M1, 1);
        add(M2, 2);
        outbox.flush(T0);
        outbox.onFailed(M1, sentTo(M1).get(0).id(), T0);
        assertThat(outbox.failing(1)).containsExactly(M1);
        assertThat(outbox.failing(2)).isEmpty();
        outbox.poll(T0 + 10 * MS);
        outbox.onFailed(M1, sentTo(M1).get(1).id(), T0 + 10 * MS);
        assertThat(outbox.failing(2)).containsExactly(M1);
        outbox.poll(T0 + 30 * MS);
        outbox.onStored(sentTo(M1).get(2).id());
        assertThat(outbox.failing(1)).isEmpty();
    }

    @Test
    void aRefusedBatchLeavesTheWindowButItsLidsStayUnstored() {
        for (long lid = 1; lid <= 9; lid++) {
            add(M1, lid);
        }
        outbox.flush(T0);
        assertThat(sent).hasSize(2);
        outbox.onRefused(sent.get(0).id());
        assertThat(outbox.unstoredFrom()).isEqualTo(1);
        // A slot opened: the third batch goes out; the refused one is not resent.
        outbox.flush(T0);
        assertThat(sent).extracting(Sent::lids).containsExactly(List.of(1L, 2L, 3L), List.of(4L, 5L, 6L),
                List.of(7L, 8L, 9L));
        outbox.poll(T0 + 1000 * MS);
        assertThat(sent).hasSize(3);
        assertThat(outbox.onStored(sent.get(0).id())).isNull();
        assertThat(outbox.failing(1)).isEmpty();
    }

    @Test
    void clearVoidsEverythingAndLateRepliesAreIgnored() {
        add(M1, 1);
        add(M2, 2, 1);
        add(M1, 3);
        outbox.flush(T0);
        Sent inFlight = sent.get(0);
        add(M2, 4); // collected, not yet flushed

        outbox.clear();
        assertThat(outbox.unstoredFrom()).isZero();
        assertThat(outbox.unstoredCount()).isZero();
        assertThat(outbox.onStored(inFlight.id())).isNull();
        outbox.onFailed(M1, inFlight.id(), T0);
        assertThat(outbox.failing(1)).isEmpty();
        outbox.flush(T0 + 1);
        assertThat(outbox.poll(T0 + 1000 * MS)).isEqualTo(Long.MAX_VALUE);
        assertThat(sent).containsExactly(inFlight);

        // The next epoch starts clean.
        outbox.add(8, M2, rec(5), NONE);
        outbox.flush(T0 + 2);
        assertThat(sent).hasSize(2);
        assertThat(sent.get(1).epoch()).isEqualTo(8);
        assertThat(sent.get(1).lids()).containsExactly(5L);
    }

    /**
     * Another datacenter's records come as one chain across holds: the first
     * of a hold depends on the last of a batch already sent, so the run
     * waits; once that batch is stored the whole run goes out in one batch —
     * not one record per store round trip.
     */
    @Test
    void aChainBlockedBehindASentBatchGoesOutWholeOnceThatIsStored() {
        add(M1, 1);
        add(M1, 2, 1);
        outbox.flush(T0);
        assertThat(sentTo(M1)).extracting(Sent::lids).containsExactly(List.of(1L, 2L));
        for (long lid = 3; lid <= 8; lid++) {
            add(M1, lid, lid - 1); // the next hold's run: 3 depends on 2, sent but not stored
        }
        outbox.flush(T0 + 1);
        assertThat(sentTo(M1)).hasSize(1);
        outbox.onStored(sentTo(M1).get(0).id());
        outbox.flush(T0 + 2);
        // A whole batch (this outbox's batches hold 3): the rest waits for it, as a chain must.
        assertThat(sentTo(M1)).extracting(Sent::lids).containsExactly(List.of(1L, 2L), List.of(3L, 4L, 5L));
        outbox.onStored(sentTo(M1).get(1).id());
        outbox.flush(T0 + 3);
        assertThat(sentTo(M1)).extracting(Sent::lids).containsExactly(List.of(1L, 2L), List.of(3L, 4L, 5L),
                List.of(6L, 7L, 8L));
    }
}
