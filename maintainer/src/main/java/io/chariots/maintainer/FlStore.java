package io.chariots.maintainer;

import com.google.protobuf.InvalidProtocolBufferException;
import io.chariots.proto.IndexEntry;
import io.chariots.proto.RecordEnvelope;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.LRUCache;
import org.rocksdb.ReadOptions;
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
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
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
 *     the bytes received (with its lid). Values of any size are stored whole,
 *     one key each; no fixed slots, so a large record can never spill into a
 *     neighbour (GoChariots' 512-byte slots did). Values above
 *     {@link #BLOB_THRESHOLD} go to blob files, so multi-MiB records are not
 *     rewritten by every compaction.</li>
 * <li>{@code unindexed}: LId → empty, a marker written in the <em>same</em>
 *     {@link WriteBatch} as the record and deleted once an indexer
 *     acknowledged its entry. After a crash the markers say exactly what the
 *     indexers may still lack.</li>
 * <li>{@code meta}: the exact number of stored records, updated in the same
 *     WriteBatch, so {@link #count()} is exact across restarts without a scan.</li>
 * </ul>
 *
 * <p>Durability: every write goes through the WAL (without fsync unless
 * {@link Tuning#syncWrites}), so an acknowledged batch survives SIGKILL of the
 * process; with {@code syncWrites} it also survives power loss.
 *
 * <p>Threads: {@link #store} and {@link #markIndexed} must be called from one
 * thread (the maintainer's loop), which keeps write order = arrival order and
 * the counters exact; reads may come from any thread, concurrently with
 * writes. {@link #close} waits for running reads, and later calls fail with
 * {@link IllegalStateException} instead of touching freed native memory.
 */
public final class FlStore implements AutoCloseable, IndexFeeder.Backlog {
    private static final Logger LOG = LoggerFactory.getLogger(FlStore.class);

    /** Values at least this large are kept in blob files rather than in the LSM tree. */
    public static final long BLOB_THRESHOLD = 16 * 1024;
    /** Bytes of records read per {@link #unindexed} call at most (at least one record is returned). */
    static final long BACKLOG_READ_BYTES = 16L << 20;

    private static final byte[] UNINDEXED_CF = "unindexed".getBytes(StandardCharsets.UTF_8);
    private static final byte[] META_CF = "meta".getBytes(StandardCharsets.UTF_8);
    private static final byte[] STORED_COUNT_KEY = "stored_count".getBytes(StandardCharsets.UTF_8);
    private static final byte[] EMPTY = new byte[0];

    static {
        RocksDB.loadLibrary();
        // Compactions run at low CPU priority: on a small machine they would otherwise take a
        // core from the request path in bursts (flushes keep normal priority so writes never stall).
        org.rocksdb.Env.getDefault().lowerThreadPoolCPUPriority(org.rocksdb.Priority.LOW);
    }

    /**
     * Resource settings. Defaults suit a small machine running several roles.
     *
     * @param syncWrites       fsync the WAL on every batch (survives power loss, costs latency)
     * @param writeBufferBytes memtable size of the record column family
     * @param blockCacheBytes  block cache shared by all column families
     */
    public record Tuning(boolean syncWrites, long writeBufferBytes, long blockCacheBytes) {
        public static Tuning defaults() {
            return new Tuning(false, 32L << 20, 16L << 20);
        }
    }

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
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private final AtomicLong count = new AtomicLong();
    private final AtomicLong unindexedCount = new AtomicLong();
    private final AtomicLong maxLid = new AtomicLong();
    private boolean closed;

    private FlStore(Path dir, Tuning tuning) throws RocksDBException {
        this.dir = dir;
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
     * counters: the stored count from {@code meta}, the max LId by one seek,
     * the unindexed count by a key-only scan of the (small) marker family.
     */
    public static FlStore open(Path dir, Tuning tuning) throws IOException, RocksDBException {
        Files.createDirectories(dir);
        FlStore store = new FlStore(dir, tuning);
        try {
            store.restoreCounters();
        } catch (RocksDBException | RuntimeException e) {
            store.close();
            throw e;
        }
        return store;
    }

    private void restoreCounters() throws RocksDBException {
        try (RocksIterator it = db.newIterator(records)) {
            it.seekToLast();
            maxLid.set(it.isValid() ? lidOf(it.key()) : 0);
        }
        byte[] stored = db.get(meta, STORED_COUNT_KEY);
        if (stored != null) {
            count.set(ByteBuffer.wrap(stored).getLong());
        } else {
            long n = 0;
            try (RocksIterator it = db.newIterator(records)) {
                for (it.seekToFirst(); it.isValid(); it.next()) {
                    n++;
                }
            }
            count.set(n);
        }
        long markers = 0;
        try (RocksIterator it = db.newIterator(unindexed)) {
            for (it.seekToFirst(); it.isValid(); it.next()) {
                markers++;
            }
        }
        unindexedCount.set(markers);
        LOG.info("flstore {}: {} records, max LId {}, {} not yet indexed", dir, count.get(),
                Long.toUnsignedString(maxLid.get()), markers);
    }

    /** The key of {@code lid}: 8 bytes big-endian, so key order is unsigned LId order. */
    public static byte[] keyOf(long lid) {
        return ByteBuffer.allocate(Long.BYTES).putLong(lid).array();
    }

    /** The LId of a key written by {@link #keyOf}. */
    public static long lidOf(byte[] key) {
        return ByteBuffer.wrap(key).getLong();
    }

    /**
     * Writes one incoming batch atomically: every record, its unindexed
     * marker and the new stored count, in one {@link WriteBatch}. When this
     * returns the batch is in the WAL and may be acknowledged. Storing an LId
     * again overwrites it (the queue may resend a batch whose ack it lost), and
     * counts it once. Every record must have a non-zero lid; the caller
     * validates that before anything is written.
     *
     * @return how many of the LIds were new to this store
     */
    public int store(List<RecordEnvelope> batch) throws RocksDBException {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            long maxBefore = maxLid.get();
            long newMax = maxBefore;
            int newRecords = 0;
            int newMarkers = 0;
            Set<Long> seen = new HashSet<>();
            java.time.Instant now = java.time.Instant.now();
            long storedUs = now.getEpochSecond() * 1_000_000L + now.getNano() / 1000;
            try (WriteBatch wb = new WriteBatch()) {
                for (RecordEnvelope r : batch) {
                    long lid = r.getLid();
                    if (lid == 0) {
                        throw new IllegalArgumentException("record without lid: " + r.getId());
                    }
                    byte[] key = keyOf(lid);
                    if (seen.add(lid)) {
                        boolean fresh = Long.compareUnsigned(lid, maxBefore) > 0;
                        if (fresh || !exists(records, key)) {
                            newRecords++;
                        }
                        if (fresh || !exists(unindexed, key)) {
                            newMarkers++;
                        }
                    }
                    wb.put(records, key, withStoredTime(r, storedUs));
                    wb.put(unindexed, key, EMPTY);
                    if (Long.compareUnsigned(lid, newMax) > 0) {
                        newMax = lid;
                    }
                }
                long newCount = count.get() + newRecords;
                wb.put(meta, STORED_COUNT_KEY, ByteBuffer.allocate(Long.BYTES).putLong(newCount).array());
                db.write(writeOptions, wb);
                count.set(newCount);
                unindexedCount.addAndGet(newMarkers);
                maxLid.set(newMax);
            }
            return newRecords;
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** Whether {@code key} is in {@code cf}, without copying its value out (bloom filter first). */
    private boolean exists(ColumnFamilyHandle cf, byte[] key) throws RocksDBException {
        if (!db.keyMayExist(cf, key, null)) {
            return false;
        }
        return db.get(cf, key, EMPTY) != RocksDB.NOT_FOUND;
    }

    /** The record at {@code lid} exactly as stored, or empty if this store does not hold it. */
    public Optional<byte[]> getBytes(long lid) throws RocksDBException {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            return Optional.ofNullable(db.get(records, keyOf(lid)));
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /** The record at {@code lid}, or empty if this store does not hold it. */
    public Optional<RecordEnvelope> get(long lid) throws RocksDBException {
        Optional<byte[]> bytes = getBytes(lid);
        return bytes.isEmpty() ? Optional.empty() : Optional.of(parse(lid, bytes.get()));
    }

    /**
     * The records this store holds among {@code lids}, in the order asked,
     * each at most once; stops early (having returned at least one) once
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
     * The records this store holds with LIds in {@code [fromLid, fromLid + limit)},
     * in LId order. A maintainer owns stripes (blocks of 1000 LIds), so the
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

    /** Exact number of records stored (each LId once). */
    public long count() {
        return count.get();
    }

    /** The highest LId stored, 0 if none. */
    public long maxLid() {
        return maxLid.get();
    }

    /** How many stored records no indexer has acknowledged yet. */
    public long unindexedCount() {
        return unindexedCount.get();
    }

    /** LIds from {@code fromLid} on whose index entries are not yet acknowledged, ascending, at most {@code limit}. */
    public List<Long> unindexedLids(long fromLid, int limit) {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            List<Long> out = new ArrayList<>();
            try (RocksIterator it = db.newIterator(unindexed)) {
                for (it.seek(keyOf(fromLid)); it.isValid() && out.size() < limit; it.next()) {
                    out.add(lidOf(it.key()));
                }
            }
            return out;
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
        try (RocksIterator markers = db.newIterator(unindexed)) {
            List<IndexEntry> out = new ArrayList<>();
            long bytes = 0;
            for (markers.seek(keyOf(fromLid)); markers.isValid() && out.size() < limit && bytes < BACKLOG_READ_BYTES;
                 markers.next()) {
                byte[] key = markers.key();
                byte[] v = db.get(records, key);
                if (v == null) {
                    // Cannot happen (record and marker share a WriteBatch); drop the orphan.
                    LOG.warn("flstore {}: unindexed marker without record at LId {}; dropping it", dir,
                            Long.toUnsignedString(lidOf(key)));
                    db.delete(unindexed, writeOptions, key);
                    unindexedCount.decrementAndGet();
                    continue;
                }
                bytes += v.length;
                out.add(IndexEntries.parse(v));
            }
            return out;
        }
    }

    /**
     * Deletes the unindexed markers of {@code lids} (an indexer acknowledged
     * them), in one WriteBatch. If this is lost in a crash the entries are
     * just sent again, which indexers tolerate (an entry is keyed by its LId).
     */
    @Override
    public void markIndexed(List<Long> lids) {
        if (lids.isEmpty()) {
            return;
        }
        lifecycle.readLock().lock();
        try (WriteBatch wb = new WriteBatch()) {
            ensureOpen();
            List<byte[]> keys = new ArrayList<>(lids.size());
            Set<Long> seen = new HashSet<>();
            for (long lid : lids) {
                if (seen.add(lid)) {
                    keys.add(keyOf(lid));
                }
            }
            // One multi-get instead of a lookup per LId: only markers still there are counted.
            List<ColumnFamilyHandle> cfs = java.util.Collections.nCopies(keys.size(), unindexed);
            List<byte[]> present = db.multiGetAsList(cfs, keys);
            int removed = 0;
            for (int i = 0; i < keys.size(); i++) {
                if (present.get(i) != null) {
                    removed++;
                    wb.delete(unindexed, keys.get(i));
                }
            }
            if (removed > 0) {
                db.write(writeOptions, wb);
                unindexedCount.addAndGet(-removed);
            }
        } catch (RocksDBException e) {
            throw new IllegalStateException("flstore " + dir + ": cannot mark LIds indexed: " + e, e);
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
        for (AutoCloseable c : List.<AutoCloseable>of(dbOptions, recordOptions, smallOptions, bloom, cache)) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.debug("closing {}: {}", c, e.toString());
            }
        }
    }

    /**
     * The record's bytes with {@code stored_us} appended as one more field:
     * protobuf lets a later field value win, so this avoids re-building the
     * message just to stamp when it was persisted.
     */
    static byte[] withStoredTime(RecordEnvelope r, long storedUs) {
        byte[] body = r.toByteArray();
        byte[] out = java.util.Arrays.copyOf(body, body.length + 11);
        com.google.protobuf.CodedOutputStream cos = com.google.protobuf.CodedOutputStream.newInstance(out, body.length, 11);
        try {
            cos.writeInt64(RecordEnvelope.STORED_US_FIELD_NUMBER, storedUs);
            cos.flush();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        return java.util.Arrays.copyOf(out, body.length + cos.getTotalBytesWritten());
    }
}
