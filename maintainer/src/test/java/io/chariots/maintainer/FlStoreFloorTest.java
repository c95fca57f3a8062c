package io.chariots.maintainer;

import io.chariots.proto.IdStatus;
import io.chariots.proto.Layout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static io.chariots.maintainer.FlStoreTest.range;
import static io.chariots.maintainer.Stores.EPOCH;
import static io.chariots.maintainer.Stores.layout;
import static io.chariots.maintainer.Stores.stripe;
import static io.chariots.maintainer.TestRecords.records;
import static org.assertj.core.api.Assertions.assertThat;

/** What a store tells of its progress: the floor, how far it is indexed, which ids it holds unindexed. */
class FlStoreFloorTest {
    @TempDir
    Path dir;

    /**
     * Three maintainers, then m1 fails mid-block 4: m0 owns LIds 1..1000 and
     * 3001..4000 of the first stripe, and from 4501 on (where [m0, m2] takes
     * over) the even blocks: 4501..5000, 6001..7000, ...
     */
    static final Layout THREE_THEN_TWO = layout(EPOCH, 2, stripe(1, "m0", "m1", "m2"), stripe(4501, "m0", "m2"));

    FlStore openAsM0() throws Exception {
        FlStore store = Stores.openSealed(dir);
        store.setSelf("m0");
        return store;
    }

    static void store(FlStore store, long from, long to) throws Exception {
        store.store(EPOCH, records(from, to));
    }

    @Test
    void withoutALayoutOrAnAddressTheFloorStaysAtZero() throws Exception {
        try (FlStore store = Stores.openSealed(dir)) {
            store(store, 1, 10);
            assertThat(store.floor()).isZero();
            store.setLayout(THREE_THEN_TWO);
            assertThat(store.floor()).isZero();
            store.setSelf("m0");
            assertThat(store.floor()).isEqualTo(10);
        }
    }

    @Test
    void theFloorAdvancesOverOwnedLidsOnlyAcrossStripesAndHoles() throws Exception {
        try (FlStore store = openAsM0()) {
            store.setLayout(THREE_THEN_TWO);
            assertThat(store.floor()).isZero();
            store(store, 2, 1000);
            assertThat(store.floor()).as("LId 1 is missing").isZero();
            store(store, 1, 1);
            assertThat(store.floor()).isEqualTo(1000);
            // Other maintainers' LIds do not hold it back, and do not move it.
            store(store, 3001, 3999);
            assertThat(store.floor()).isEqualTo(3999);
            store(store, 4000, 4000);
            // 4001..4500 are m1's; m0 owns again from 4501, mid-block.
            assertThat(store.floor()).isEqualTo(4000);
            store(store, 4501, 4600);
            assertThat(store.floor()).isEqualTo(4600);
            store(store, 6001, 6001);
            assertThat(store.floor()).isEqualTo(4600);
            assertThat(store.fillHoles(EPOCH, range(4601, 5000)).written()).hasSize(400);
            // 5001..6000 are m2's: the floor reaches 6001 through the holes.
            assertThat(store.floor()).isEqualTo(6001);
        }
    }

    @Test
    void theFloorIsPersistedAndRestoredOnReopen() throws Exception {
        try (FlStore store = openAsM0()) {
            store.setLayout(THREE_THEN_TWO);
            store(store, 1, 1000);
            store(store, 3001, 3500);
            store(store, 3502, 3600);
        }
        try (FlStore store = Stores.openSealed(dir)) {
            // Known before the address is: persisted, not recomputed.
            assertThat(store.floor()).isEqualTo(3500);
            store.setSelf("m0");
            assertThat(store.floor()).isEqualTo(3500);
            store(store, 3501, 3501);
            assertThat(store.floor()).isEqualTo(3600);
        }
        try (FlStore store = openAsM0()) {
            assertThat(store.floor()).isEqualTo(3600);
        }
    }

    @Test
    void aMaintainerBackUnderAnotherAddressRecomputesItsFloor() throws Exception {
        Layout l = layout(EPOCH, 1, stripe(1, "m0", "m1"));
        try (FlStore store = openAsM0()) {
            store.setLayout(l);
            store(store, 1, 1000);
            store(store, 1001, 1005);
            assertThat(store.floor()).isEqualTo(1000);
        }
        try (FlStore store = Stores.openSealed(dir)) {
            store.setSelf("m1");
            // As m1 it owns block 1 first: 1001..1005 are stored.
            assertThat(store.floor()).isEqualTo(1005);
        }
    }

    @Test
    void aLayoutIsFollowedByTheFloorAndOneThatRewritesOwnedLidsResetsIt() throws Exception {
        try (FlStore store = openAsM0()) {
            store(store, 1, 1000);
            store(store, 2001, 2100);
            assertThat(store.floor()).isZero();
            store.setLayout(layout(EPOCH, 1, stripe(1, "m0")));
            assertThat(store.floor()).isEqualTo(1000);
            // A stripe from 1001 gives block 1 to m1 and block 2 to m0: the floor follows at once.
            store.setLayout(layout(EPOCH, 2, stripe(1, "m0"), stripe(1001, "m0", "m1")));
            assertThat(store.floor()).isEqualTo(2100);
            // A layout changing owners below the floor (never sent by a correct queue) is not trusted to keep it.
            store.setLayout(layout(EPOCH, 3, stripe(1, "m0"), stripe(501, "m1")));
            assertThat(store.floor()).isEqualTo(500);
        }
    }

