package io.chariots.maintainer;

import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.StoreReply;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.chariots.maintainer.Stores.EPOCH;
import static io.chariots.maintainer.TestRecords.record;
import static io.chariots.maintainer.TestRecords.records;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Storing and reading records; write-once LIds. Epochs, seals and holes: {@link FlStoreFencingTest}. */
class FlStoreTest {
    @TempDir
    Path dir;

    FlStore open() throws Exception {
        return Stores.openSealed(dir);
    }

    static FlStore.StoreResult stored(FlStore store, List<RecordEnvelope> batch) throws Exception {
        FlStore.StoreResult result = store.store(EPOCH, batch);
        assertThat(result.status()).isEqualTo(StoreReply.Status.STORED);
        return result;
    }

    static List<Long> lidsOf(List<RecordEnvelope> records) {
        return records.stream().map(RecordEnvelope::getLid).toList();
    }

    @Test
    void keysAreBigEndianSoKeyOrderIsUnsignedLidOrder() {
        assertThat(FlStore.keyOf(1)).containsExactly(0, 0, 0, 0, 0, 0, 0, 1);
        assertThat(FlStore.keyOf(0x0102030405060708L)).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
        assertThat(FlStore.lidOf(FlStore.keyOf(-2))).isEqualTo(-2);
    }

    @Test
    void recordsOfAnySizeRoundTripByteForByteWithNeighboursIntact() throws Exception {
        List<RecordEnvelope> batch = List.of(record(1, 10), record(2, 600), record(3, 3 << 20), record(4, 10),
                record(5, 600));
        try (FlStore store = open()) {
            stored(store, batch);
            assertRoundTrip(store, batch);
        }
        try (FlStore store = open()) {
            assertRoundTrip(store, batch);
        }
    }

    @Test
    void largeRecordsSurviveFlushesToTablesAndBlobFiles() throws Exception {
        // A 1 MiB memtable flushes many times: records go through SST and blob files, not only the WAL.
        FlStore.Tuning tiny = new FlStore.Tuning(false, 1 << 20, 1 << 20);
        List<RecordEnvelope> all = new ArrayList<>();
        try (FlStore store = FlStore.open(dir.resolve("flstore"), tiny)) {
            store.seal(EPOCH, Stores.SEALER);
            for (long lid = 1; lid <= 40; lid += 4) {
                List<RecordEnvelope> batch = List.of(record(lid, 10), record(lid + 1, 2 << 20), record(lid + 2, 600),
                        record(lid + 3, 20_000));
                stored(store, batch);
                all.addAll(batch);
            }
            assertRoundTrip(store, all);
        }
        try (FlStore store = FlStore.open(dir.resolve("flstore"), tiny)) {
            assertRoundTrip(store, all);
            assertThat(store.count()).isEqualTo(40);
        }
        try (var files = java.nio.file.Files.list(dir.resolve("flstore"))) {
            assertThat(files.map(f -> f.getFileName().toString())).anyMatch(n -> n.endsWith(".blob"));
        }
    }

    private static void assertRoundTrip(FlStore store, List<RecordEnvelope> batch) throws Exception {
        for (RecordEnvelope r : batch) {
            assertThat(store.getBytes(r.getLid())).hasValueSatisfying(b -> {
                // Byte for byte: the stored record is the sent one plus its persist time.
                assertThat(java.util.Arrays.copyOf(b, r.getSerializedSize())).isEqualTo(r.toByteArray());
                assertThat(TestRecords.storedUs(b)).isPositive();
            });
            assertThat(TestRecords.unstamped(store.get(r.getLid()))).contains(r);
        }
        assertThat(TestRecords.unstamped(store.range(1, 10_000))).containsExactlyElementsOf(batch);
    }

