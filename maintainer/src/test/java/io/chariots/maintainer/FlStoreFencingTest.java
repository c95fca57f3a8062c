package io.chariots.maintainer;

import io.chariots.proto.Layout;
import io.chariots.proto.LayoutReply;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.SealReply;
import io.chariots.proto.StoreReply;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.chariots.maintainer.Stores.layout;
import static io.chariots.maintainer.Stores.stripe;
import static io.chariots.maintainer.TestRecords.record;
import static io.chariots.maintainer.TestRecords.records;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Epoch fencing, the seal's compare-and-set and report, layouts and holes. */
class FlStoreFencingTest {
    @TempDir
    Path dir;

    @Test
    void aStoreNeverSealedStoresNothing() throws Exception {
        try (FlStore store = Stores.open(dir)) {
            assertThat(store.sealedEpoch()).isZero();
            assertThat(store.sealedBy()).isEmpty();
            assertThat(store.store(0, records(1, 3)).status()).isEqualTo(StoreReply.Status.SEALED);
            assertThat(store.store(1, records(1, 3)).status()).isEqualTo(StoreReply.Status.SEALED);
            assertThat(store.fillHoles(0, List.of(1L)).status()).isEqualTo(StoreReply.Status.SEALED);
            assertThat(store.count()).isZero();
            assertThat(store.get(1)).isEmpty();
        }
    }

    @Test
    void onlyTheSealedEpochStoresAnOlderOrUnknownOneIsRefusedWithNothingWritten() throws Exception {
        try (FlStore store = Stores.open(dir)) {
            assertThat(store.seal(2, "q-a").getSealed()).isTrue();
            assertThat(store.store(2, records(1, 3)).status()).isEqualTo(StoreReply.Status.STORED);

            FlStore.StoreResult older = store.store(1, records(4, 6));
            assertThat(older.status()).isEqualTo(StoreReply.Status.SEALED);
            assertThat(older.accepted()).isZero();
            assertThat(store.store(3, records(4, 6)).status()).isEqualTo(StoreReply.Status.SEALED);
            assertThat(store.fillHoles(1, List.of(4L)).status()).isEqualTo(StoreReply.Status.SEALED);
            assertThat(store.count()).isEqualTo(3);
            assertThat(store.maxLid()).isEqualTo(3);
            assertThat(store.get(4)).isEmpty();

            // Sealed at 3, epoch 2 is fenced too.
            assertThat(store.seal(3, "q-b").getSealed()).isTrue();
            assertThat(store.store(2, records(4, 6)).status()).isEqualTo(StoreReply.Status.SEALED);
            assertThat(store.store(3, records(4, 6)).status()).isEqualTo(StoreReply.Status.STORED);
        }
    }

    @Test
    void ofTwoSealersAtOneEpochTheFirstWinsAndMayRetry() throws Exception {
        try (FlStore store = Stores.open(dir)) {
            SealReply first = store.seal(5, "q-a");
            assertThat(first.getSealed()).isTrue();
            assertThat(first.getEpoch()).isEqualTo(5);
            assertThat(first.getBy()).isEqualTo("q-a");

            SealReply second = store.seal(5, "q-b");
            assertThat(second.getSealed()).isFalse();
            assertThat(second.getEpoch()).isEqualTo(5);
            assertThat(second.getBy()).isEqualTo("q-a");
            assertThat(second.getLidsList()).isEmpty();

            assertThat(store.seal(5, "q-a").getSealed()).isTrue();
            SealReply lower = store.seal(4, "q-c");
            assertThat(lower.getSealed()).isFalse();
            assertThat(lower.getEpoch()).isEqualTo(5);
            assertThat(store.sealedEpoch()).isEqualTo(5);
            assertThat(store.sealedBy()).isEqualTo("q-a");

            assertThat(store.seal(6, "q-b").getSealed()).isTrue();
            assertThat(store.seal(6, "q-a").getSealed()).isFalse();
        }
        try (FlStore store = Stores.open(dir)) {
            assertThat(store.sealedEpoch()).isEqualTo(6);
            assertThat(store.sealedBy()).isEqualTo("q-b");
            SealReply refused = store.seal(6, "q-a");
            assertThat(refused.getSealed()).isFalse();
            assertThat(refused.getBy()).isEqualTo("q-b");
            assertThat(store.seal(5, "q-a").getSealed()).isFalse();
            assertThat(store.seal(6, "q-b").getSealed()).isTrue();
        }
    }

