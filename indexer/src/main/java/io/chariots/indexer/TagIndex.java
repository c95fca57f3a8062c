package io.chariots.indexer;

import io.chariots.common.store.BatchBytes;
import io.chariots.common.store.RocksLibrary;
import io.chariots.proto.CauseKey;
import io.chariots.proto.IdStatus;
import io.chariots.proto.IndexBatch;
import io.chariots.proto.IndexEntry;
import io.chariots.proto.Rejection;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompactRangeOptions;
import org.rocksdb.CompactionStyle;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.Env;
import org.rocksdb.FlushOptions;
import org.rocksdb.IndexType;
import org.rocksdb.LRUCache;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.RocksMemEnv;
import org.rocksdb.Slice;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The indexer's RocksDB store: tag hash → (seed, LId), seed → LIds, id →
 * LId or rejection (layout in {@link IndexKeys}).
 *
 * <p><b>Durability.</b> {@link #index} writes a whole {@link IndexBatch} (or,
 * for the writer's group commit, several) as one {@link WriteBatch}, atomic
 * across both column families, through their shared WAL with
 * {@code sync=false}: when it returns, the batch is in the OS
 * page cache, so it survives a SIGKILL of this process
 * (not a power loss), which is what acknowledging a batch promises (I5).
 * Writes are idempotent: the same entries write the same keys.
 *
 * <p><b>Two column families.</b> The keys looked up whole (pairs, ids,
 * rejections) live in the default column family, the ranged keys that are
 * only ever scanned (tags and chains) in {@value #RANGED}, each with the
 * table it needs: point lookups a bloom filter, scans none (a seek cannot use
 * a whole-key filter), and each family is compacted on its own. Split so,
 * the index costs about a fifth less CPU a record ({@code bench-index}, in
 * the README's Performance section). An index written before the split has
 * its ranged keys moved in the background once it is opened, while it serves
 * ({@link #moveRangedKeys}; scans read both families until the move is
 * done), and its default family then rewritten; an older build cannot open
 * an index once split (RocksDB names the family it was not given).
 *
 * <p><b>Reads.</b> Thread-safe and lock-free with respect to writes (RocksDB
 * iterators read a consistent snapshot; while an earlier version's keys are
 * moved, a scan answers the union of two, complete). The default family's table has a
 * 10-bit bloom filter over whole keys and over the first
 * {@value IndexKeys#PAIR_PREFIX_LENGTH} bytes (a capped prefix extractor), so
 * an existence check for a {@code (hash, seed)} pair that is not there
 * usually skips every SST file; the ranged family has no prefix extractor,
 * so its scans seek in total order. Index and filter blocks are partitioned: a lookup
 * reads a 4 KiB piece of each in a file, not the file's whole ones, which in
 * a large index are megabytes and together outgrow the block cache.
 *
 * <p><b>Lifetime.</b> Every RocksDB object is closed. {@link #close} waits for
 * operations in flight and later calls throw {@link IllegalStateException},
 * never a native crash.
 */
public final class TagIndex implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TagIndex.class);

    /** Default block cache: 32 MiB. */
    public static final long DEFAULT_BLOCK_CACHE_BYTES = 32L << 20;
    /** Default memtable size: 16 MiB, as {@code indexer.write_buffer_mb}, split evenly between the two column families. */
    public static final long DEFAULT_WRITE_BUFFER_BYTES = 16L << 20;
    /** The column family of the ranged keys ({@code 'T'} tags and {@code 's'} chains). */
    static final String RANGED = "ranged";

    private final Path dir;
    private final RocksDB db;
    private final ColumnFamilyHandle point; // the default column family
    private final ColumnFamilyHandle ranged;
    private final int rangedId;
    /**
     * An earlier version's ranged keys are being moved out of the default
     * family: scans read it too. Cleared once the move has deleted them there.
     */
    private volatile boolean moving;
    private final List<AutoCloseable> natives; // closed after the database, in this order
    private final WriteOptions writeOptions;
    /** The rewrite after a move; its cancel flag exists before the rewrite starts, and {@link #close} sets it. */
    private final CompactRangeOptions movedAway = new CompactRangeOptions().setExclusiveManualCompaction(false).setCanceled(false);
    /** Counted down when the move and the rewrite after it are over: at once if there is nothing to move. */
    private final CountDownLatch movedAwayDone = new CountDownLatch(1);
    /** How the move and the rewrite after it ended: null while they run or if none ran (tests). */
    volatile String movedAwayOutcome;
    /** The rewrite after a move holds the read lock and is in RocksDB (tests). */
    volatile boolean movedAwayRunning;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean closed;

    static {
        RocksLibrary.load();
    }

    private TagIndex(Path dir, RocksDB db, List<ColumnFamilyHandle> handles, List<AutoCloseable> natives) {
        this.dir = dir;
        this.db = db;
        this.point = handles.get(0);
        this.ranged = handles.get(1);
        this.rangedId = ranged.getID();
        this.natives = natives;
        this.writeOptions = new WriteOptions().setSync(false).setDisableWAL(false);
    }

    /** Opens (creating if missing) the index at {@code dir} with default cache and memtable sizes. */
    public static TagIndex open(Path dir) throws IOException {
        return open(dir, DEFAULT_BLOCK_CACHE_BYTES, DEFAULT_WRITE_BUFFER_BYTES);
    }

    /**
     * Opens (creating if missing) the index at {@code dir}.
     *
     * @param writeBufferBytes memtable size, shared evenly by the two column families
     * @throws IOException if the directory cannot be created or RocksDB cannot open it (e.g. locked by another process)
     */
    public static TagIndex open(Path dir, long blockCacheBytes, long writeBufferBytes) throws IOException {
        Files.createDirectories(dir);
        return open(dir, blockCacheBytes, writeBufferBytes, null);
    }

    /**
     * An index kept in memory only (RocksDB's memory environment), with the
     * same behaviour: for simulations, where a run opens and drops many.
     */
    public static TagIndex openInMemory(String name) throws IOException {
        return open(Path.of("/memory", name), 1L << 20, 1L << 20, new RocksMemEnv(Env.getDefault()));
    }

    private static TagIndex open(Path dir, long blockCacheBytes, long writeBufferBytes, Env env) throws IOException {
        LRUCache cache = new LRUCache(blockCacheBytes);
        BloomFilter filter = new BloomFilter(10);
        long memtable = Math.max(512L << 10, writeBufferBytes / 2);
        DBOptions dbOptions = new DBOptions()
                .setCreateIfMissing(true)
                .setCreateMissingColumnFamilies(true)
                .setIncreaseParallelism(2)
                .setMaxBackgroundJobs(2)
                .setKeepLogFileNum(5)
                .setMaxLogFileSize(8L << 20);
        ColumnFamilyOptions pointOptions = new ColumnFamilyOptions()
                .setWriteBufferSize(memtable)
                .setCompressionType(CompressionType.LZ4_COMPRESSION)
                .setMergeOperatorName("max")
                // Index keys are hashes, written in random order: universal compaction rewrites
                // each byte far fewer times than leveled compaction would.
                .setCompactionStyle(CompactionStyle.UNIVERSAL)
                .setMaxWriteBufferNumber(3)
                .setMemtablePrefixBloomSizeRatio(0.05)
                .setMemtableWholeKeyFiltering(true)
                .useCappedPrefixExtractor(IndexKeys.PAIR_PREFIX_LENGTH)
                .setTableFormatConfig(new BlockBasedTableConfig()
                        .setBlockCache(cache)
                        .setFilterPolicy(filter)
                        .setWholeKeyFiltering(true)
                        .setCacheIndexAndFilterBlocks(true)
                        .setPinL0FilterAndIndexBlocksInCache(true)
                        // Partitioned: a lookup loads one 4 KiB piece (metadata_block_size) of a file's index
                        // and of its filter; the small top levels stay pinned (both RocksDB's defaults). Whole,
                        // a compacted 64 MiB file's filter is megabytes: past a few million records they no
                        // longer fit the block cache and lookups reloaded them (bench-index at 12M records:
                        // 28-87 us a cause, 3-6 partitioned).
                        .setIndexType(IndexType.kTwoLevelIndexSearch)
                        .setPartitionFilters(true));
        ColumnFamilyOptions rangedOptions = new ColumnFamilyOptions()
                .setWriteBufferSize(memtable)
                .setCompressionType(CompressionType.LZ4_COMPRESSION)
                .setCompactionStyle(CompactionStyle.UNIVERSAL)
                .setMaxWriteBufferNumber(3)
                // No filter: only seeks read these keys.
                .setTableFormatConfig(new BlockBasedTableConfig()
                        .setBlockCache(cache)
                        .setCacheIndexAndFilterBlocks(true)
                        .setPinL0FilterAndIndexBlocksInCache(true)
                        .setIndexType(IndexType.kTwoLevelIndexSearch));
        List<AutoCloseable> natives = new ArrayList<>(List.of(dbOptions, pointOptions, rangedOptions, filter, cache));
        if (env != null) {
            dbOptions.setEnv(env);
            natives.add(env);
        }
        List<ColumnFamilyHandle> handles = new ArrayList<>();
        RocksDB db = null;
        TagIndex opened = null;
        try {
            db = RocksDB.open(dbOptions, dir.toString(), List.of(
                    new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, pointOptions),
                    new ColumnFamilyDescriptor(RANGED.getBytes(StandardCharsets.UTF_8), rangedOptions)), handles);
            boolean earlierLayout = holdsRangedKeys(db, handles.get(0));
            opened = new TagIndex(dir, db, handles, natives);
            if (earlierLayout) {
                opened.moveInBackground();
            } else {
                opened.movedAwayDone.countDown();
            }
            return opened;
        } catch (RocksDBException e) {
            throw new IOException("cannot open index at " + dir + ": " + e.getMessage(), e);
        } finally {
            if (opened == null) { // whatever failed, nothing stays open (a second open in this process would find the lock)
                handles.forEach(ColumnFamilyHandle::close);
                if (db != null) {
                    db.close();
                }
                closeAll(natives);
            }
        }
    }

    /** Whether {@code cf} holds a ranged key: an index written before the split, or one whose move was cut short. */
    static boolean holdsRangedKeys(RocksDB db, ColumnFamilyHandle cf) throws RocksDBException {
        for (byte space : new byte[] {IndexKeys.TAG, IndexKeys.SEED}) {
            try (Slice upper = new Slice(new byte[] {(byte) (space + 1)});
                 ReadOptions ro = new ReadOptions().setIterateUpperBound(upper).setTotalOrderSeek(true).setFillCache(false);
                 RocksIterator it = db.newIterator(cf, ro)) {
                it.seek(new byte[] {space});
                if (it.isValid()) {
                    return true;
                }
                it.status(); // an error reads as "nothing to move" otherwise, and the keys not moved as gone
            }
        }
        return false;
    }

    /** Keys per write batch of a move (tests make it small). */
    static volatile int moveBatchKeys = 100_000;
    /** Runs before each step of a move in the background (tests hold a move midway with it). JVM-wide, as the next. */
    static volatile Runnable beforeMoveBatch = () -> { };
    /** Runs between the two reads of a scan while moving (tests let the move go on there). */
    static volatile Runnable betweenScanReads = () -> { };

    /**
     * What each batch of a move runs under: the index's read lock while it serves, so that close
     * waits for one step at most and the move holds no RocksDB iterator
     * between steps (one open for the whole move would keep every memtable
     * and file of the default family alive while the indexer writes to it).
     */
    interface MoveGuard {
        /** No guard: a database nothing else uses (tests). */
        MoveGuard NONE = new MoveGuard() {
            @Override
            public boolean enter() {
                return true;
            }

            @Override
            public void exit() {
            }
        };

        /** Before a step: false stops the move there. */
        boolean enter();

        /** After a step that {@link #enter} let through. */
        void exit();
    }

    /**
     * Moves the ranged keys an index written before the split holds in its
     * default column family into {@link #RANGED} in batches, each copying its
     * keys and deleting them there (a range tombstone) in one atomic write:
     * a move cut short (a crash, a stop) goes on from where it stood at the
     * next open. An index without such keys costs two seeks.
     *
     * @param guard entered before each batch of {@link #moveBatchKeys} keys, and left after it
     * @return keys moved, or -1 if stopped
     */
    static long moveRangedKeys(RocksDB db, ColumnFamilyHandle from, ColumnFamilyHandle to, Path dir, MoveGuard guard)
            throws RocksDBException {
        long moved = 0;
        long reportAt = 10_000_000;
        long t0 = System.nanoTime();
        int batchKeys = Math.max(1, moveBatchKeys);
        try (WriteOptions wo = new WriteOptions()) {
            for (byte space : new byte[] {IndexKeys.TAG, IndexKeys.SEED}) {
                byte[] end = {(byte) (space + 1)};
                byte[] next = {space}; // the first key of the next batch; null once the space is done
                while (next != null) {
                    if (!guard.enter()) {
                        LOG.info("index at {}: the move stopped after {} keys; the next open goes on from there", dir, moved);
                        return -1;
                    }
                    try (Slice upper = new Slice(end);
                         ReadOptions ro = new ReadOptions().setIterateUpperBound(upper).setTotalOrderSeek(true).setFillCache(false);
                         RocksIterator it = db.newIterator(from, ro)) {
                        it.seek(next);
                        if (it.isValid() && moved == 0) {
                            LOG.info("index at {}: written by an earlier version; moving its tag and chain keys into their own"
                                    + " column family while serving (tag and chain lookups read both until it is done)", dir);
                        }
                        byte[] first = next;
                        BatchBytes copies = new BatchBytes(4 << 20);
                        while (copies.count() < batchKeys && it.isValid()) {
                            copies.put(to.getID(), it.key(), it.value());
                            it.next();
                        }
                        it.status();
                        next = it.isValid() ? it.key() : null;
                        if (copies.count() > 0) {
                            try (WriteBatch wb = copies.toWriteBatch()) {
                                wb.deleteRange(from, first, next != null ? next : end);
                                db.write(wo, wb);
                            }
                            moved += copies.count();
                        }
                    } finally {
                        guard.exit();
                    }
                    if (moved >= reportAt) {
                        LOG.info("index at {}: {} keys moved", dir, moved);
                        reportAt += 10_000_000;
                    }
                }
            }
        }
        if (moved > 0) {
            LOG.info("index at {}: moved {} tag and chain keys in {} ms", dir, moved, (System.nanoTime() - t0) / 1_000_000);
        }
        return moved;
    }

    /**
     * Moves an earlier version's ranged keys in the background while the
     * index serves (scans read both families meanwhile), then rewrites the
     * default column family so that the moved keys leave its files: until
     * then they take their disk space twice, and lookups by key search files
     * twice their size. {@link #close} stops both; a later open goes on with
     * a stopped move from where it stood (and rewrites after it), not with a
     * cancelled rewrite (RocksDB's own compactions drop the keys in time).
     * Moving before serving kept an indexer of 3M records from serving for 11
     * s, during which the queues could not look causes up.
     */
    private void moveInBackground() {
        moving = true;
        Thread t = new Thread(() -> {
            try {
                if (moveWhileServing()) {
                    rewriteMovedAway();
                }
            } finally {
                movedAwayDone.countDown();
            }
        }, "index-move");
        t.setDaemon(true);
        try {
            t.start();
        } catch (OutOfMemoryError | RuntimeException e) { // no thread to be had: lookups still read both families
            LOG.warn("index at {}: cannot start moving its tag and chain keys; lookups read both column families until"
                    + " a later open moves them: {}", dir, e.toString());
            movedAwayDone.countDown();
        }
    }

    /** The move, each step under the read lock (close stops it between two); true if it finished. */
    private boolean moveWhileServing() {
        MoveGuard serving = new MoveGuard() {
            @Override
            public boolean enter() {
                beforeMoveBatch.run();
                try {
                    lock(); // waits for a close that is waiting for the move's last batch, then finds it closed
                    return true;
                } catch (IllegalStateException closedAlready) {
                    return false;
                }
            }

            @Override
            public void exit() {
                unlock();
            }
        };
        try {
            long moved = moveRangedKeys(db, point, ranged, dir, serving);
            if (moved < 0) {
                movedAwayOutcome = "move stopped";
                return false;
            }
            moving = false; // after the last range tombstone: every ranged key is in the ranged family
            return true;
        } catch (RocksDBException | RuntimeException e) {
            movedAwayOutcome = "move failed";
            LOG.warn("index at {}: moving its tag and chain keys failed; lookups read both column families until a later"
                    + " open moves them", dir, e);
            return false;
        }
    }

    /** Tag keys of {@code hash} in the default family or in the ranged one, whatever {@link #moving} says (tests). */
    long tagKeysIn(boolean defaultFamily, long hash) {
        lock();
        try {
            return scan(defaultFamily ? point : ranged, IndexKeys.tagPrefix(hash), 0, Integer.MAX_VALUE, null).length;
        } finally {
            unlock();
        }
    }

    /** Whether scans still read the default family too, while an earlier version's keys are moved (tests). */
    boolean moving() {
        return moving;
    }

    private void rewriteMovedAway() {
        long t0 = System.nanoTime();
        try {
            lock();
        } catch (IllegalStateException closedAlready) {
            movedAwayOutcome = "rewrite not started: closed";
            return;
        }
        try {
            movedAwayRunning = true;
            db.compactRange(point, null, null, movedAway);
            movedAwayOutcome = "done";
            LOG.info("index at {}: rewrote its default column family without the moved keys in {} ms", dir,
                    (System.nanoTime() - t0) / 1_000_000);
        } catch (RocksDBException | RuntimeException e) {
            boolean cancelled = movedAway.canceled();
            movedAwayOutcome = cancelled ? "cancelled" : "failed";
            if (cancelled) {
                LOG.info("index at {}: rewriting its default column family after the move stopped on close ({}); RocksDB's"
                        + " own compactions drop the moved keys in time", dir, e.getMessage());
            } else {
                LOG.warn("index at {}: rewriting its default column family after the move failed; RocksDB's own"
                        + " compactions drop the moved keys in time", dir, e);
            }
        } finally {
            unlock();
        }
    }

    /** Waits for {@link #moveInBackground}'s move and rewrite to end, if there was anything to move (tests). */
    boolean awaitMovedAway(long timeout, TimeUnit unit) throws InterruptedException {
        return movedAwayDone.await(timeout, unit);
    }

    /**
     * Writes every entry and rejection of {@code batch} in one atomic,
     * WAL-logged write. Returns once RocksDB has accepted it (see class notes
     * on durability). Entries without an id are indexed by tag and seed only;
     * callers validate LIds ({@link IndexWriter#problemWith}).
     */
    public void index(IndexBatch batch) {
        index(List.of(batch));
    }

    /**
     * {@link #index(IndexBatch)} for several batches in one atomic write:
     * the writer's group commit. Where two batches write the same key (the
     * same entry sent twice), the later one's value is written last.
     */
    public void index(List<IndexBatch> batches) {
        // Keys in ascending order: RocksDB's memtable skiplist reuses its insert position
        // for increasing keys, which makes a large batch of random hashes much cheaper to insert.
        int n = 0;
        for (IndexBatch batch : batches) {
            n += batch.getEntriesCount() * 6 + batch.getRejectionsCount();
        }
        List<KeyOp> added = new ArrayList<>(n);
        for (IndexBatch batch : batches) {
            addOps(batch, added);
        }
        KeyOp[] ops = KeyOp.sorted(added);
        BatchBytes bytes = new BatchBytes(ops.length * 40);
        for (KeyOp op : ops) {
            if (op.merge()) {
                bytes.merge(op.key(), op.value());
            } else if (IndexKeys.ranged(op.key())) {
                bytes.put(rangedId, op.key(), op.value());
            } else {
                bytes.put(op.key(), op.value());
            }
        }
        lock();
        try (WriteBatch wb = bytes.toWriteBatch()) {
            RocksLibrary.noPerfCounters(db);
            db.write(writeOptions, wb);
        } catch (RocksDBException e) {
            throw new IndexStoreException("index write failed: " + e.getMessage(), e);
        } finally {
            unlock();
        }
    }

    private static void addOps(IndexBatch batch, List<KeyOp> ops) {
        for (IndexEntry e : batch.getEntriesList()) {
            long lid = e.getLid();
            long seed = e.getSeed();
            byte[] seedValue = IndexKeys.u64(seed);
            for (int i = 0; i < e.getTagHashCount(); i++) {
                long hash = e.getTagHash(i);
                // One key per pair holding its lowest LId: merged with RocksDB's "max" over the
                // complemented LId, so no read is needed on the write path.
                ops.add(new KeyOp(IndexKeys.pairPrefix(hash, seed), IndexKeys.u64(~lid), true));
                ops.add(new KeyOp(IndexKeys.tag(hash, lid), seedValue, false));
            }
            ops.add(new KeyOp(IndexKeys.seed(seed, lid), IndexKeys.EMPTY, false));
            if (!e.getId().isEmpty()) {
                ops.add(new KeyOp(IndexKeys.id(e.getId()), IndexKeys.u64(lid), false));
            }
        }
        for (Rejection r : batch.getRejectionsList()) {
            String reason = r.getReason().isBlank() ? "rejected" : r.getReason();
            ops.add(new KeyOp(IndexKeys.rejected(r.getId()), reason.getBytes(StandardCharsets.UTF_8), false));
        }
    }

    /**
     * One put or merge. Sorting compares {@code head}, the key's first 8 bytes
     * as an unsigned number, before the bytes: keys are a letter and a random
     * hash or seed, so one long comparison nearly always decides (comparing
     * the arrays took a fifth of the indexer's write path).
     */
    record KeyOp(byte[] key, byte[] value, boolean merge, long head) implements Comparable<KeyOp> {
        KeyOp(byte[] key, byte[] value, boolean merge) {
            this(key, value, merge, headOf(key));
        }

        /**
         * {@code ops} sorted by key, stably: of two operations on one key, the
         * one added later stays later and its value is written last. The heads
         * are sorted as primitives, each with its position in its low bits;
         * only runs of ops whose heads agree in the bits kept (the same tag or
         * seed, or a rare near-collision) are then sorted as objects. Sorting
         * the objects outright (TimSort, a comparator call and two pointer
         * chases a comparison) took 8% of the indexer's CPU.
         */
        static KeyOp[] sorted(List<KeyOp> ops) {
            int n = ops.size();
            int indexBits = 32 - Integer.numberOfLeadingZeros(n - 1);
            long kept = -1L << indexBits;
            long[] order = new long[n];
            for (int i = 0; i < n; i++) {
                // Flipping the sign bit makes a signed sort order heads as unsigned numbers.
                order[i] = ((ops.get(i).head ^ Long.MIN_VALUE) & kept) | i;
            }
            Arrays.sort(order);
            KeyOp[] sorted = new KeyOp[n];
            for (int i = 0; i < n; i++) {
                sorted[i] = ops.get((int) (order[i] & ~kept));
            }
            int start = 0;
            for (int i = 1; i <= n; i++) {
                if (i == n || (order[i] & kept) != (order[start] & kept)) {
                    if (i - start > 1) {
                        Arrays.sort(sorted, start, i); // stable, and the run is in insertion order
                    }
                    start = i;
                }
            }
            return sorted;
        }

        private static long headOf(byte[] key) {
            long h = 0;
            for (int i = 0; i < 8; i++) {
                h = (h << 8) | (i < key.length ? key[i] & 0xFF : 0);
            }
            return h;
        }

        @Override
        public int compareTo(KeyOp o) {
            int c = Long.compareUnsigned(head, o.head);
            return c != 0 ? c : Arrays.compareUnsigned(key, o.key);
        }
    }

    /** The lowest LId of a record carrying a tag hashing to {@code hash} with seed {@code seed}, or 0. */
    public long exists(long hash, long seed) {
        return exists(List.of(CauseKey.newBuilder().setHash(hash).setSeed(seed).build()))[0];
    }

    /**
     * {@link #exists(long, long)} for many pairs: point lookups in one
     * multi-get, each answered by bloom filters alone when the pair is absent.
     *
     * @return lowest LIds, parallel to {@code keys}; 0 where absent
     */
    public long[] exists(List<CauseKey> keys) {
        long[] lids = new long[keys.size()];
        if (keys.isEmpty()) {
            return lids;
        }
        List<byte[]> ks = new ArrayList<>(keys.size());
        for (CauseKey k : keys) {
            ks.add(IndexKeys.pairPrefix(k.getHash(), k.getSeed()));
        }
        lock();
        try {
            List<byte[]> values = db.multiGetAsList(ks);
            for (int i = 0; i < lids.length; i++) {
                byte[] v = values.get(i);
                if (v != null && v.length == 8) {
                    lids[i] = ~IndexKeys.getLong(v, 0);
                }
            }
            return lids;
        } catch (RocksDBException e) {
            throw new IndexStoreException("exists query failed: " + e.getMessage(), e);
        } finally {
            unlock();
        }
    }

    /** LIds above {@code afterLid} (unsigned) of records carrying tag hash {@code hash}, increasing, at most {@code limit}. */
    public long[] lidsByTag(long hash, long afterLid, int limit) {
        return scan(IndexKeys.tagPrefix(hash), afterLid, limit, null);
    }

    /** LIds above {@code afterLid} of records with seed {@code seed} carrying tag hash {@code hash}, increasing, at most {@code limit}. */
    public long[] lidsByTagAndSeed(long hash, long seed, long afterLid, int limit) {
        return scan(IndexKeys.tagPrefix(hash), afterLid, limit, seed);
    }

    /** LIds above {@code afterLid} of the chain {@code seed}, increasing, at most {@code limit}. */
    public long[] lidsBySeed(long seed, long afterLid, int limit) {
        return scan(IndexKeys.seedPrefix(seed), afterLid, limit, null);
    }

    /** Where {@code id} was appended and/or why it was rejected; lid 0 and no reason if unknown. */
    public IdStatus idStatus(String id) {
        return idStatuses(List.of(id)).get(0);
    }

    /** {@link #idStatus} for many ids, in one multi-get; parallel to {@code ids}. */
    public List<IdStatus> idStatuses(List<String> ids) {
        if (ids.isEmpty()) {
            return List.of();
        }
        List<byte[]> keys = new ArrayList<>(ids.size() * 2);
        for (String id : ids) {
            keys.add(IndexKeys.id(id));
            keys.add(IndexKeys.rejected(id));
        }
        lock();
        try {
            List<byte[]> values = db.multiGetAsList(keys);
            List<IdStatus> out = new ArrayList<>(ids.size());
            for (int i = 0; i < ids.size(); i++) {
                IdStatus.Builder s = IdStatus.newBuilder().setId(ids.get(i));
                byte[] lid = values.get(2 * i);
                byte[] reason = values.get(2 * i + 1);
                if (lid != null && lid.length == 8) {
                    s.setLid(IndexKeys.getLong(lid, 0));
                }
                if (reason != null) {
                    s.setRejected(new String(reason, StandardCharsets.UTF_8));
                }
                out.add(s.build());
            }
            return out;
        } catch (RocksDBException e) {
            throw new IndexStoreException("id lookup failed: " + e.getMessage(), e);
        } finally {
            unlock();
        }
    }

    /**
     * RocksDB's estimate of the number of keys (all key spaces), for health; -1 if unknown or closed. While an
     * earlier version's index is moved, and after, it counts the moved keys twice until they are compacted away.
     */
    public long estimatedKeys() {
        lifecycle.readLock().lock();
        try {
            if (closed) {
                return -1;
            }
            return db.getLongProperty(point, "rocksdb.estimate-num-keys") + db.getLongProperty(ranged, "rocksdb.estimate-num-keys");
        } catch (RocksDBException e) {
            return -1;
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** Whether RocksDB is flushing or compacting now (for a benchmark that counts that work); false once closed or if unknown. */
    public boolean backgroundWorkRunning() {
        lifecycle.readLock().lock();
        try {
            return !closed && (db.getLongProperty("rocksdb.num-running-compactions") > 0
                    || db.getLongProperty("rocksdb.num-running-flushes") > 0);
        } catch (RocksDBException e) {
            return false;
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * RocksDB's totals for this index's flushes and compactions since it
     * opened (the "Sum" rows of its column families' compaction statistics,
     * which count flushes with compactions), for a benchmark: what universal compaction
     * costs grows with the index and depends on the memtable's size.
     *
     * @param jobs               flushes plus compactions finished
     * @param cpuSeconds         the CPU they took (RocksDB's {@code CompMergeCPU})
     * @param writeAmplification bytes they wrote for each byte flushed: 1.0 while only flushes ran, 0 before the first
     */
    public record BackgroundWork(long jobs, double cpuSeconds, double writeAmplification) {
    }

    /**
     * {@link BackgroundWork} since this index opened.
     *
     * @throws IllegalStateException once closed (unlike {@link #backgroundWorkRunning}, which a polling caller may ask then)
     * @throws IndexStoreException   if RocksDB's statistics are unreadable or lack a figure
     */
    public BackgroundWork backgroundWork() {
        lock();
        try {
            long jobs = 0;
            double cpu = 0;
            double written = 0; // GB
            double flushed = 0; // GB: each family's written over its write amplification
            double amps = 0;
            int withAmp = 0;
            for (ColumnFamilyHandle cf : List.of(point, ranged)) {
                Map<String, String> stats = db.getMapProperty(cf, "rocksdb.cfstats");
                jobs += (long) sumRow(stats, "CompCount");
                cpu += sumRow(stats, "CompMergeCPU");
                double amp = sumRow(stats, "WriteAmp");
                if (amp > 0) {
                    double gb = sumRow(stats, "WriteGB");
                    written += gb;
                    flushed += gb / amp;
                    amps += amp;
                    withAmp++;
                }
            }
            // Weighted by the bytes flushed; a family's figures are printed to the kilobyte, so a tiny index
            // (tests) may show none written: then the families count alike.
            double amplification = flushed > 0 ? written / flushed : withAmp > 0 ? amps / withAmp : 0;
            return new BackgroundWork(jobs, cpu, amplification);
        } catch (RocksDBException e) {
            throw new IndexStoreException("compaction statistics unreadable: " + e.getMessage(), e);
        } finally {
            unlock();
        }
    }

    /** One column of the statistics' "Sum" row. */
    private static double sumRow(Map<String, String> stats, String column) {
        String key = "compaction.Sum." + column;
        String v = stats.get(key);
        if (v == null) {
            throw new IndexStoreException("RocksDB's compaction statistics have no " + key, null);
        }
        // RocksDB prints it with C's %f, whose decimal separator follows the process's locale.
        return Double.parseDouble(v.trim().replace(',', '.'));
    }

    /** Index partitions written, summed over the SST files: more than one a file once its index outgrows 4 KiB (tests). */
    long indexPartitions() {
        lock();
        try {
            long n = 0;
            for (ColumnFamilyHandle cf : List.of(point, ranged)) {
                for (org.rocksdb.TableProperties p : db.getPropertiesOfAllTables(cf).values()) {
                    n += p.getIndexPartitions();
                }
            }
            return n;
        } catch (RocksDBException e) {
            throw new IndexStoreException("table properties unreadable: " + e.getMessage(), e);
        } finally {
            unlock();
        }
    }

    /** Flushes memtables to SST files. Only tests need it: durability comes from the WAL. */
    void flush() {
        lock();
        try (FlushOptions fo = new FlushOptions().setWaitForFlush(true)) {
            db.flush(fo, List.of(point, ranged));
        } catch (RocksDBException e) {
            throw new IndexStoreException("flush failed: " + e.getMessage(), e);
        } finally {
            unlock();
        }
    }

    /**
     * Scans {@code prefix} from {@code afterLid + 1}; with {@code seed} set, keeps keys whose value is that seed.
     * While an earlier version's keys are moved, the default family is read first and the ranged one after:
     * a key the move deletes from the first before that read was copied into the second before that, so
     * no key is missed, and one read in both is answered once.
     */
    private long[] scan(byte[] prefix, long afterLid, int limit, Long seed) {
        if (limit <= 0 || afterLid == -1L) {
            return new long[0];
        }
        lock();
        try {
            if (!moving) {
                return scan(ranged, prefix, afterLid, limit, seed);
            }
            long[] notYetMoved = scan(point, prefix, afterLid, limit, seed);
            betweenScanReads.run();
            return union(notYetMoved, scan(ranged, prefix, afterLid, limit, seed), limit);
        } finally {
            unlock();
        }
    }

    /** The first {@code limit} LIds of two increasing (unsigned) arrays, increasing, each once. */
    static long[] union(long[] a, long[] b, int limit) {
        long[] out = new long[Math.min(limit, a.length + b.length)];
        int i = 0;
        int j = 0;
        int n = 0;
        while (n < out.length && (i < a.length || j < b.length)) {
            int c = i == a.length ? 1 : j == b.length ? -1 : Long.compareUnsigned(a[i], b[j]);
            out[n++] = c <= 0 ? a[i] : b[j];
            if (c <= 0) {
                i++;
            }
            if (c >= 0) {
                j++;
            }
        }
        return n == out.length ? out : Arrays.copyOf(out, n);
    }

    /** {@link #scan} of one family, the read lock held. */
    private long[] scan(ColumnFamilyHandle cf, byte[] prefix, long afterLid, int limit, Long seed) {
        byte[] start = IndexKeys.withLid(prefix, afterLid + 1);
        long[] out = new long[Math.min(limit, 64)];
        int n = 0;
        try (Slice upper = new Slice(IndexKeys.successor(prefix));
             ReadOptions ro = new ReadOptions().setIterateUpperBound(upper).setTotalOrderSeek(true);
             RocksIterator it = db.newIterator(cf, ro)) {
            for (it.seek(start); it.isValid() && n < limit; it.next()) {
                byte[] key = it.key();
                if (!IndexKeys.startsWith(key, prefix)) {
                    break;
                }
                if (seed != null) {
                    byte[] v = it.value();
                    if (v.length != 8 || IndexKeys.getLong(v, 0) != seed) {
                        continue;
                    }
                }
                if (n == out.length) {
                    out = Arrays.copyOf(out, Math.min(limit, out.length * 2));
                }
                out[n++] = IndexKeys.lidOf(key);
            }
            it.status();
        } catch (RocksDBException e) {
            throw new IndexStoreException("index scan failed: " + e.getMessage(), e);
        }
        return n == out.length ? out : Arrays.copyOf(out, n);
    }

    private static void closeAll(List<AutoCloseable> natives) {
        for (AutoCloseable c : natives) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.warn("closing the index's {} failed", c.getClass().getSimpleName(), e);
            }
        }
    }

    private void lock() {
        lifecycle.readLock().lock();
        if (closed) {
            lifecycle.readLock().unlock();
            throw new IllegalStateException("index at " + dir + " is closed");
        }
    }

    private void unlock() {
        lifecycle.readLock().unlock();
    }

    /** Waits for operations in flight, then closes the database and its native options. Idempotent. */
    @Override
    public synchronized void close() { // synchronized: a second caller must not set the flag of options the first freed
        if (!closed) {
            movedAway.setCanceled(true); // a rewrite after a move holds the read lock: stop it rather than wait for it
        }
        lifecycle.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            writeOptions.close();
            movedAway.close();
            point.close();
            ranged.close();
            db.close();
            closeAll(natives);
        } finally {
            lifecycle.writeLock().unlock();
        }
    }
}