    @Test
    void aResentRecordIsAcceptedAgainWithoutBeingWrittenOrCountedTwice() throws Exception {
        try (FlStore store = open()) {
            assertThat(stored(store, records(1, 5)).written()).containsExactlyElementsOf(records(1, 5));
            byte[] before = store.getBytes(3).orElseThrow();
            FlStore.StoreResult overlap = stored(store, records(3, 7));
            assertThat(overlap.accepted()).isEqualTo(5);
            assertThat(overlap.written()).containsExactlyElementsOf(records(6, 7));
            FlStore.StoreResult twice = stored(store, List.of(record(6), record(6)));
            assertThat(twice.accepted()).isEqualTo(2);
            assertThat(twice.written()).isEmpty();
            assertThat(store.count()).isEqualTo(7);
            assertThat(store.unindexedCount()).isEqualTo(7);
            assertThat(store.maxLid()).isEqualTo(7);
            // Not rewritten: the first persist time stays.
            assertThat(store.getBytes(3)).hasValue(before);
            assertThat(TestRecords.unstamped(store.range(1, 100))).containsExactlyElementsOf(records(1, 7));

            store.markIndexed(List.of(1L, 2L));
            assertThat(store.unindexedCount()).isEqualTo(5);
            // A resent batch already indexed is not indexed again: it is not counted unindexed again.
            assertThat(stored(store, records(1, 2)).written()).isEmpty();
            assertThat(store.unindexedCount()).isEqualTo(5);
            assertThat(store.unindexedLids(0, 100)).containsExactly(3L, 4L, 5L, 6L, 7L);
            assertThat(store.count()).isEqualTo(7);
        }
    }

    @Test
    void aResentRecordCarryingAPersistTimeIsStillTheSameRecord() throws Exception {
        try (FlStore store = open()) {
            stored(store, records(1, 3));
            RecordEnvelope readBack = store.get(2).orElseThrow();
            assertThat(readBack.getStoredUs()).isPositive();
            FlStore.StoreResult again = stored(store, List.of(readBack.toBuilder().setStoredUs(12345).build()));
            assertThat(again.written()).isEmpty();
            assertThat(store.get(2)).hasValue(readBack);
        }
    }

    @Test
    void anotherRecordAtATakenLidRefusesTheWholeBatch() throws Exception {
        try (FlStore store = open()) {
            stored(store, records(1, 5));
            RecordEnvelope other = record(3).toBuilder().setId("someone-else").build();
            FlStore.StoreResult result = store.store(EPOCH, List.of(record(6), other, record(7),
                    record(5, 41)));
            assertThat(result.status()).isEqualTo(StoreReply.Status.CONFLICT);
            assertThat(result.conflicts()).containsExactly(3L, 5L);
            assertThat(result.accepted()).isZero();
            assertThat(result.written()).isEmpty();
            // Nothing of the batch was written, not even its new LIds.
            assertThat(store.get(6)).isEmpty();
            assertThat(store.get(7)).isEmpty();
            assertThat(TestRecords.unstamped(store.get(3))).contains(record(3));
            assertThat(store.count()).isEqualTo(5);
            assertThat(store.maxLid()).isEqualTo(5);
            assertThat(store.unindexedCount()).isEqualTo(5);
        }
    }

    @Test
    void twoDifferentRecordsForOneLidInABatchConflict() throws Exception {
        try (FlStore store = open()) {
            FlStore.StoreResult result = store.store(EPOCH, List.of(record(1), record(2),
                    record(2).toBuilder().setSeed(7).build()));
            assertThat(result.status()).isEqualTo(StoreReply.Status.CONFLICT);
            assertThat(result.conflicts()).containsExactly(2L);
            assertThat(store.count()).isZero();
            assertThat(store.get(1)).isEmpty();
        }
    }

    @Test
    void recordsArrivingBelowTheMaxLidAreCountedOnce() throws Exception {
        try (FlStore store = open()) {
            stored(store, records(2001, 2010));
            stored(store, records(1, 10)); // another queue's earlier batch, late
            stored(store, records(5, 6));
            assertThat(store.count()).isEqualTo(20);
            assertThat(store.maxLid()).isEqualTo(2010);
        }
    }

