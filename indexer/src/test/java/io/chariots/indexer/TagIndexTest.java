package io.chariots.indexer;

import io.chariots.proto.CauseKey;
import io.chariots.proto.IdStatus;
import io.chariots.proto.IndexBatch;
import io.chariots.proto.IndexEntry;
import io.chariots.proto.Rejection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The RocksDB store itself, on a real database in a temporary directory. */
class TagIndexTest {
    /** FNV-1a-64("k1:v1"): above 2^63, negative as a long. */
    static final long K1V1 = Long.parseUnsignedLong("9489172654252433228");
    static final long BIG_SEED = Long.parseUnsignedLong("18446744073709551615");

    @TempDir
    Path dir;
    final List<TagIndex> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws InterruptedException {
        open.forEach(TagIndex::close);
        for (TagIndex t : open) { // a move's thread must not meet the next test's hooks
            assertThat(t.awaitMovedAway(30, TimeUnit.SECONDS)).as("a move's thread ended").isTrue();
        }
        TagIndex.moveBatchKeys = 100_000;
        TagIndex.beforeMoveBatch = () -> { };
        TagIndex.betweenScanReads = () -> { };
    }

    TagIndex openIndex() throws Exception {
        TagIndex t = TagIndex.open(dir.resolve("index"));
        open.add(t);
        return t;
    }

    static IndexEntry entry(long lid, long seed, String id, long... hashes) {
        IndexEntry.Builder b = IndexEntry.newBuilder().setLid(lid).setSeed(seed).setId(id);
        for (long h : hashes) {
            b.addTagHash(h);
        }
        return b.build();
    }

    static IndexBatch batch(IndexEntry... entries) {
        return IndexBatch.newBuilder().addAllEntries(List.of(entries)).build();
    }

    static CauseKey key(long hash, long seed) {
        return CauseKey.newBuilder().setHash(hash).setSeed(seed).build();
    }

    @Test
    void roundTripWithHashesAndSeedsAbove2To63() throws Exception {
        TagIndex t = openIndex();
        t.index(batch(entry(1, BIG_SEED, "a", K1V1, 5), entry(2, 7, "b", K1V1), entry(3, BIG_SEED, "c", 5)));

        assertThat(t.exists(K1V1, BIG_SEED)).isEqualTo(1);
        assertThat(t.exists(K1V1, 7)).isEqualTo(2);
        assertThat(t.exists(5, BIG_SEED)).isEqualTo(1);
        assertThat(t.exists(K1V1, 8)).isZero();
        assertThat(t.exists(6, BIG_SEED)).isZero();
        assertThat(t.lidsByTag(K1V1, 0, 100)).containsExactly(1, 2);
        assertThat(t.lidsByTag(5, 0, 100)).containsExactly(1, 3);
        assertThat(t.lidsByTagAndSeed(K1V1, BIG_SEED, 0, 100)).containsExactly(1);
        assertThat(t.lidsBySeed(BIG_SEED, 0, 100)).containsExactly(1, 3);
        assertThat(t.lidsBySeed(7, 0, 100)).containsExactly(2);
        assertThat(t.idStatus("c")).isEqualTo(IdStatus.newBuilder().setId("c").setLid(3).build());
        assertThat(t.idStatus("nope")).isEqualTo(IdStatus.newBuilder().setId("nope").build());
    }

    @Test
    void neighbouringHashesAndSeedsDoNotBleedIntoEachOther() throws Exception {
        TagIndex t = openIndex();
        long[] values = {0, 1, 2, Long.MAX_VALUE, Long.MIN_VALUE, -2, -1};
        long lid = 1;
        for (long h : values) {
            for (long s : values) {
                t.index(batch(entry(lid++, s, "", h)));
            }
        }
        for (int pass = 0; pass < 2; pass++) {
            lid = 1;
            for (long h : values) {
                for (long s : values) {
                    assertThat(t.exists(h, s)).isEqualTo(lid);
                    assertThat(t.lidsByTagAndSeed(h, s, 0, 100)).containsExactly(lid);
                    lid++;
                }
                assertThat(t.lidsByTag(h, 0, 100)).hasSize(values.length);
            }
            for (long s : values) {
                assertThat(t.lidsBySeed(s, 0, 100)).hasSize(values.length);
            }
            assertThat(t.exists(3, 3)).isZero();
            t.flush(); // second pass reads from SST files, through the prefix bloom filters
        }
    }