    @Test
    void aSealNeedsAnEpochAndASealer() throws Exception {
        try (FlStore store = Stores.open(dir)) {
            assertThatThrownBy(() -> store.seal(0, "q")).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> store.seal(1, "")).isInstanceOf(IllegalArgumentException.class);
            assertThat(store.sealedEpoch()).isZero();
        }
    }

    @Test
    void theSealReportListsEveryLidAboveTheFloorWithItsId() throws Exception {
        // m0 of [m0, m1]: blocks 0, 2, 4...
        Layout l = layout(1, 1, stripe(1, "m0", "m1"));
        try (FlStore store = Stores.openSealed(dir)) {
            store.setSelf("m0");
            assertThat(store.setLayout(l).getAccepted()).isTrue();
            store.store(1, records(1, 1000));
            store.store(1, records(2001, 2003));
            store.store(1, records(2010, 2010));
            store.fillHoles(1, List.of(2005L));
            assertThat(store.floor()).isEqualTo(2003);

            SealReply report = store.seal(2, "q-b");
            assertThat(report.getSealed()).isTrue();
            assertThat(report.getLayout()).isEqualTo(l);
            assertThat(report.getFloor()).isEqualTo(2003);
            assertThat(report.getMaxLid()).isEqualTo(2010);
            assertThat(report.getLidsList()).containsExactly(2005L, 2010L);
            assertThat(report.getIdsList()).containsExactly("", "id-2010");

            // The winner's retry gets the same report.
            assertThat(store.seal(2, "q-b")).isEqualTo(report);
        }
    }

    @Test
    void withoutALayoutTheReportListsEverything() throws Exception {
        try (FlStore store = Stores.openSealed(dir)) {
            store.store(1, records(3, 4));
            store.fillHoles(1, List.of(1L));
            SealReply report = store.seal(2, "q");
            assertThat(report.getFloor()).isZero();
            assertThat(report.getLidsList()).containsExactly(1L, 3L, 4L);
            assertThat(report.getIdsList()).containsExactly("", "id-3", "id-4");
        }
    }

    @Test
    void theSealReportIsCapped() throws Exception {
        try (FlStore store = Stores.openSealed(dir)) {
            int n = FlStore.MAX_REPORTED_LIDS + 5;
            for (long from = 1; from <= n; from += 20_000) {
                List<RecordEnvelope> batch = new ArrayList<>();
                for (long lid = from; lid < from + 20_000 && lid <= n; lid++) {
                    batch.add(RecordEnvelope.newBuilder().setLid(lid).setId("i" + lid).build());
                }
                store.store(1, batch);
            }
            SealReply report = store.seal(2, "q");
            assertThat(report.getLidsCount()).isEqualTo(FlStore.MAX_REPORTED_LIDS);
            assertThat(report.getIdsCount()).isEqualTo(FlStore.MAX_REPORTED_LIDS);
            // A cut report ends below max_lid; the next page, asked after its last LId, lists the rest.
            assertThat(report.getLids(report.getLidsCount() - 1)).isEqualTo(FlStore.MAX_REPORTED_LIDS)
                    .isLessThan(report.getMaxLid());
            SealReply next = store.seal(2, "q", report.getLids(report.getLidsCount() - 1));
            assertThat(next.getSealed()).isTrue();
            long m = FlStore.MAX_REPORTED_LIDS;
            assertThat(next.getLidsList()).containsExactly(m + 1, m + 2, m + 3, m + 4, m + 5);
            assertThat(next.getIdsList()).containsExactly("i" + (m + 1), "i" + (m + 2), "i" + (m + 3), "i" + (m + 4), "i" + (m + 5));
            assertThat(next.getLids(next.getLidsCount() - 1)).isEqualTo(next.getMaxLid());
            assertThat(next.getFloor()).isEqualTo(report.getFloor());
        }
    }

    @Test
    void holesAreFilledReadBackAsHolesCountedAndNeverIndexed() throws Exception {
        try (FlStore store = Stores.openSealed(dir)) {
            store.store(1, records(1, 2));
            FlStore.StoreResult filled = store.fillHoles(1, List.of(3L, 5L, 5L, 4L));
            assertThat(filled.status()).isEqualTo(StoreReply.Status.STORED);
            assertThat(filled.accepted()).isEqualTo(4);
            assertThat(filled.written()).extracting(RecordEnvelope::getLid).containsExactly(3L, 5L, 4L);

            RecordEnvelope hole = store.get(4).orElseThrow();
            assertThat(hole.getHole()).isTrue();
            assertThat(hole.getLid()).isEqualTo(4);
            assertThat(hole.getStoredUs()).isPositive();
            assertThat(hole.toBuilder().clearStoredUs().build())
                    .isEqualTo(RecordEnvelope.newBuilder().setLid(4).setHole(true).build());
            assertThat(store.range(1, 10)).extracting(RecordEnvelope::getHole).containsExactly(false, false, true, true,
                    true);
            assertThat(store.count()).isEqualTo(5);
            assertThat(store.holes()).isEqualTo(3);
            assertThat(store.maxLid()).isEqualTo(5);
            assertThat(store.unindexedCount()).isEqualTo(2);
            assertThat(store.unindexed(0, 100)).extracting(e -> e.getLid()).containsExactly(1L, 2L);

            // A retry is fine and counts nothing twice.
            FlStore.StoreResult again = store.fillHoles(1, List.of(4L, 5L));
            assertThat(again.status()).isEqualTo(StoreReply.Status.STORED);
            assertThat(again.written()).isEmpty();
            assertThat(store.holes()).isEqualTo(3);
            assertThat(store.count()).isEqualTo(5);
        }
        try (FlStore store = Stores.openSealed(dir)) {
            assertThat(store.count()).isEqualTo(5);
            assertThat(store.holes()).isEqualTo(3);
            assertThat(store.get(3).orElseThrow().getHole()).isTrue();
            assertThat(store.unindexed(0, 100)).extracting(e -> e.getLid()).containsExactly(1L, 2L);
        }
    }

    @Test
    void aHoleOverARecordAndARecordOverAHoleConflictWithNothingWritten() throws Exception {
        try (FlStore store = Stores.openSealed(dir)) {
            store.store(1, records(1, 2));
            store.fillHoles(1, List.of(3L));

            FlStore.StoreResult overRecord = store.fillHoles(1, List.of(4L, 2L));
            assertThat(overRecord.status()).isEqualTo(StoreReply.Status.CONFLICT);
            assertThat(overRecord.conflicts()).containsExactly(2L);
            assertThat(store.get(4)).isEmpty();
            assertThat(store.get(2).orElseThrow().getHole()).isFalse();

            FlStore.StoreResult overHole = store.store(1, List.of(record(4), record(3)));
            assertThat(overHole.status()).isEqualTo(StoreReply.Status.CONFLICT);
            assertThat(overHole.conflicts()).containsExactly(3L);
            assertThat(store.get(4)).isEmpty();
            assertThat(store.get(3).orElseThrow().getHole()).isTrue();
            assertThat(store.count()).isEqualTo(3);
            assertThat(store.holes()).isEqualTo(1);
            assertThatThrownBy(() -> store.fillHoles(1, List.of(0L))).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void aLayoutOfTheSealedEpochIsAcceptedFromItsVersionOnAndAnOlderOneRefused() throws Exception {
        Layout v2 = layout(1, 2, stripe(1, "m0", "m1"));
        try (FlStore store = Stores.openSealed(dir)) {
            assertThat(store.layout()).isEqualTo(Layout.getDefaultInstance());
            assertThat(store.setLayout(v2).getAccepted()).isTrue();
            assertThat(store.layout()).isEqualTo(v2);

            LayoutReply older = store.setLayout(layout(1, 1, stripe(1, "m9")));
            assertThat(older.getAccepted()).isFalse();
            assertThat(older.getLayout()).isEqualTo(v2);
            assertThat(older.getSealedEpoch()).isEqualTo(1);
            assertThat(store.setLayout(v2).getAccepted()).isTrue();

            Layout v3 = layout(1, 3, stripe(1, "m0", "m1"), stripe(5001, "m1"));
            assertThat(store.setLayout(v3).getAccepted()).isTrue();
            assertThat(store.layout()).isEqualTo(v3);

            // Sealed at a newer epoch: the old epoch's layouts are refused, the new one's first layout is
            // accepted whatever its version.
            store.seal(2, "q-b");
            assertThat(store.setLayout(layout(1, 9, stripe(1, "m0"))).getAccepted()).isFalse();
            Layout e2 = layout(2, 1, stripe(1, "m0", "m1"), stripe(5001, "m1"), stripe(9001, "m0"));
            assertThat(store.setLayout(e2).getAccepted()).isTrue();
            assertThat(store.sealedEpoch()).isEqualTo(2);
            assertThat(store.sealedBy()).isEqualTo("q-b");
            assertThatThrownBy(() -> store.setLayout(layout(0, 5))).isInstanceOf(IllegalArgumentException.class);
        }
        try (FlStore store = Stores.open(dir)) {
            assertThat(store.layout()).isEqualTo(layout(2, 1, stripe(1, "m0", "m1"), stripe(5001, "m1"),
                    stripe(9001, "m0")));
        }
    }

    @Test
    void aMaintainerJoiningANewerEpochAdoptsIt() throws Exception {
        Layout e3 = layout(3, 1, stripe(1, "m0"));
        try (FlStore store = Stores.openSealed(dir)) {
            LayoutReply adopted = store.setLayout(e3);
            assertThat(adopted.getAccepted()).isTrue();
            assertThat(adopted.getSealedEpoch()).isEqualTo(3);
            assertThat(store.sealedEpoch()).isEqualTo(3);
            assertThat(store.sealedBy()).isEmpty();
            assertThat(store.store(1, records(1, 1)).status()).isEqualTo(StoreReply.Status.SEALED);
            assertThat(store.store(3, records(1, 1)).status()).isEqualTo(StoreReply.Status.STORED);
        }
        try (FlStore store = Stores.open(dir)) {
            assertThat(store.sealedEpoch()).isEqualTo(3);
            assertThat(store.layout()).isEqualTo(e3);
            // Nobody sealed epoch 3 here, so no queue can claim to retry it; the next epoch seals.
            assertThat(store.seal(3, "q-a").getSealed()).isFalse();
            assertThat(store.seal(4, "q-a").getSealed()).isTrue();
        }
    }
}
