package io.chariots.maintainer;

import io.chariots.common.record.OriginMarks;
import io.chariots.common.store.BatchBytes;
import io.chariots.common.store.RocksLibrary;
import io.chariots.proto.OriginMarkList;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.chariots.common.layout.StripeMap;
import io.chariots.proto.IdStatus;
import io.chariots.proto.IndexEntry;
import io.chariots.proto.Layout;
import io.chariots.proto.LayoutReply;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.SealReply;
import io.chariots.proto.Stripe;
import io.chariots.proto.StoreReply;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.Env;
import org.rocksdb.RocksMemEnv;
import org.rocksdb.LRUCache;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The maintainer's flstore: the records of the LIds this maintainer owns,
 * in RocksDB, keyed by LId as 8 big-endian bytes (so the bytewise order of
 * keys is the unsigned order of LIds, and range reads are plain seeks).
 *
 * <p>Column families:
 * <ul>
 * <li>{@code default}: LId → the serialized {@link RecordEnvelope}, exactly
 *     the bytes received (with its lid) plus the {@code stored_us} stamp, or a
 *     hole marker (only {@code lid}, {@code hole} and {@code stored_us}).
 *     Values of any size are stored whole, one key each; no fixed slots, so a
 *     large record can never spill into a neighbour (GoChariots' 512-byte
 *     slots did). Values above {@link #BLOB_THRESHOLD} go to blob files, so
 *     multi-MiB records are not rewritten by every compaction.</li>
 * <li>{@code unindexed}: no longer written. A store written by an older
 *     version kept a marker per unindexed record here; they are read once at
 *     open and replaced by the watermark below.</li>
 * <li>{@code meta}: the exact number of stored LIds (records and holes) and of
 *     holes, updated in the same WriteBatch as the LIds, so {@link #count()}
 *     is exact across restarts without a scan; {@code indexed_through}, a
 *     watermark W at or below which every record is indexed (see below); the fencing state (sealed epoch
 *     and sealer, the {@link Layout}); and the {@link #floor()} with the
 *     address it was computed for.</li>
 * </ul>
 *
 * <p>What the indexers lack: the records not yet acknowledged by an indexer
 * are kept in memory as runs of LIds ({@link LidRuns}), and only a
 * watermark W is persisted, never raised to or past an unindexed record: a
 * write of records at or below W lowers it in the same WriteBatch, and an
 * acknowledgement that lets it rise writes it, once per acknowledged batch.
 * After a crash every record above W is taken as unindexed again (found by
 * one scan of the records above W) and sent again, which indexers tolerate
 * (an entry is keyed by its LId): a record acknowledged above an older
 * unindexed one is indexed twice. This replaced a marker put and delete per
 * record.
 *
 * <p>Crash survival (the ring's recovery relies on it): every LId is
 * written once, by a queue of the epoch this store is sealed at (see
 * {@link #store}, {@link #fillHoles}, {@link #seal}, {@link #setLayout}).
 *
 * <p>Durability: every write goes through the WAL, so an acknowledged batch
 * survives SIGKILL of the process. Records and holes are fsynced only with
 * {@link Tuning#syncWrites}; seals and layouts always are (they are rare, and
 * an epoch that went backwards after a power loss would let a fenced queue
 * write again).
 *
 * <p>Threads: every write ({@link #store}, {@link #fillHoles}, {@link #seal},
 * {@link #setLayout}, {@link #setSelf}, {@link #markIndexed}) must come from
 * one thread (the maintainer's loop), which keeps write order = arrival order
 * and the counters and the floor exact; reads and getters may come from any
 * thread, concurrently with writes. {@link #close} waits for running calls,
 * and later calls fail with {@link IllegalStateException} instead of touching
 * freed native memory.
 */
public final class FlStore implements AutoCloseable, IndexFeeder.Backlog, IndexShares.Meta {
    private static final Logger LOG = LoggerFactory.getLogger(FlStore.class);

    /** Values at least this large are kept in blob files rather than in the LSM tree. */
    public static final long BLOB_THRESHOLD = 16 * 1024;
    /** Bytes of records read per {@link #unindexed} call at most (at least one record is returned). */
    static final long BACKLOG_READ_BYTES = 16L << 20;
    /** LIds a {@link #seal} report lists at most: a page; the sealer asks for the next. */
    public static final int MAX_REPORTED_LIDS = 200_000;

    private static final byte[] UNINDEXED_CF = "unindexed".getBytes(StandardCharsets.UTF_8);
    private static final byte[] META_CF = "meta".getBytes(StandardCharsets.UTF_8);
    private static final byte[] STORED_COUNT_KEY = meta("stored_count");
    private static final byte[] HOLES_KEY = meta("holes");
    private static final byte[] SEALED_EPOCH_KEY = meta("sealed_epoch");
    private static final byte[] SEALED_BY_KEY = meta("sealed_by");
    private static final byte[] LAYOUT_KEY = meta("layout");
    private static final byte[] FLOOR_KEY = meta("floor");
    private static final byte[] FLOOR_OF_KEY = meta("floor_of");
    private static final byte[] MAX_TOIDS_KEY = meta("max_toids");
    private static final byte[] INDEXED_THROUGH_KEY = meta("indexed_through");
    private static final byte[] EMPTY = new byte[0];

    static {
        RocksLibrary.load();
    }

    private static byte[] meta(String key) {
        return key.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Resource settings. Defaults suit a small machine running several roles.
     *
     * @param syncWrites       fsync the WAL on every batch of records or holes (survives power loss, costs
     *                         latency); seals and layouts are fsynced regardless
     * @param writeBufferBytes memtable size of the record column family
     * @param blockCacheBytes  block cache shared by all column families
     */
    public record Tuning(boolean syncWrites, long writeBufferBytes, long blockCacheBytes) {
        public static Tuning defaults() {
            return new Tuning(false, 32L << 20, 16L << 20);
        }
    }

    /**
     * What became of a {@link #store} or {@link #fillHoles} request.
     *
     * @param status    {@code STORED}: every LId asked now holds what was asked, written now or before;
     *                  {@code SEALED}: the request's epoch is not the one this store is sealed at;
     *                  {@code CONFLICT}: something else holds some of the LIds. Nothing is written
     *                  unless {@code STORED}
     * @param accepted  the request's size when {@code STORED}, else 0
     * @param conflicts the LIds held by something else, distinct, ascending; empty unless {@code CONFLICT}
     * @param written   the records (or hole markers) this call wrote, one per LId new to the store, without
     *                  their {@code stored_us}: not the ones it already held
     */
    public record StoreResult(StoreReply.Status status, int accepted, List<Long> conflicts,
                              List<RecordEnvelope> written) {
        static StoreResult stored(int accepted, List<RecordEnvelope> written) {
            return new StoreResult(StoreReply.Status.STORED, accepted, List.of(), written);
        }

        static StoreResult sealed() {
            return new StoreResult(StoreReply.Status.SEALED, 0, List.of(), List.of());
        }

        static StoreResult conflict(Collection<Long> lids) {
            return new StoreResult(StoreReply.Status.CONFLICT, 0, List.copyOf(lids), List.of());
        }
    }

    private final Env env; // the environment this store owns and closes; null: the default (disk) one, or the caller's
    private final Path dir;
    private final RocksDB db;
    private final DBOptions dbOptions;
    private final ColumnFamilyOptions recordOptions;
    private final ColumnFamilyOptions smallOptions;
    private final LRUCache cache;
    private final BloomFilter bloom;
    private final List<ColumnFamilyHandle> handles;
    private final ColumnFamilyHandle records;
    private final ColumnFamilyHandle unindexed;
    private final ColumnFamilyHandle meta;
    private final WriteOptions writeOptions;
    private final WriteOptions syncedWriteOptions;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private final AtomicLong count = new AtomicLong();
    private final AtomicLong holes = new AtomicLong();
    /** Records stored and not yet acknowledged by an indexer (holes never are). */
    private final LidRuns pending = new LidRuns();
    private final AtomicLong maxLid = new AtomicLong();
    /** The highest TOId stored of each origin (written under the lifecycle read lock by the one writer thread). */
    private volatile OriginMarks maxToids = new OriginMarks();
    private volatile long sealedEpoch;
    private volatile String sealedBy = "";
    private volatile Layout layout = Layout.getDefaultInstance();
    private volatile long floor;
    /** The address the persisted floor was computed for; null if none was ever persisted. */
    private String floorOf;
    /** This maintainer's gRPC address as stripes name it; null until {@link #setSelf}. */
    private volatile String self;
    private volatile long indexedThrough;
    /** The watermark as persisted (loop thread only): no unindexed record lies at or below it. */
    private long persistedIndexedThrough;
    private boolean closed;

    private FlStore(Path dir, Tuning tuning, Env env, boolean ownsEnv) throws RocksDBException {
        this.dir = dir;
        this.env = ownsEnv ? env : null;
        cache = new LRUCache(tuning.blockCacheBytes());
        bloom = new BloomFilter(10);
        recordOptions = new ColumnFamilyOptions()
                .setCompressionType(CompressionType.LZ4_COMPRESSION)
                .setWriteBufferSize(tuning.writeBufferBytes())
                .setMaxWriteBufferNumber(2)
                .setLevelCompactionDynamicLevelBytes(true)
                .setEnableBlobFiles(true)
                .setMinBlobSize(BLOB_THRESHOLD)
                .setBlobCompressionType(CompressionType.LZ4_COMPRESSION)
                .setTableFormatConfig(tableConfig(16 * 1024));
        smallOptions = new ColumnFamilyOptions()
                .setCompressionType(CompressionType.LZ4_COMPRESSION)
                .setWriteBufferSize(4L << 20)
                .setMaxWriteBufferNumber(2)
                .setLevelCompactionDynamicLevelBytes(true)
                .setTableFormatConfig(tableConfig(4 * 1024));
        dbOptions = new DBOptions()
                .setCreateIfMissing(true)
                .setCreateMissingColumnFamilies(true)
                .setIncreaseParallelism(2)
                .setMaxBackgroundJobs(2)
                .setMaxOpenFiles(256)
                .setKeepLogFileNum(3)
                .setMaxLogFileSize(8L << 20)
                // The small column families pin WAL files until flushed; this bounds the WAL.
                .setMaxTotalWalSize(128L << 20);
        if (env != null) {
            dbOptions.setEnv(env);
        }
        List<ColumnFamilyDescriptor> descriptors = List.of(
                new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, recordOptions),
                new ColumnFamilyDescriptor(UNINDEXED_CF, smallOptions),
                new ColumnFamilyDescriptor(META_CF, smallOptions));
        handles = new ArrayList<>();
        RocksDB opened;
        try {
            opened = RocksDB.open(dbOptions, dir.toString(), descriptors, handles);
        } catch (RocksDBException e) {
            closeOptions();
            throw e;
        }
        db = opened;
        records = handles.get(0);
        unindexed = handles.get(1);
        meta = handles.get(2);
        writeOptions = new WriteOptions().setSync(tuning.syncWrites()).setDisableWAL(false);
        syncedWriteOptions = new WriteOptions().setSync(true).setDisableWAL(false);
    }

    private BlockBasedTableConfig tableConfig(long blockSize) {
        return new BlockBasedTableConfig()
                .setBlockCache(cache)
                .setFilterPolicy(bloom)
                .setBlockSize(blockSize)
                .setCacheIndexAndFilterBlocks(true)
                .setPinL0FilterAndIndexBlocksInCache(true);
    }

    /**
     * Opens (creating if needed) the flstore in {@code dir}. Replays the WAL,
     * so everything acknowledged before a crash is there; then restores the
     * state: counters, sealed epoch, layout and floor from {@code meta}, the
     * max LId by one seek, the unindexed records by a scan of those above
     * the indexed-through watermark. The floor advances again only once
     * {@link #setSelf} names this maintainer.
     */
    public static FlStore open(Path dir, Tuning tuning) throws IOException, RocksDBException {
        Files.createDirectories(dir);
        return opened(new FlStore(dir, tuning, null, false));
    }

    /**
     * A store kept in memory only (RocksDB's memory environment), with the
     * same behaviour: for simulations, where a run opens and drops many. It
     * survives nothing but its own close.
     */
    public static FlStore openInMemory(String name, Tuning tuning) throws RocksDBException {
        return opened(new FlStore(Path.of("/memory", name), tuning, new RocksMemEnv(Env.getDefault()), true));
    }

    /**
     * A store kept in {@code env}, a memory environment the caller owns and
     * closes: closed and opened again in the same environment it finds what
     * it wrote, as after a SIGKILL (for simulated crashes).
     */
    public static FlStore openInMemory(String name, Tuning tuning, RocksMemEnv env) throws RocksDBException {
        return opened(new FlStore(Path.of("/memory", name), tuning, env, false));
    }

    private static FlStore opened(FlStore store) throws RocksDBException {
        try {
            store.restore();
        } catch (RocksDBException | RuntimeException e) {
            store.close();
            throw e;
        }
        return store;
    }

    private void restore() throws RocksDBException {
        try (RocksIterator it = db.newIterator(records)) {
            it.seekToLast();
            maxLid.set(it.isValid() ? lidOf(it.key()) : 0);
        }
        byte[] stored = db.get(meta, STORED_COUNT_KEY);
        if (stored != null) {
            count.set(u64(stored));
        } else {
            long n = 0;
            try (RocksIterator it = db.newIterator(records)) {
                for (it.seekToFirst(); it.isValid(); it.next()) {
                    n++;
                }
            }
            count.set(n);
        }
        holes.set(u64(db.get(meta, HOLES_KEY)));
        sealedEpoch = u64(db.get(meta, SEALED_EPOCH_KEY));
        byte[] by = db.get(meta, SEALED_BY_KEY);
        sealedBy = by == null ? "" : new String(by, StandardCharsets.UTF_8);
        byte[] storedLayout = db.get(meta, LAYOUT_KEY);
        try {
            layout = storedLayout == null ? Layout.getDefaultInstance() : Layout.parseFrom(storedLayout);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("flstore " + dir + ": the stored layout does not parse", e);
        }
        floor = u64(db.get(meta, FLOOR_KEY));
        byte[] toids = db.get(meta, MAX_TOIDS_KEY);
        try {
            maxToids = toids == null ? new OriginMarks()
                    : OriginMarks.of(OriginMarkList.parseFrom(toids).getMarksList());
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("flstore " + dir + ": the stored TOId marks do not parse", e);
        }
        byte[] of = db.get(meta, FLOOR_OF_KEY);
        floorOf = of == null ? null : new String(of, StandardCharsets.UTF_8);
        restorePending();
        long unindexedNow = pending.size();
        LOG.info("flstore {}: {} LIds ({} holes), max LId {}, {} not yet indexed; sealed at epoch {} by \"{}\", "
                        + "layout {}.{}, floor {}", dir, count.get(), holes.get(), Long.toUnsignedString(maxLid.get()),
                unindexedNow, Long.toUnsignedString(sealedEpoch), sealedBy, Long.toUnsignedString(layout.getEpoch()),
                Long.toUnsignedString(layout.getVersion()), Long.toUnsignedString(floor));
    }

    /** The key of {@code lid}: 8 bytes big-endian, so key order is unsigned LId order. */
    public static byte[] keyOf(long lid) {
        return u64(lid);
    }

    /** The LId of a key written by {@link #keyOf}. */
    public static long lidOf(byte[] key) {
        return ByteBuffer.wrap(key).getLong();
    }

    private static byte[] u64(long value) {
        return ByteBuffer.allocate(Long.BYTES).putLong(value).array();
    }

    /** The u64 in {@code bytes}, 0 when absent. */
    private static long u64(byte[] bytes) {
        return bytes == null ? 0 : ByteBuffer.wrap(bytes).getLong();
    }

    /**
     * Stores one incoming batch from the queue that gave its records their
     * LIds, at that queue's fencing epoch. LIds are written once:
     * <ul>
     * <li>an LId not yet held is written, its record stamped with
     *     {@code stored_us} and counted unindexed;</li>
     * <li>an LId holding the same record (equal apart from {@code stored_us})
     *     is left as it is: a queue resending a batch whose reply it lost gets
     *     it accepted again, without a second write or count;</li>
     * <li>an LId holding another record, or a hole, is a conflict, and so is an
     *     LId given two different records within the batch.</li>
     * </ul>
     * Refused whole, with nothing written: {@code SEALED} when {@code epoch}
     * is not the epoch this store is sealed at (or it was never sealed);
     * {@code CONFLICT} (with the LIds) on any conflict. Otherwise every new
     * LId, the counters, the advanced floor and a lowered watermark go in one
     * {@link WriteBatch}; when this returns they are in the WAL and may be
     * acknowledged.
     *
     * @throws IllegalArgumentException if a record has no lid or is marked a
     *                                  hole (holes come through {@link #fillHoles});
     *                                  nothing is written
     */
    public StoreResult store(long epoch, List<RecordEnvelope> batch) throws RocksDBException {
        for (RecordEnvelope r : batch) {
            if (r.getLid() == 0) {
                throw new IllegalArgumentException("record without lid: " + r.getId());
            }
            if (r.getHole() && r.getToid() == 0) {
                throw new IllegalArgumentException("record at LId " + Long.toUnsignedString(r.getLid())
                        + " is marked a hole: holes are written by fillHoles");
            }
        }
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            if (!writableAt(epoch)) {
                return StoreResult.sealed();
            }
            long maxBefore = maxLid.get();
            Map<Long, RecordEnvelope> firstAt = new HashMap<>();
            List<RecordEnvelope> fresh = new ArrayList<>();
            Set<Long> conflicts = new TreeSet<>(Long::compareUnsigned);
            for (RecordEnvelope r : batch) {
                long lid = r.getLid();
                RecordEnvelope first = firstAt.putIfAbsent(lid, r);
                if (first != null) {
                    if (!sameRecord(first, r)) {
                        conflicts.add(lid);
                    }
                    continue;
                }
                byte[] held = heldAt(lid, maxBefore);
                if (held == null) {
                    fresh.add(r);
                } else if (!sameRecord(parse(lid, held), r)) {
                    conflicts.add(lid);
                }
            }
            if (!conflicts.isEmpty()) {
                return StoreResult.conflict(conflicts);
            }
            writeNew(fresh);
            return StoreResult.stored(batch.size(), fresh);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * Writes hole markers for LIds given out at an epoch that ended before
     * their records were stored, at this store's sealed epoch (the same rule
     * as {@link #store}: else {@code SEALED}, nothing written). An LId not yet
     * held gets a hole; one that already is a hole is fine (a retry); one
     * holding a record refuses the whole request ({@code CONFLICT}). Holes
     * are never unindexed, count in {@link #count()} and {@link #holes()},
     * and advance the floor like records.
     *
     * @throws IllegalArgumentException if an LId is 0; nothing is written
     */
    public StoreResult fillHoles(long epoch, List<Long> lids) throws RocksDBException {
        if (lids.contains(0L)) {
            throw new IllegalArgumentException("a hole at LId 0: LIds start at 1");
        }
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            if (!writableAt(epoch)) {
                return StoreResult.sealed();
            }
            long maxBefore = maxLid.get();
            Set<Long> seen = new HashSet<>();
            List<RecordEnvelope> fresh = new ArrayList<>();
            Set<Long> conflicts = new TreeSet<>(Long::compareUnsigned);
            for (long lid : lids) {
                if (!seen.add(lid)) {
                    continue;
                }
                byte[] held = heldAt(lid, maxBefore);
                if (held == null) {
                    fresh.add(RecordEnvelope.newBuilder().setLid(lid).setHole(true).build());
                } else if (!parse(lid, held).getHole()) {
                    conflicts.add(lid);
                }
            }
            if (!conflicts.isEmpty()) {
                return StoreResult.conflict(conflicts);
            }
            writeNew(fresh);
            return StoreResult.stored(lids.size(), fresh);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** Whether a queue at {@code epoch} may write: the store is sealed, at exactly that epoch. */
    private boolean writableAt(long epoch) {
        return sealedEpoch != 0 && epoch == sealedEpoch;
    }

    /** The value at {@code lid}, or null; LIds above {@code maxBefore} are known absent without a lookup. */
    private byte[] heldAt(long lid, long maxBefore) throws RocksDBException {
        if (Long.compareUnsigned(lid, maxBefore) > 0) {
            return null;
        }
        byte[] key = keyOf(lid);
        return db.keyMayExist(records, key, null) ? db.get(records, key) : null;
    }

    /** Whether two envelopes are the same record, apart from when each was persisted. */
    private static boolean sameRecord(RecordEnvelope a, RecordEnvelope b) {
        return a.toBuilder().clearStoredUs().build().equals(b.toBuilder().clearStoredUs().build());
    }

    /**
     * Writes {@code fresh} (LIds this store does not hold, each once), the
     * counters, the floor they advance to and the watermark they lower, in
     * one WriteBatch; then updates the in-memory state.
     */
    private void writeNew(List<RecordEnvelope> fresh) throws RocksDBException {
        if (fresh.isEmpty()) {
            return;
        }
        java.time.Instant now = java.time.Instant.now();
        long storedUs = now.getEpochSecond() * 1_000_000L + now.getNano() / 1000;
        Set<Long> arriving = new HashSet<>();
        long newMax = maxLid.get();
        long lowest = -1; // unsigned max
        int holesNow = 0;
        // One JNI call for the whole batch, each record serialized once, straight into it.
        int recordsFamily = records.getID();
        int metaFamily = meta.getID();
        int stamp = CodedOutputStream.computeInt64Size(RecordEnvelope.STORED_US_FIELD_NUMBER, storedUs);
        BatchBytes wb = new BatchBytes(fresh.size() * 128);
        for (RecordEnvelope r : fresh) {
            long lid = r.getLid();
            byte[] key = keyOf(lid);
            int size = r.getSerializedSize();
            wb.put(recordsFamily, key, size + stamp, (buf, off) -> writeStamped(r, storedUs, buf, off, size + stamp));
            if (r.getHole()) {
                holesNow++; // nothing to index
            } else if (Long.compareUnsigned(lid, lowest) < 0) {
                lowest = lid;
            }
            arriving.add(lid);
            if (Long.compareUnsigned(lid, newMax) > 0) {
                newMax = lid;
            }
        }
        long newCount = count.get() + fresh.size();
        wb.put(metaFamily, STORED_COUNT_KEY, u64(newCount));
        long newHoles = holes.get() + holesNow;
        if (holesNow > 0) {
            wb.put(metaFamily, HOLES_KEY, u64(newHoles));
        }
        long newFloor = advance(layout, self, floor, arriving);
        if (newFloor != floor) {
            wb.put(metaFamily, FLOOR_KEY, u64(newFloor));
        }
        // A record below the watermark lowers it with the same write: a crash must not take it as indexed.
        boolean lowered = holesNow < fresh.size() && Long.compareUnsigned(lowest, persistedIndexedThrough) <= 0;
        if (lowered) {
            wb.put(metaFamily, INDEXED_THROUGH_KEY, u64(lowest - 1));
        }
        OriginMarks toids = raisedMarks(fresh);
        if (toids != null) {
            wb.put(metaFamily, MAX_TOIDS_KEY, OriginMarkList.newBuilder().addAllMarks(toids.toList())
                    .build().toByteArray());
        }
        RocksLibrary.noPerfCounters(db);
        try (WriteBatch batch = wb.toWriteBatch()) {
            db.write(writeOptions, batch);
        }
        if (lowered) {
            persistedIndexedThrough = lowest - 1;
        }
        if (toids != null) {
            maxToids = toids;
        }
        count.set(newCount);
        holes.set(newHoles);
        maxLid.set(newMax);
        floor = newFloor;
        for (RecordEnvelope r : fresh) {
            if (!r.getHole()) {
                pending.add(r.getLid());
            }
        }
        refreshIndexedThrough();
    }

    /**
     * The marks {@code fresh} raises, or null if none: per run of one origin
     * (a batch is nearly always one run) its highest TOId, so the maps are
     * touched per run, not per record.
     */
    private OriginMarks raisedMarks(List<RecordEnvelope> fresh) {
        OriginMarks toids = null;
        int host = -1;
        long best = 0;
        long bestAt = 0;
        for (int i = 0; i <= fresh.size(); i++) {
            RecordEnvelope r = i < fresh.size() ? fresh.get(i) : null;
            if (r != null && r.getToid() == 0) {
                continue;
            }
            if (r == null || (int) r.getHost() != host) {
                if (host >= 0 && Long.compareUnsigned(best, (toids == null ? maxToids : toids).get(host)) > 0) {
                    if (toids == null) {
                        toids = new OriginMarks();
                        toids.raiseAll(maxToids);
                    }
                    toids.raise(host, best, bestAt);
                }
                if (r == null) {
                    break;
                }
                host = (int) r.getHost();
                best = 0;
            }
            if (Long.compareUnsigned(r.getToid(), best) > 0) {
                best = r.getToid();
                // Where the record is at its origin: its origin LId when it came from elsewhere (0 for a TOId hole
                // that carries none), its own LId when it originated here (no origin LId, and not a hole).
                bestAt = r.getOriginLid() != 0 ? r.getOriginLid() : r.getHole() ? 0 : r.getLid();
            }
        }
        return toids;
    }

    /**
     * The floor reached from {@code from}: advanced while the next LId
     * {@code me} owns under {@code l} is held (or {@code arriving}, about to
     * be written with the new floor). Unchanged without a layout or an
     * address.
     */
    private long advance(Layout l, String me, long from, Set<Long> arriving) throws RocksDBException {
        if (me == null || l.getStripesCount() == 0) {
            return from;
        }
        long f = from;
        for (long next = StripeMap.nextOwnedAfter(l, me, f); next != 0; next = StripeMap.nextOwnedAfter(l, me, f)) {
            if (!arriving.contains(next) && !exists(records, keyOf(next))) {
                break;
            }
            f = next;
        }
        return f;
    }

    /**
     * Fences every epoch below {@code epoch}: a compare-and-set, so that of
     * two queues recovering at once only one seals. Succeeds when
     * {@code epoch} is newer than the sealed epoch (persisted, fsynced, before
     * answering), or equal to it and sealed by the same {@code by} (a retry).
     * From then on only {@code epoch} may {@link #store} or
     * {@link #fillHoles}.
     *
     * <p>A successful seal reports what the new epoch needs to find its holes:
     * the stored layout, the floor, the max LId, and every LId held above the
     * floor (records and holes) in ascending order with each record's id
     * (empty for holes). The report lists at most {@value #MAX_REPORTED_LIDS}
     * LIds; the floor keeps it far smaller in practice. A cut report ends
     * below {@code max_lid}, which an uncut one never does: the sealer asks
     * for the next page with the last LId listed as {@code afterLid} (a retry
     * of the same seal, which lists only the LIds above it). A refused seal
     * answers {@code sealed=false} with the epoch and sealer this store holds
     * (and its layout); nothing changes.
     *
     * @throws IllegalArgumentException if {@code epoch} is 0 or {@code by} empty
     */
    public SealReply seal(long epoch, String by, long afterLid) throws RocksDBException {
        if (epoch == 0 || by.isEmpty()) {
            throw new IllegalArgumentException("a seal needs an epoch above 0 and a sealer, got epoch "
                    + Long.toUnsignedString(epoch) + " by \"" + by + "\"");
        }
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            boolean newer = Long.compareUnsigned(epoch, sealedEpoch) > 0;
            if (!newer && !(epoch == sealedEpoch && by.equals(sealedBy))) {
                return SealReply.newBuilder().setSealed(false).setEpoch(sealedEpoch).setBy(sealedBy).setLayout(layout)
                        .build();
            }
            if (newer) {
                try (WriteBatch wb = new WriteBatch()) {
                    wb.put(meta, SEALED_EPOCH_KEY, u64(epoch));
                    wb.put(meta, SEALED_BY_KEY, by.getBytes(StandardCharsets.UTF_8));
                    db.write(syncedWriteOptions, wb);
                }
                LOG.info("flstore {}: sealed at epoch {} by \"{}\" (was {} by \"{}\")", dir, Long.toUnsignedString(epoch),
                        by, Long.toUnsignedString(sealedEpoch), sealedBy);
                sealedEpoch = epoch;
                sealedBy = by;
            }
            return report(epoch, by, afterLid);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** {@link #seal} without paging: the first page of the report. */
    public SealReply seal(long epoch, String by) throws RocksDBException {
        return seal(epoch, by, 0);
    }

    private SealReply report(long epoch, String by, long afterLid) {
        long from = Long.compareUnsigned(afterLid, floor) > 0 ? afterLid : floor;
        SealReply.Builder b = SealReply.newBuilder().setSealed(true).setEpoch(epoch).setBy(by).setLayout(layout)
                .setFloor(floor).setMaxLid(maxLid.get()).addAllMaxToids(maxToids.toList());
        try (RocksIterator it = db.newIterator(records)) {
            for (it.seek(keyOf(from + 1)); it.isValid(); it.next()) {
                if (b.getLidsCount() == MAX_REPORTED_LIDS) {
                    LOG.info("flstore {}: seal report paged at {} LIds above {} (floor {}, max LId {})", dir,
                            MAX_REPORTED_LIDS, Long.toUnsignedString(from), Long.toUnsignedString(floor),
                            Long.toUnsignedString(maxLid.get()));
                    break;
                }
                b.addLids(lidOf(it.key()));
                b.addIds(IndexEntries.parse(it.value()).getId());
            }
            it.status();
        } catch (RocksDBException | InvalidProtocolBufferException e) {
            throw new IllegalStateException("flstore " + dir + ": cannot list the LIds above the floor: " + e, e);
        }
        return b.build();
    }

    /**
     * Stores {@code proposed} as this maintainer's layout, durably (fsynced)
     * before answering. Accepted when it is of a newer epoch than the sealed
     * one (a maintainer joining an epoch adopts it: the store becomes sealed
     * at that epoch, by nobody in particular, so the ring's queues of that
     * epoch can store here), or of the sealed epoch and not older than the
     * stored layout (same epoch and a version at least as high, or the first
     * layout of the epoch). Refused otherwise, with the stored layout. The
     * floor is advanced under the new layout; it is recomputed from 0 in the
     * unexpected case that the layout gives LIds at or below the floor other
     * owners (stripes are only ever added for LIds not given out yet).
     *
     * @throws IllegalArgumentException if {@code proposed} has epoch 0 (which means no layout)
     */
    public LayoutReply setLayout(Layout proposed) throws RocksDBException {
        if (proposed.getEpoch() == 0) {
            throw new IllegalArgumentException("a layout at epoch 0: epochs start at 1");
        }
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            Layout current = layout;
            boolean adopt = Long.compareUnsigned(proposed.getEpoch(), sealedEpoch) > 0;
            boolean newer = proposed.getEpoch() == sealedEpoch
                    && (current.getEpoch() != proposed.getEpoch()
                    || Long.compareUnsigned(proposed.getVersion(), current.getVersion()) >= 0);
            if (!adopt && !newer) {
                return LayoutReply.newBuilder().setAccepted(false).setLayout(current).setSealedEpoch(sealedEpoch).build();
            }
            if (proposed.equals(current)) {
                return LayoutReply.newBuilder().setAccepted(true).setLayout(current).setSealedEpoch(sealedEpoch).build();
            }
            long from = floor;
            if (!sameOwnersThrough(current, proposed, from)) {
                LOG.warn("flstore {}: layout {}.{} gives LIds at or below the floor {} other owners than layout {}.{}; "
                                + "recomputing the floor from 0", dir, proposed.getEpoch(), proposed.getVersion(),
                        Long.toUnsignedString(from), current.getEpoch(), current.getVersion());
                from = 0;
            }
            long newFloor = advance(proposed, self, from, Set.of());
            try (WriteBatch wb = new WriteBatch()) {
                wb.put(meta, LAYOUT_KEY, proposed.toByteArray());
                wb.put(meta, FLOOR_KEY, u64(newFloor));
                if (adopt) {
                    wb.put(meta, SEALED_EPOCH_KEY, u64(proposed.getEpoch()));
                    wb.put(meta, SEALED_BY_KEY, EMPTY);
                }
                db.write(syncedWriteOptions, wb);
            }
            LOG.info("flstore {}: layout {}.{} with {} stripe(s){}, floor {}", dir,
                    Long.toUnsignedString(proposed.getEpoch()), Long.toUnsignedString(proposed.getVersion()),
                    proposed.getStripesCount(), adopt ? " (adopting its epoch)" : "", Long.toUnsignedString(newFloor));
            if (adopt) {
                sealedEpoch = proposed.getEpoch();
                sealedBy = "";
            }
            layout = proposed;
            floor = newFloor;
            return LayoutReply.newBuilder().setAccepted(true).setLayout(proposed).setSealedEpoch(sealedEpoch).build();
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** Whether {@code a} and {@code b} give every LId up to {@code lid} the same owner (the same stripes cover them). */
    private static boolean sameOwnersThrough(Layout a, Layout b, long lid) {
        return stripesFromAtMost(a, lid).equals(stripesFromAtMost(b, lid));
    }

    private static List<Stripe> stripesFromAtMost(Layout l, long lid) {
        return l.getStripesList().stream().filter(s -> Long.compareUnsigned(s.getFromLid(), lid) <= 0).toList();
    }

    /**
     * Names this maintainer as the layout's stripes do (its gRPC address,
     * {@code advertiseHost:grpcPort}), so the floor can follow the LIds it
     * owns; until then the floor stays where it was. Advances the floor at
     * once. If the persisted floor was computed for another address (the
     * maintainer came back under a new one), it is recomputed from 0.
     */
    public void setSelf(String address) throws RocksDBException {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            long from = floor;
            if (floorOf != null && !floorOf.equals(address) && from != 0) {
                LOG.warn("flstore {}: the floor {} was computed for {}, this maintainer is {}; recomputing it from 0",
                        dir, Long.toUnsignedString(from), floorOf, address);
                from = 0;
            }
            long newFloor = advance(layout, address, from, Set.of());
            if (!address.equals(floorOf) || newFloor != floor) {
                try (WriteBatch wb = new WriteBatch()) {
                    wb.put(meta, FLOOR_KEY, u64(newFloor));
                    wb.put(meta, FLOOR_OF_KEY, address.getBytes(StandardCharsets.UTF_8));
                    db.write(writeOptions, wb);
                }
            }
            self = address;
            floorOf = address;
            floor = newFloor;
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private void refreshIndexedThrough() {
        indexedThrough = pending.size() == 0 ? maxLid.get() : pending.first() - 1;
    }

    /** The highest TOId stored of each datacenter of origin. */
    public OriginMarks maxToids() {
        return maxToids;
    }

    /** The epoch this store is sealed at; 0 if it never was (it then stores nothing). */
    public long sealedEpoch() {
        return sealedEpoch;
    }

    /** Who sealed at {@link #sealedEpoch()}; empty if never sealed or the epoch was adopted with a layout. */
    public String sealedBy() {
        return sealedBy;
    }

    /** The newest layout stored; the default instance (epoch 0, no stripes) if none. */
    public Layout layout() {
        return layout;
    }

    /**
     * The highest LId F such that every LId up to F this maintainer owns under
     * its layout is stored (record or hole); 0 without a layout or before
     * {@link #setSelf}. Kept incrementally and persisted with the writes that
     * advance it.
     */
    public long floor() {
        return floor;
    }

    /**
     * Every LId this store holds up to here is indexed: the first LId with an
     * unindexed record minus one, or {@link #maxLid()} when none is. Holes
     * never need indexing. Tracked by the writes, so reading it is free.
     */
    public long indexedThrough() {
        return indexedThrough;
    }

    /** How many holes this store holds (also counted in {@link #count()}). */
    public long holes() {
        return holes.get();
    }

    /**
     * Which of {@code ids} this store holds but no indexer has acknowledged
     * yet, each with its LId (the lowest, should an id be held twice), in
     * LId order: after a crash, a queue learns from this (and the indexers)
     * exactly which of its records made it. Reads the unindexed records,
     * decoding only each record's id; stops once every id is found. After a
     * restart this may include records already indexed above an older
     * unindexed one (see the class notes), which the caller's index lookup
     * also finds.
     */
    public List<IdStatus> held(Collection<String> ids) {
        Set<String> wanted = new HashSet<>(ids);
        wanted.remove("");
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            List<IdStatus> out = new ArrayList<>();
            if (wanted.isEmpty()) {
                return out;
            }
            forEachUnindexed(0, (lid, v) -> {
                if (v != null) {
                    String id = IndexEntries.parse(v).getId();
                    if (wanted.remove(id)) {
                        out.add(IdStatus.newBuilder().setId(id).setLid(lid).build());
                    }
                }
                return !wanted.isEmpty();
            });
            return out;
        } catch (RocksDBException | InvalidProtocolBufferException e) {
            throw new IllegalStateException("flstore " + dir + ": cannot look ids up among unindexed records: " + e, e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * The lowest LId stored here and not yet indexed; 0 if every record here
     * is indexed. From what the writes track (free to read): read while
     * records are stored, it may be higher than a record written meanwhile,
     * never higher than one that was there before and is still unindexed.
     */
    public long lowestUnindexed() {
        return pending.first();
    }

    /** Whether {@code key} is in {@code cf}, without copying its value out (bloom filter first). */
    private boolean exists(ColumnFamilyHandle cf, byte[] key) throws RocksDBException {
        if (!db.keyMayExist(cf, key, null)) {
            return false;
        }
        return db.get(cf, key, EMPTY) != RocksDB.NOT_FOUND;
    }

    /** The record (or hole) at {@code lid} exactly as stored, or empty if this store does not hold it. */
    public Optional<byte[]> getBytes(long lid) throws RocksDBException {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            return Optional.ofNullable(db.get(records, keyOf(lid)));
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** The record at {@code lid} (a hole envelope for a hole), or empty if this store does not hold it. */
    public Optional<RecordEnvelope> get(long lid) throws RocksDBException {
        Optional<byte[]> bytes = getBytes(lid);
        return bytes.isEmpty() ? Optional.empty() : Optional.of(parse(lid, bytes.get()));
    }

    /**
     * The records (and holes) this store holds among {@code lids}, in the
     * order asked, each at most once; stops early (having returned at least one) once
     * {@code maxBytes} of records are collected.
     */
    public List<RecordEnvelope> get(List<Long> lids, long maxBytes) throws RocksDBException {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            List<RecordEnvelope> out = new ArrayList<>();
            Set<Long> seen = new HashSet<>();
            long bytes = 0;
            for (long lid : lids) {
                if (lid == 0 || !seen.add(lid)) {
                    continue;
                }
                byte[] v = db.get(records, keyOf(lid));
                if (v == null) {
                    continue;
                }
                if (!out.isEmpty() && bytes + v.length > maxBytes) {
                    break;
                }
                bytes += v.length;
                out.add(parse(lid, v));
            }
            return out;
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * The records (and holes) this store holds with LIds in
     * {@code [fromLid, fromLid + limit)}, in LId order. A maintainer owns stripes (blocks of 1000 LIds), so the
     * answer has gaps where other maintainers hold the LIds.
     */
    public List<RecordEnvelope> range(long fromLid, int limit) throws RocksDBException {
        return range(fromLid, limit, Long.MAX_VALUE);
    }

    /**
     * As {@link #range(long, int)}, but stops early (having returned at least
     * one record) once {@code maxBytes} of records are collected, so an answer
     * fits in one gRPC message; the caller continues after the last LId.
     */
    public List<RecordEnvelope> range(long fromLid, int limit, long maxBytes) throws RocksDBException {
        if (limit <= 0) {
            return List.of();
        }
        long from = fromLid == 0 ? 1 : fromLid;
        long end = from + limit; // exclusive, unsigned
        boolean toTheEnd = Long.compareUnsigned(end, from) < 0;
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            return rangeOpen(from, end, toTheEnd, maxBytes);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private List<RecordEnvelope> rangeOpen(long from, long end, boolean toTheEnd, long maxBytes) throws RocksDBException {
        try (RocksIterator it = db.newIterator(records)) {
            List<RecordEnvelope> out = new ArrayList<>();
            long bytes = 0;
            for (it.seek(keyOf(from)); it.isValid(); it.next()) {
                long lid = lidOf(it.key());
                if (!toTheEnd && Long.compareUnsigned(lid, end) >= 0) {
                    break;
                }
                byte[] v = it.value();
                if (!out.isEmpty() && bytes + v.length > maxBytes) {
                    break;
                }
                bytes += v.length;
                out.add(parse(lid, v));
            }
            it.status();
            return out;
        }
    }

    private RecordEnvelope parse(long lid, byte[] value) {
        try {
            return RecordEnvelope.parseFrom(value);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("flstore " + dir + ": record at LId " + Long.toUnsignedString(lid)
                    + " is not a RecordEnvelope (" + value.length + " bytes)", e);
        }
    }

    /**
     * Rebuilds {@link #pending}: the records above the persisted watermark
     * that are not holes. A store from before the watermark has markers
     * instead: they say exactly what is unindexed, and are replaced by the
     * watermark in one write.
     */
    private void restorePending() throws RocksDBException {
        long markers = 0;
        try (RocksIterator it = db.newIterator(unindexed)) {
            for (it.seekToFirst(); it.isValid(); it.next()) {
                markers++;
                pending.add(lidOf(it.key()));
            }
            it.status();
        }
        byte[] w = db.get(meta, INDEXED_THROUGH_KEY);
        if (w != null) {
            persistedIndexedThrough = u64(w);
            if (Long.compareUnsigned(persistedIndexedThrough, maxLid.get()) < 0) {
                try (RocksIterator it = db.newIterator(records)) {
                    for (it.seek(keyOf(persistedIndexedThrough + 1)); it.isValid(); it.next()) {
                        long lid = lidOf(it.key());
                        if (!parse(lid, it.value()).getHole()) {
                            pending.add(lid);
                        }
                    }
                    it.status();
                }
            }
        }
        refreshIndexedThrough();
        if (w == null || markers > 0) {
            try (WriteBatch wb = new WriteBatch()) {
                wb.deleteRange(unindexed, keyOf(0), keyOf(-1L));
                wb.delete(unindexed, keyOf(-1L));
                wb.put(meta, INDEXED_THROUGH_KEY, u64(indexedThrough));
                db.write(syncedWriteOptions, wb);
            }
            persistedIndexedThrough = indexedThrough;
        }
    }

    /** Exact number of LIds stored, records and holes (each LId once). */
    public long count() {
        return count.get();
    }

    /** The highest LId stored, 0 if none. */
    public long maxLid() {
        return maxLid.get();
    }

    /** How many stored records no indexer has acknowledged yet. */
    public long unindexedCount() {
        return pending.size();
    }

    /** LIds from {@code fromLid} on whose index entries are not yet acknowledged, ascending, at most {@code limit}. */
    public List<Long> unindexedLids(long fromLid, int limit) {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            return pending.from(fromLid, limit);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * Index entries of unindexed records from {@code fromLid} on, ascending,
     * at most {@code limit} and about {@link #BACKLOG_READ_BYTES} of records.
     * Records are read one at a time and only their id, seed, tag hashes and
     * lid are decoded, so memory stays small whatever the record sizes.
     */
    @Override
    public List<IndexEntry> unindexed(long fromLid, int limit) {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            return unindexedOpen(fromLid, limit);
        } catch (RocksDBException | InvalidProtocolBufferException e) {
            throw new IllegalStateException("flstore " + dir + ": cannot read unindexed records: " + e, e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private List<IndexEntry> unindexedOpen(long fromLid, int limit) throws RocksDBException, InvalidProtocolBufferException {
        List<IndexEntry> out = new ArrayList<>();
        long[] bytes = {0};
        if (limit <= 0) {
            return out;
        }
        forEachUnindexed(fromLid, (lid, v) -> {
            if (v == null) {
                // Cannot happen (a record is pending only once written); drop it.
                LOG.warn("flstore {}: unindexed LId {} without a record; dropping it", dir, Long.toUnsignedString(lid));
                pending.remove(lid);
                refreshIndexedThrough();
            } else {
                bytes[0] += v.length;
                out.add(IndexEntries.parse(v));
            }
            return out.size() < limit && bytes[0] < BACKLOG_READ_BYTES;
        });
        return out;
    }

    /** Called with each unindexed LId and its stored value (null if none); returns whether to go on. */
    private interface UnindexedVisit {
        boolean next(long lid, byte[] value) throws RocksDBException, InvalidProtocolBufferException;
    }

    /** Visits the unindexed records from {@code fromLid} on (unsigned), ascending, until {@code visit} says stop. */
    private void forEachUnindexed(long fromLid, UnindexedVisit visit) throws RocksDBException, InvalidProtocolBufferException {
        long from = fromLid;
        while (true) {
            List<Long> lids = pending.from(from, 1000);
            if (lids.isEmpty()) {
                return;
            }
            for (long lid : lids) {
                if (!visit.next(lid, db.get(records, keyOf(lid)))) {
                    return;
                }
            }
            from = lids.get(lids.size() - 1) + 1;
            if (from == 0) {
                return; // past the last LId
            }
        }
    }

    /**
     * {@code lids} are indexed (an indexer acknowledged them): they leave the
     * unindexed set, and the watermark, if it rises, is persisted in one put.
     * If that is lost in a crash the entries are just sent again, which
     * indexers tolerate (an entry is keyed by its LId).
     */
    @Override
    public void markIndexed(List<Long> lids) {
        if (lids.isEmpty()) {
            return;
        }
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            boolean removed = false;
            for (long lid : lids) {
                removed |= pending.remove(lid);
            }
            if (removed) {
                refreshIndexedThrough();
                long through = indexedThrough;
                if (Long.compareUnsigned(through, persistedIndexedThrough) > 0) {
                    db.put(meta, writeOptions, INDEXED_THROUGH_KEY, u64(through));
                    persistedIndexedThrough = through;
                }
            }
        } catch (RocksDBException e) {
            throw new IllegalStateException("flstore " + dir + ": cannot mark LIds indexed: " + e, e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * The {@code meta} entries whose key starts with {@code prefix}, in key
     * order. For small side state kept by other classes (e.g. {@link IndexShares}),
     * read once at start.
     */
    @Override
    public java.util.SortedMap<String, byte[]> metaWithPrefix(String prefix) {
        lifecycle.readLock().lock();
        try (RocksIterator it = db.newIterator(meta)) {
            ensureOpen();
            java.util.SortedMap<String, byte[]> out = new java.util.TreeMap<>();
            for (it.seek(meta(prefix)); it.isValid(); it.next()) {
                String key = new String(it.key(), StandardCharsets.UTF_8);
                if (!key.startsWith(prefix)) {
                    break;
                }
                out.put(key, it.value());
            }
            return out;
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * Writes {@code puts} and deletes every {@code meta} key starting with one
     * of {@code deletePrefixes}, in one WriteBatch (so a crash keeps all or
     * none of it). Keys must not collide with the store's own meta keys: use a
     * prefix of your own. Loop thread only, as every write.
     */
    @Override
    public void writeMeta(Map<String, byte[]> puts, Collection<String> deletePrefixes) {
        lifecycle.readLock().lock();
        try (WriteBatch wb = new WriteBatch()) {
            ensureOpen();
            for (String prefix : deletePrefixes) {
                byte[] from = meta(prefix);
                byte[] to = java.util.Arrays.copyOf(from, from.length + 1);
                to[from.length] = (byte) 0xFF; // UTF-8 never has 0xFF: past every key with this prefix
                wb.deleteRange(meta, from, to);
            }
            for (Map.Entry<String, byte[]> e : puts.entrySet()) {
                wb.put(meta, meta(e.getKey()), e.getValue());
            }
            db.write(writeOptions, wb);
        } catch (RocksDBException e) {
            throw new IllegalStateException("flstore " + dir + ": cannot write meta: " + e, e);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    public Path directory() {
        return dir;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("flstore " + dir + " is closed");
        }
    }

    /**
     * Closes the database and every native object, after running reads and
     * writes finish. Does not flush memtables: the WAL already holds every
     * write, and recovery replays it (as after a crash).
     */
    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            writeOptions.close();
            syncedWriteOptions.close();
            for (ColumnFamilyHandle h : handles) {
                h.close();
            }
            db.close();
            closeOptions();
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    private void closeOptions() {
        List<AutoCloseable> all = new ArrayList<>(List.of(dbOptions, recordOptions, smallOptions, bloom, cache));
        if (env != null) {
            all.add(env);
        }
        for (AutoCloseable c : all) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.debug("closing {}: {}", c, e.toString());
            }
        }
    }

    /**
     * Writes the record's bytes with {@code stored_us} appended as one more
     * field at {@code buf[offset..offset + length)}, {@code length} being
     * exactly their size: protobuf lets a later field value win, so this
     * avoids re-building the message just to stamp when it was persisted.
     */
    private static void writeStamped(RecordEnvelope r, long storedUs, byte[] buf, int offset, int length) {
        CodedOutputStream cos = CodedOutputStream.newInstance(buf, offset, length);
        try {
            r.writeTo(cos);
            cos.writeInt64(RecordEnvelope.STORED_US_FIELD_NUMBER, storedUs);
            cos.checkNoSpaceLeft();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