    @Test
    void existsAnswersTheLowestLidWhateverTheWriteOrder() throws Exception {
        TagIndex t = openIndex();
        t.index(batch(entry(900, 4, "x", K1V1)));
        t.index(batch(entry(17, 4, "y", K1V1), entry(5000, 4, "z", K1V1)));
        assertThat(t.exists(K1V1, 4)).isEqualTo(17);
        t.flush();
        t.index(batch(entry(3, 4, "w", K1V1)));
        assertThat(t.exists(K1V1, 4)).isEqualTo(3);
        assertThat(t.exists(List.of(key(K1V1, 4), key(K1V1, 5), key(1, 4)))).containsExactly(3, 0, 0);
    }

    @Test
    void lookupsAreOrderedByLidAndPageWithAfterLidAndLimit() throws Exception {
        TagIndex t = openIndex();
        List<IndexEntry> entries = new ArrayList<>();
        for (long lid = 250; lid >= 1; lid--) {
            entries.add(entry(lid, lid % 2 == 0 ? BIG_SEED : 1, "id" + lid, K1V1));
        }
        t.index(batch(entries.toArray(IndexEntry[]::new)));

        List<Long> all = new ArrayList<>();
        long after = 0;
        while (true) {
            long[] page = t.lidsByTag(K1V1, after, 100);
            for (long l : page) {
                all.add(l);
            }
            if (page.length < 100) {
                break;
            }
            after = page[page.length - 1];
        }
        assertThat(all).containsExactlyElementsOf(Stream.iterate(1L, l -> l + 1).limit(250).toList());

        assertThat(t.lidsBySeed(BIG_SEED, 10, 3)).containsExactly(12, 14, 16);
        assertThat(t.lidsByTagAndSeed(K1V1, 1, 240, 1000)).containsExactly(241, 243, 245, 247, 249);
        assertThat(t.lidsByTag(K1V1, 250, 10)).isEmpty();
        assertThat(t.lidsByTag(K1V1, -1, 10)).as("after the largest LId").isEmpty();
        assertThat(t.lidsByTag(K1V1, 0, 0)).isEmpty();
    }