    @Test
    void indexedThroughIsTheLidBeforeTheFirstUnindexedOneOrTheMaxLid() throws Exception {
        try (FlStore store = Stores.openSealed(dir)) {
            assertThat(store.indexedThrough()).isZero();
            store(store, 1, 10);
            assertThat(store.indexedThrough()).isZero();
            store.markIndexed(range(1, 5));
            assertThat(store.indexedThrough()).isEqualTo(5);
            store.markIndexed(range(7, 10));
            assertThat(store.indexedThrough()).isEqualTo(5);
            store.markIndexed(List.of(6L));
            assertThat(store.indexedThrough()).isEqualTo(10);
            store(store, 20, 25);
            assertThat(store.indexedThrough()).isEqualTo(19);
            // Holes need no indexing.
            store.fillHoles(EPOCH, List.of(30L));
            store.markIndexed(range(20, 25));
            assertThat(store.indexedThrough()).isEqualTo(30);
            // A late record below the others holds it back.
            store(store, 15, 15);
            assertThat(store.indexedThrough()).isEqualTo(14);
        }
        try (FlStore store = Stores.openSealed(dir)) {
            assertThat(store.indexedThrough()).isEqualTo(14);
            // Only the watermark is persisted: what was acknowledged above it is sent again after a restart.
            assertThat(store.unindexedLids(1, 100)).containsExactly(15L, 20L, 21L, 22L, 23L, 24L, 25L);
            store.markIndexed(List.of(15L));
            assertThat(store.indexedThrough()).isEqualTo(19);
            store.markIndexed(range(20, 25));
            assertThat(store.indexedThrough()).isEqualTo(30);
        }
        try (FlStore store = Stores.openSealed(dir)) {
            assertThat(store.indexedThrough()).isEqualTo(30);
            assertThat(store.unindexedCount()).isZero();
        }
    }

    /**
     * A store written before the watermark kept a marker per unindexed record
     * in the {@code unindexed} column family: it opens with exactly those
     * records unindexed, and the markers are gone.
     */
    @Test
    void aStoreWithUnindexedMarkersOpensWithExactlyThoseUnindexed() throws Exception {
        try (FlStore store = Stores.openSealed(dir)) {
            store(store, 1, 10);
        }
        Path path = dir.resolve("flstore");
        List<org.rocksdb.ColumnFamilyHandle> handles = new java.util.ArrayList<>();
        try (org.rocksdb.DBOptions options = new org.rocksdb.DBOptions();
             org.rocksdb.RocksDB db = org.rocksdb.RocksDB.open(options, path.toString(), List.of(
                     new org.rocksdb.ColumnFamilyDescriptor(org.rocksdb.RocksDB.DEFAULT_COLUMN_FAMILY),
                     new org.rocksdb.ColumnFamilyDescriptor("unindexed".getBytes()),
                     new org.rocksdb.ColumnFamilyDescriptor("meta".getBytes())), handles)) {
            // As the older version left it: records 4 and 7 unindexed, no watermark.
            db.delete(handles.get(2), "indexed_through".getBytes());
            db.put(handles.get(1), FlStore.keyOf(4), new byte[0]);
            db.put(handles.get(1), FlStore.keyOf(7), new byte[0]);
            handles.forEach(org.rocksdb.ColumnFamilyHandle::close);
        }
        try (FlStore store = Stores.openSealed(dir)) {
            assertThat(store.unindexedLids(1, 100)).containsExactly(4L, 7L);
            assertThat(store.indexedThrough()).isEqualTo(3);
            store.markIndexed(List.of(4L, 7L));
            assertThat(store.indexedThrough()).isEqualTo(10);
        }
        handles.clear();
        try (org.rocksdb.DBOptions options = new org.rocksdb.DBOptions();
             org.rocksdb.RocksDB db = org.rocksdb.RocksDB.open(options, path.toString(), List.of(
                     new org.rocksdb.ColumnFamilyDescriptor(org.rocksdb.RocksDB.DEFAULT_COLUMN_FAMILY),
                     new org.rocksdb.ColumnFamilyDescriptor("unindexed".getBytes()),
                     new org.rocksdb.ColumnFamilyDescriptor("meta".getBytes())), handles)) {
            try (org.rocksdb.RocksIterator markers = db.newIterator(handles.get(1))) {
                markers.seekToFirst();
                assertThat(markers.isValid()).as("markers left in the unindexed column family").isFalse();
            }
            handles.forEach(org.rocksdb.ColumnFamilyHandle::close);
        }
        try (FlStore store = Stores.openSealed(dir)) {
            assertThat(store.unindexedCount()).isZero();
            assertThat(store.indexedThrough()).isEqualTo(10);
        }
    }

    @Test
    void heldTellsWhichIdsAreStoredButNotYetIndexed() throws Exception {
        try (FlStore store = Stores.openSealed(dir)) {
            store(store, 1, 10);
            store(store, 2001, 2003);
            store.markIndexed(range(1, 5));
            List<IdStatus> held = store.held(List.of("id-3", "id-9", "id-2002", "nobody", "", "id-9"));
            assertThat(held).containsExactly(
                    IdStatus.newBuilder().setId("id-9").setLid(9).build(),
                    IdStatus.newBuilder().setId("id-2002").setLid(2002).build());
            assertThat(store.held(List.of())).isEmpty();

            // The lowest LId held unindexed, which a queue compares with an epoch's start.
            assertThat(store.lowestUnindexed()).isEqualTo(6);
            store.markIndexed(range(6, 10));
            assertThat(store.lowestUnindexed()).isEqualTo(2001);
            store.markIndexed(range(2001, 2003));
            assertThat(store.lowestUnindexed()).as("nothing unindexed").isZero();
        }
    }
}
