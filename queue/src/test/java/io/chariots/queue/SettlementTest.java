package io.chariots.queue;

import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Rejection;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Settlement through the verifications it asks its links for. */
class SettlementTest {
    private static final long SECOND = 1_000_000_000L;
    private static final long T0 = 4_000_000_000_000L;
    private static final String M1 = "m1:8000";
    private static final String M2 = "m2:8000";
    private static final List<String> MAINTAINERS = List.of(M1, M2);
    private static final List<String> INDEXERS = List.of("ix1:9000");

    /** One verification as the links were asked for it. */
    private record Asked(long verifyId, List<String> maintainers, List<String> ids) {
    }

    private final List<Asked> asked = new ArrayList<>();
    // A queue that just started: every id it is handed is verified against the log.
    private final IdLedger ledger = new IdLedger("q1:7000", b -> { }, 600 * SECOND, 1000, 1 << 16, T0);
    private final Settlement settlement = new Settlement(new Settlement.Links() {
        @Override
        public void indexedThrough(String maintainer) {
        }

        @Override
        public void reject(List<String> indexers, long rejectId, List<Rejection> rejections) {
        }

        @Override
        public void verify(List<String> maintainers, List<String> indexers, long verifyId, List<String> ids) {
            asked.add(new Asked(verifyId, maintainers, ids));
        }
    }, ledger, 100);

    private void admit(String id) {
        ledger.admit(RecordEnvelope.newBuilder().setId(id).build(), new IdLedger.Batch(new Object(), 5, 1), T0);
    }

    private long now = T0;

    private Asked verifyNext(long epoch, long startLid) {
        int before = asked.size();
        now += SECOND; // past any retry delay
        settlement.poll(now, MAINTAINERS, INDEXERS, epoch, startLid);
        assertThat(asked).hasSize(before + 1);
        return asked.get(before);
    }

    @Test
    void aMaintainerWithNothingUnindexedFromOlderEpochsIsNotAskedAgainInThatEpoch() {
        admit("a");
        Asked first = verifyNext(5, 1000);
        assertThat(first.maintainers()).containsExactly(M1, M2);
        // m1 holds unindexed records from LId 1200 on only (this epoch's); m2 still some at or below 1000.
        settlement.onUnindexedFrom(first.verifyId(), M1, 1200);
        settlement.onUnindexedFrom(first.verifyId(), M2, 1000);
        settlement.onVerified(first.verifyId(), List.of(IdLedger.Found.absent("a")), id -> true, T0);

        admit("b");
        assertThat(verifyNext(5, 1000).maintainers()).as("m1 cannot hold an unindexed copy of an older epoch's id")
                .containsExactly(M2);

        // A new epoch: what m1 held unindexed then may be older than its start now; ask it again.
        admit("c");
        assertThat(verifyNext(6, 1500).maintainers()).containsExactly(M1, M2);
    }

    @Test
    void nothingUnindexedAtAllCountsAndAnAnswerToAnUnknownVerificationDoesNot() {
        admit("a");
        Asked first = verifyNext(5, 1000);
        settlement.onUnindexedFrom(first.verifyId(), M2, 0); // m2 holds nothing unindexed
        settlement.onUnindexedFrom(first.verifyId() + 77, M1, 5000); // no such verification: ignored
        settlement.onVerifyFailed(first.verifyId(), T0);
        settlement.onUnindexedFrom(first.verifyId(), M1, 5000); // answered after the verification ended: ignored

        Asked again = verifyNext(5, 1000);
        assertThat(again.ids()).containsExactly("a");
        assertThat(again.maintainers()).containsExactly(M1);
    }
}