    /**
     * Enough entries (about 340,000 keys) that the SST files' filters span
     * about a hundred 4 KiB partitions and their indexes several: every lookup
     * is answered from the files, across partition boundaries, as it was from
     * the memtable.
     */
    @Test
    void lookupsInLargeFilesSpanningManyIndexAndFilterPartitions() throws Exception {
        TagIndex t = openIndex();
        int n = 60_000;
        java.util.Random random = new java.util.Random(11);
        long[] hashes = new long[n];
        long[] seeds = new long[n];
        for (int from = 0; from < n; from += 5_000) {
            List<IndexEntry> entries = new ArrayList<>();
            for (int i = from; i < from + 5_000; i++) {
                hashes[i] = random.nextLong();
                seeds[i] = i % 3 == 0 ? 42 : random.nextLong(); // a third in one chain
                entries.add(entry(i + 1, seeds[i], "id-" + i, hashes[i], K1V1));
            }
            t.index(batch(entries.toArray(IndexEntry[]::new)));
            if (from % 20_000 == 0) {
                t.flush(); // several files: lookups merge what they find in each
            }
        }
        for (int pass = 0; pass < 2; pass++) {
            List<CauseKey> present = new ArrayList<>();
            List<CauseKey> absent = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                present.add(key(hashes[i], seeds[i]));
                absent.add(key(hashes[i], seeds[i] + 1));
            }
            long[] found = t.exists(present);
            for (int i = 0; i < n; i++) {
                assertThat(found[i]).as("pair %d", i).isEqualTo(i + 1);
            }
            assertThat(t.exists(absent)).containsOnly(0L);
            assertThat(t.lidsByTag(hashes[n / 2], 0, 10)).containsExactly(n / 2 + 1);
            assertThat(t.lidsBySeed(42, 0, n)).hasSize(n / 3).startsWith(1, 4, 7).endsWith(n - 2);
            assertThat(t.lidsByTag(K1V1, 29_990, 3)).containsExactly(29_991, 29_992, 29_993);
            assertThat(t.idStatus("id-" + (n - 1)).getLid()).isEqualTo(n);
            assertThat(t.exists(K1V1, 42)).as("the lowest LId, merged over every file").isEqualTo(1);
            t.flush(); // second pass: everything in SST files
        }
        assertThat(t.indexPartitions()).as("index partitions in %s", dir).isGreaterThan(4);
    }

    @Test
    void reindexingTheSameEntriesIsHarmless() throws Exception {
        TagIndex t = openIndex();
        IndexBatch b = IndexBatch.newBuilder().addEntries(entry(1, 9, "a", K1V1)).addEntries(entry(2, 9, "b", K1V1))
                .addRejections(Rejection.newBuilder().setId("r").setReason("cause never came")).build();
        t.index(b);
        t.index(b);
        t.index(batch(entry(2, 9, "b", K1V1)));
        assertThat(t.lidsByTag(K1V1, 0, 100)).containsExactly(1, 2);
        assertThat(t.lidsBySeed(9, 0, 100)).containsExactly(1, 2);
        assertThat(t.lidsByTagAndSeed(K1V1, 9, 0, 100)).containsExactly(1, 2);
        assertThat(t.exists(K1V1, 9)).isEqualTo(1);
        assertThat(t.idStatus("r").getRejected()).isEqualTo("cause never came");
    }

    @Test
    void rejectionsAreVisibleThroughIdStatus() throws Exception {
        TagIndex t = openIndex();
        t.index(IndexBatch.newBuilder()
                .addRejections(Rejection.newBuilder().setId("late").setReason("cause 123 never came").setAtMs(5))
                .addRejections(Rejection.newBuilder().setId("blank"))
                .addRejections(Rejection.newBuilder().setId("ünïcode-✓").setReason("ø")).build());
        t.index(batch(entry(10, 1, "ok")));
        assertThat(t.idStatuses(List.of("late", "ok", "blank", "ünïcode-✓", "unknown"))).containsExactly(
                IdStatus.newBuilder().setId("late").setRejected("cause 123 never came").build(),
                IdStatus.newBuilder().setId("ok").setLid(10).build(),
                IdStatus.newBuilder().setId("blank").setRejected("rejected").build(),
                IdStatus.newBuilder().setId("ünïcode-✓").setRejected("ø").build(),
                IdStatus.newBuilder().setId("unknown").build());
    }

    @Test
    void survivesCloseWithoutFlushAndReopen() throws Exception {
        TagIndex t = openIndex();
        t.index(IndexBatch.newBuilder().addEntries(entry(1, BIG_SEED, "a", K1V1)).addEntries(entry(2, BIG_SEED, "b", 5))
                .addRejections(Rejection.newBuilder().setId("r").setReason("why")).build());
        t.close();
        try (Stream<Path> files = Files.list(dir.resolve("index"))) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .as("nothing flushed: the data can only come back from the WAL")
                    .noneMatch(n -> n.endsWith(".sst"));
        }

        TagIndex again = openIndex();
        assertThat(again.exists(K1V1, BIG_SEED)).isEqualTo(1);
        assertThat(again.lidsBySeed(BIG_SEED, 0, 10)).containsExactly(1, 2);
        assertThat(again.lidsByTag(5, 0, 10)).containsExactly(2);
        assertThat(again.idStatus("b").getLid()).isEqualTo(2);
        assertThat(again.idStatus("r").getRejected()).isEqualTo("why");
    }

    @Test
    void aClosedIndexRefusesCallsInsteadOfCrashing() throws Exception {
        TagIndex t = openIndex();
        t.close();
        t.close();
        assertThatThrownBy(() -> t.exists(1, 1)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> t.index(batch(entry(1, 1, "a")))).isInstanceOf(IllegalStateException.class);
        assertThat(t.estimatedKeys()).isEqualTo(-1);
    }

    @Test
    void backgroundWorkCountsFlushesAndTheCompactionsThatRewriteThem() throws Exception {
        TagIndex t = openIndex();
        assertThat(t.backgroundWork().jobs()).isZero();
        for (int f = 1; f <= 2; f++) {
            t.index(batch(entry(f, f, "id" + f, K1V1)));
            t.flush();
        }
        TagIndex.BackgroundWork flushed = t.backgroundWork();
        assertThat(flushed.jobs()).as("two flushes of each column family").isEqualTo(4);
        assertThat(flushed.writeAmplification()).as("each byte written once").isCloseTo(1.0, within(0.01));
        for (int f = 3; f <= 5; f++) {
            t.index(batch(entry(f, f, "id" + f, K1V1)));
            t.flush();
        }
        // Five sorted runs in each family, one more than universal compaction's trigger: RocksDB merges them in the
        // background.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        TagIndex.BackgroundWork merged = t.backgroundWork();
        while (merged.jobs() < 12 && System.nanoTime() < deadline) {
            Thread.sleep(20);
            merged = t.backgroundWork();
        }
        assertThat(merged.jobs()).as("five flushes and a compaction of each family").isGreaterThanOrEqualTo(12);
        assertThat(merged.writeAmplification()).as("the compaction wrote the flushed bytes again").isGreaterThan(1.2);
        assertThat(merged.cpuSeconds()).isPositive();
        t.close();
        assertThatThrownBy(t::backgroundWork).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    /**
     * An index written before tags and chains had a column family of their
     * own: every key in the default one, as that version wrote them (the pair
     * key merged with "max" over the complemented LId).
     */
    @Test
    void anIndexWrittenBeforeTheSplitIsMovedWhenOpenedAndAnswersAsBefore() throws Exception {
        Path old = dir.resolve("index");
        int n = 60_000; // 120,000 ranged keys: more than one of the move's write batches
        try (org.rocksdb.Options o = new org.rocksdb.Options().setCreateIfMissing(true).setMergeOperatorName("max")
                .useCappedPrefixExtractor(IndexKeys.PAIR_PREFIX_LENGTH);
             org.rocksdb.RocksDB db = org.rocksdb.RocksDB.open(o, old.toString());
             org.rocksdb.WriteBatch wb = new org.rocksdb.WriteBatch();
             org.rocksdb.WriteOptions wo = new org.rocksdb.WriteOptions()) {
            for (long lid = 1; lid <= n; lid++) {
                long seed = lid % 2 == 0 ? 42 : BIG_SEED;
                wb.merge(IndexKeys.pairPrefix(K1V1, seed), IndexKeys.u64(~lid));
                wb.put(IndexKeys.tag(K1V1, lid), IndexKeys.u64(seed));
                wb.put(IndexKeys.seed(seed, lid), IndexKeys.EMPTY);
                wb.put(IndexKeys.id("id-" + lid), IndexKeys.u64(lid));
            }
            db.write(wo, wb);
        }

        TagIndex t = openIndex();
        assertThat(t.lidsByTag(K1V1, 0, 3)).containsExactly(1, 2, 3);
        assertThat(t.lidsByTag(K1V1, n - 2, 10)).containsExactly(n - 1, n);
        assertThat(t.lidsByTagAndSeed(K1V1, 42, 0, 2)).containsExactly(2, 4);
        assertThat(t.lidsBySeed(BIG_SEED, 0, n)).hasSize(n / 2).startsWith(1, 3).endsWith(n - 1);
        assertThat(t.exists(K1V1, 42)).isEqualTo(2);
        assertThat(t.idStatus("id-" + n).getLid()).isEqualTo(n);
        t.index(batch(entry(n + 1, 42, "new", K1V1)));
        assertThat(t.lidsByTag(K1V1, n - 1, 10)).containsExactly(n, n + 1);
        assertThat(t.awaitMovedAway(60, TimeUnit.SECONDS)).as("the move and the rewrite after it finished").isTrue();
        assertThat(t.moving()).isFalse();
        assertThat(t.movedAwayOutcome).isEqualTo("done");
        t.close();

        // The default family holds no ranged key any more, and opening again moves nothing and loses nothing.
        withRawFamilies(old, (db, point, ranged) -> {
            assertThat(rangedKeys(db, point)).isZero();
            assertThat(rangedKeys(db, ranged)).isEqualTo(2L * n + 2);
            assertThat(TagIndex.moveRangedKeys(db, point, ranged, old, TagIndex.MoveGuard.NONE)).isZero();
        });
        TagIndex again = openIndex();
        assertThat(again.lidsBySeed(42, n - 4, 10)).containsExactly(n - 2, n, n + 1);
        assertThat(again.lidsByTag(K1V1, n - 1, 10)).containsExactly(n, n + 1);
    }

    /** An old-layout index in SST files, as a long-running indexer has it, written with every key in the default family. */
    private static void writeOldLayout(Path where, int n) throws Exception {
        try (org.rocksdb.Options o = new org.rocksdb.Options().setCreateIfMissing(true).setMergeOperatorName("max")
                .useCappedPrefixExtractor(IndexKeys.PAIR_PREFIX_LENGTH);
             org.rocksdb.RocksDB db = org.rocksdb.RocksDB.open(o, where.toString());
             org.rocksdb.WriteBatch wb = new org.rocksdb.WriteBatch();
             org.rocksdb.WriteOptions wo = new org.rocksdb.WriteOptions();
             org.rocksdb.FlushOptions fo = new org.rocksdb.FlushOptions().setWaitForFlush(true)) {
            for (long lid = 1; lid <= n; lid++) {
                wb.merge(IndexKeys.pairPrefix(K1V1, lid), IndexKeys.u64(~lid));
                wb.put(IndexKeys.tag(K1V1, lid), IndexKeys.u64(lid));
                wb.put(IndexKeys.seed(lid, lid), IndexKeys.EMPTY);
            }
            db.write(wo, wb);
            db.flush(fo);
        }
    }

    /**
     * A move cut short by a crash: some keys already copied into the ranged
     * family (as RocksDB's WAL keeps them after a SIGKILL), none deleted yet.
     * The next open finishes it, and nothing is lost or doubled; the
     * default family is then rewritten without the moved keys.
     */
    @Test
    void aMoveCutShortIsFinishedAtTheNextOpenAndTheMovedKeysLeaveTheDefaultFamily() throws Exception {
        Path old = dir.resolve("index");
        int n = 30_000;
        writeOldLayout(old, n);
        withRawFamilies(old, (db, point, ranged) -> {
            for (long lid = 1; lid <= n / 2; lid++) { // half the tags copied before the crash
                db.put(ranged, IndexKeys.tag(K1V1, lid), IndexKeys.u64(lid));
            }
        });

        TagIndex t = openIndex();
        assertThat(t.lidsByTag(K1V1, 0, n + 10)).as("every tag once, in order").hasSize(n).startsWith(1, 2).endsWith(n);
        assertThat(t.lidsBySeed(n, 0, 10)).containsExactly(n);
        assertThat(t.exists(K1V1, 7)).isEqualTo(7);
        assertThat(t.awaitMovedAway(60, TimeUnit.SECONDS)).as("the rewrite of the default family finished").isTrue();
        t.close();
        withRawFamilies(old, (db, point, ranged) -> {
            // The estimate counts what the files hold, deleted or not: after the rewrite, the pairs alone.
            assertThat(db.getLongProperty(point, "rocksdb.estimate-num-keys")).as("keys in the default family's files").isEqualTo(n);
            assertThat(rangedKeys(db, ranged)).isEqualTo(2L * n);
        });
    }

    /** What a test does with an index's two column families opened directly, as RocksDB holds them. */
    @FunctionalInterface
    interface RawFamilies {
        void use(org.rocksdb.RocksDB db, org.rocksdb.ColumnFamilyHandle point, org.rocksdb.ColumnFamilyHandle ranged) throws Exception;
    }

    /** Opens the index at {@code where} with plain RocksDB (creating the ranged family if missing), runs {@code body}, closes it. */
    private static void withRawFamilies(Path where, RawFamilies body) throws Exception {
        try (org.rocksdb.DBOptions o = new org.rocksdb.DBOptions().setCreateMissingColumnFamilies(true);
             org.rocksdb.ColumnFamilyOptions cfo = new org.rocksdb.ColumnFamilyOptions().setMergeOperatorName("max")) {
            List<org.rocksdb.ColumnFamilyHandle> handles = new ArrayList<>();
            try (org.rocksdb.RocksDB db = org.rocksdb.RocksDB.open(o, where.toString(), List.of(
                    new org.rocksdb.ColumnFamilyDescriptor(org.rocksdb.RocksDB.DEFAULT_COLUMN_FAMILY, cfo),
                    new org.rocksdb.ColumnFamilyDescriptor(TagIndex.RANGED.getBytes(java.nio.charset.StandardCharsets.UTF_8), cfo)), handles)) {
                try {
                    body.use(db, handles.get(0), handles.get(1));
                } finally {
                    handles.forEach(org.rocksdb.ColumnFamilyHandle::close);
                }
            }
        }
    }

    private static long rangedKeys(org.rocksdb.RocksDB db, org.rocksdb.ColumnFamilyHandle cf) {
        long n = 0;
        try (org.rocksdb.RocksIterator it = db.newIterator(cf)) {
            for (it.seekToFirst(); it.isValid(); it.next()) {
                if (IndexKeys.ranged(it.key())) {
                    n++;
                }
            }
        }
        return n;
    }

    /** Closed at once after opening an earlier version's index: wherever the move stood, nothing is lost. */
    @Test
    void closingRightAfterOpeningAnIndexToMoveIsClean() throws Exception {
        Path old = dir.resolve("index");
        writeOldLayout(old, 20_000);
        TagIndex t = openIndex();
        t.close();
        assertThat(t.awaitMovedAway(10, TimeUnit.SECONDS)).as("the move's thread is done").isTrue();
        TagIndex again = openIndex();
        assertThat(again.lidsByTag(K1V1, 19_998, 10)).containsExactly(19_999L, 20_000L);
        assertThat(again.lidsByTag(K1V1, 0, 30_000)).as("every tag once, in order").hasSize(20_000).isSorted();
    }

    /**
     * The index serves while an earlier version's keys are moved. Held after
     * three of its batches (3,000 of 10,000 tags moved),
     * every lookup answers every LId once and in order, pages across where
     * the copy stands, and a new write is seen. A scan that reads the default
     * family, lets the move take the rest of the tags from there, then reads
     * the ranged family, still answers all of them (read in the other order,
     * it would miss 7,000). Held again with the tags moved and the chains
     * not, both answer; closed there without waiting for the move, the move
     * stops, and the next open finishes it.
     */
    @Test
    void lookupsAndWritesDuringAMoveSeeEveryKeyOnceAndAStoppedMoveIsFinishedAtTheNextOpen() throws Exception {
        Path old = dir.resolve("index");
        int n = 10_000; // tags and chains: ten batches of 1,000 each
        writeOldLayout(old, n);
        long[] all = java.util.stream.LongStream.rangeClosed(1, n).toArray();
        TagIndex.moveBatchKeys = 1000;
        Hold afterThreeBatches = new Hold(4);
        Hold tagsMoved = new Hold(11); // the first batch of chains: the tenth moved the last tags
        java.util.concurrent.atomic.AtomicInteger step = new java.util.concurrent.atomic.AtomicInteger();
        TagIndex.beforeMoveBatch = () -> {
            int s = step.incrementAndGet();
            afterThreeBatches.holdAt(s);
            tagsMoved.holdAt(s);
        };
        TagIndex t = openIndex();
        try {
            afterThreeBatches.awaitHeld();
            assertThat(t.moving()).isTrue();
            familyCounts(t, 3000, n - 3000);
            assertThat(t.lidsByTag(K1V1, 0, 2 * n)).as("every tag once, in order").containsExactly(all);
            assertThat(t.lidsByTag(K1V1, 2990, 20)).as("a page across where the copy stands")
                    .containsExactly(java.util.stream.LongStream.rangeClosed(2991, 3010).toArray());
            assertThat(t.lidsByTagAndSeed(K1V1, 7000, 0, 10)).containsExactly(7000);
            assertThat(t.lidsBySeed(5, 0, 10)).containsExactly(5);
            assertThat(t.exists(K1V1, 9000)).isEqualTo(9000);
            t.index(batch(entry(n + 1, n + 1, "new", K1V1)));
            assertThat(t.lidsByTag(K1V1, n - 1, 10)).containsExactly(n, n + 1);

            java.util.concurrent.atomic.AtomicBoolean once = new java.util.concurrent.atomic.AtomicBoolean();
            TagIndex.betweenScanReads = () -> {
                if (once.compareAndSet(false, true)) { // the move takes the other 7,000 tags from the default family
                    afterThreeBatches.release();
                    tagsMoved.awaitHeldQuietly();
                }
            };
            assertThat(t.lidsByTag(K1V1, 0, 2 * n)).as("every tag once, the move going on between the two reads")
                    .hasSize(n + 1).startsWith(1, 2).endsWith(n, n + 1);
            assertThat(once.get()).isTrue();
            TagIndex.betweenScanReads = () -> { };

            assertThat(t.moving()).isTrue();
            familyCounts(t, n + 1, 0);
            assertThat(t.lidsByTag(K1V1, n - 2, 10)).containsExactly(n - 1, n, n + 1);
            assertThat(t.lidsBySeed(5, 0, 10)).as("a chain not moved yet").containsExactly(5);
            assertThat(t.lidsBySeed(n + 1, 0, 10)).as("a chain written during the move").containsExactly(n + 1);

            Thread closer = new Thread(t::close); // the move holds no lock while held between two batches
            closer.start();
            closer.join(10_000);
            assertThat(closer.isAlive()).as("close did not wait for the held move").isFalse();
        } finally {
            afterThreeBatches.release();
            tagsMoved.release();
        }
        assertThat(t.awaitMovedAway(10, TimeUnit.SECONDS)).isTrue();
        assertThat(t.movedAwayOutcome).as("closed while moving: the move stopped").isEqualTo("move stopped");

        TagIndex.beforeMoveBatch = () -> { };
        TagIndex again = openIndex();
        assertThat(again.lidsBySeed(7, 0, 10)).as("a chain, after reopening").containsExactly(7);
        assertThat(again.awaitMovedAway(60, TimeUnit.SECONDS)).isTrue();
        assertThat(again.movedAwayOutcome).isEqualTo("done");
        assertThat(again.moving()).isFalse();
        assertThat(again.lidsByTag(K1V1, 0, 2 * n)).hasSize(n + 1).startsWith(1, 2).endsWith(n, n + 1);
        assertThat(again.lidsBySeed(n + 1, 0, 10)).containsExactly(n + 1);
        assertThat(again.lidsBySeed(n, 0, 10)).containsExactly(n);
        assertThat(afterThreeBatches.timedOut || tagsMoved.timedOut).as("a hold timed out").isFalse();
        again.close();
        withRawFamilies(old, (db, point, ranged) -> {
            assertThat(rangedKeys(db, point)).as("ranged keys left in the default family").isZero();
            assertThat(rangedKeys(db, ranged)).isEqualTo(2L * n + 2);
        });
    }

    /** Holds the move's thread at one step until released (at most a minute, so that a failing test cannot hang). */
    private static final class Hold {
        private final int atStep;
        private final java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
        private final java.util.concurrent.CountDownLatch released = new java.util.concurrent.CountDownLatch(1);
        volatile boolean timedOut;

        Hold(int atStep) {
            this.atStep = atStep;
        }

        void holdAt(int step) {
            if (step == atStep) {
                held.countDown();
                try {
                    timedOut = !released.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        void awaitHeld() throws InterruptedException {
            assertThat(held.await(30, TimeUnit.SECONDS)).as("the move reached step " + atStep).isTrue();
        }

        void awaitHeldQuietly() {
            try {
                awaitHeld();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        void release() {
            released.countDown();
        }
    }

    /** The union of the two families' answers while moving: LIds are unsigned, each comes once, the first {@code limit}. */
    @Test
    void theUnionOfTwoFamiliesAnswersIsOrderedUnsignedWithoutDuplicates() {
        long high = Long.MIN_VALUE + 1; // 2^63 + 1
        assertThat(TagIndex.union(new long[] {1, 3, high}, new long[] {2, 3, -1L}, 10)).containsExactly(1, 2, 3, high, -1L);
        assertThat(TagIndex.union(new long[] {1, 3, high}, new long[] {2, 3, -1L}, 3)).containsExactly(1, 2, 3);
        assertThat(TagIndex.union(new long[0], new long[] {5}, 10)).containsExactly(5);
    }

    /** Asserts how many tag keys of {@code K1V1} each family of the open index {@code t} holds. */
    private static void familyCounts(TagIndex t, long inRanged, long inDefault) {
        assertThat(t.tagKeysIn(false, K1V1)).as("tag keys in the ranged family").isEqualTo(inRanged);
        assertThat(t.tagKeysIn(true, K1V1)).as("tag keys in the default family").isEqualTo(inDefault);
    }

    /** Closed while the rewrite after a move runs: close stops it rather than wait for it, and nothing is lost. */
    @Test
    void closingDuringTheRewriteAfterAMoveStopsIt() throws Exception {
        Path old = dir.resolve("index");
        writeOldLayout(old, 400_000); // a rewrite of 400,000 pairs and 800,000 moved keys: hundreds of milliseconds here
        TagIndex t = openIndex();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!t.movedAwayRunning && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertThat(t.movedAwayRunning).as("the rewrite started").isTrue();
        t.close();
        assertThat(t.awaitMovedAway(10, TimeUnit.SECONDS)).as("the rewrite's thread is done").isTrue();
        assertThat(t.movedAwayOutcome).as("close stopped the rewrite instead of waiting for it").isEqualTo("cancelled");
        TagIndex again = openIndex();
        assertThat(again.lidsByTag(K1V1, 399_998, 10)).containsExactly(399_999L, 400_000L);
        assertThat(again.exists(K1V1, 400_000)).isEqualTo(400_000);
    }

    @Test
    void aSecondOpenOfTheSameDirectoryFailsCleanly() throws Exception {
        openIndex();
        assertThatThrownBy(this::openIndex).isInstanceOf(java.io.IOException.class).hasMessageContaining("cannot open index");
    }
}