    @Test
    void aRecordWithoutLidOrMarkedAHoleIsRejectedAndNothingOfItsBatchIsWritten() throws Exception {
        try (FlStore store = open()) {
            RecordEnvelope noLid = record(9).toBuilder().setLid(0).build();
            assertThatThrownBy(() -> store.store(EPOCH, List.of(record(8), noLid)))
                    .isInstanceOf(IllegalArgumentException.class);
            RecordEnvelope hole = record(9).toBuilder().setHole(true).build();
            assertThatThrownBy(() -> store.store(EPOCH, List.of(record(8), hole)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("hole");
            assertThat(store.count()).isZero();
            assertThat(store.get(8)).isEmpty();
        }
    }

    @Test
    void rangeReadsReturnOnlyTheStripesThisStoreHolds() throws Exception {
        try (FlStore store = open()) {
            // Maintainer 0 of 3: blocks 0 and 3 (LIds 1..1000 and 3001..4000).
            stored(store, records(1, 1000));
            stored(store, records(3001, 4000));

            assertThat(lidsOf(store.range(990, 20))).containsExactlyElementsOf(range(990, 1000));
            assertThat(store.range(1001, 1000)).isEmpty();
            assertThat(lidsOf(store.range(2995, 10))).containsExactly(3001L, 3002L, 3003L, 3004L);
            assertThat(lidsOf(store.range(0, 3))).containsExactly(1L, 2L, 3L);
            assertThat(lidsOf(store.range(3999, 1000))).containsExactly(3999L, 4000L);
            assertThat(store.range(5000, 1000)).isEmpty();
            assertThat(lidsOf(store.get(List.of(3001L, 5L, 2000L, 5L, 0L), Long.MAX_VALUE))).containsExactly(3001L, 5L);
        }
    }

    @Test
    void answersAreCutAtTheByteBudgetButNeverEmpty() throws Exception {
        try (FlStore store = open()) {
            stored(store, List.of(record(1, 1000), record(2, 1000), record(3, 1000)));
            assertThat(lidsOf(store.range(1, 10, 2500))).containsExactly(1L, 2L);
            assertThat(lidsOf(store.range(1, 10, 10))).containsExactly(1L);
            assertThat(lidsOf(store.get(List.of(3L, 2L, 1L), 10))).containsExactly(3L);
        }
    }

    @Test
    void everythingAcknowledgedSurvivesCloseAndReopenWithoutFlushIncludingWhatIsUnindexed() throws Exception {
        try (FlStore store = open()) {
            stored(store, records(1, 100));
            stored(store, records(2001, 2050));
            store.markIndexed(range(1, 90));
        }
        try (FlStore store = open()) {
            assertThat(store.count()).isEqualTo(150);
            assertThat(store.maxLid()).isEqualTo(2050);
            assertThat(store.unindexedCount()).isEqualTo(60);
            List<Long> expected = new ArrayList<>(range(91, 100));
            expected.addAll(range(2001, 2050));
            assertThat(store.unindexedLids(0, 1000)).containsExactlyElementsOf(expected);
            assertThat(store.unindexedLids(2049, 1000)).containsExactly(2049L, 2050L);
            assertThat(store.unindexed(0, 1000)).hasSize(60).first()
                    .isEqualTo(IndexEntries.of(record(91)));
            assertThat(store.range(1, 10_000)).hasSize(150);
        }
    }

    @Test
    void aClosedStoreFailsCleanly() throws Exception {
        FlStore store = open();
        stored(store, records(1, 3));
        store.close();
        store.close();
        assertThatThrownBy(() -> store.get(1)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> store.range(1, 10)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> store.store(EPOCH, records(4, 4))).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> store.seal(EPOCH + 1, "q")).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> store.held(List.of("id-1"))).isInstanceOf(IllegalStateException.class);
    }

    static List<Long> range(long from, long to) {
        List<Long> out = new ArrayList<>();
        for (long l = from; l <= to; l++) {
            out.add(l);
        }
        return out;
    }

    /** The highest TOId of each origin is kept through a restart and reported by the seal a recovery starts from. */
    @Test
    void theHighestTOIdOfEachOriginSurvivesARestartAndIsReportedWhenSealed() throws Exception {
        try (FlStore store = open()) {
            assertThat(store.maxToids().isEmpty()).isTrue();
            stored(store, List.of(record(1).toBuilder().setHost(0).setToid(1).build(),
                    record(2).toBuilder().setHost(2).setToid(7).build(),
                    record(3).toBuilder().setHost(0).setToid(2).build(),
                    record(4).toBuilder().setHost(1).build())); // shipped by GoChariots: no TOId
            stored(store, List.of(record(5).toBuilder().setHost(2).setToid(8).build()));
            assertThat(store.maxToids().asMap()).containsExactlyInAnyOrderEntriesOf(java.util.Map.of(0, 2L, 2, 8L));
        }
        try (FlStore store = open()) {
            assertThat(store.maxToids().asMap()).containsExactlyInAnyOrderEntriesOf(java.util.Map.of(0, 2L, 2, 8L));
            var sealed = store.seal(EPOCH + 1, "q2");
            assertThat(io.chariots.common.record.OriginMarks.of(sealed.getMaxToidsList()).asMap())
                    .containsExactlyInAnyOrderEntriesOf(java.util.Map.of(0, 2L, 2, 8L));
        }
    }
}
