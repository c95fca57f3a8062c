package io.chariots.common.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.DBOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BatchBytesTest {
    static {
        RocksLibrary.load();
    }

    @TempDir
    Path dir;

    /** The bytes built in Java are exactly what RocksDB's own WriteBatch builds, short and long keys and values alike. */
    @Test
    void buildsTheSameRepresentationAsRocksDbsWriteBatch() throws Exception {
        Random random = new Random(7);
        for (int round = 0; round < 50; round++) {
            BatchBytes ours = new BatchBytes(0);
            try (WriteBatch theirs = new WriteBatch()) {
                int ops = random.nextInt(40);
                for (int i = 0; i < ops; i++) {
                    byte[] key = new byte[random.nextInt(random.nextBoolean() ? 20 : 300)];
                    byte[] value = new byte[random.nextInt(random.nextBoolean() ? 10 : 20_000)];
                    random.nextBytes(key);
                    random.nextBytes(value);
                    if (random.nextBoolean()) {
                        ours.merge(key, value);
                        theirs.merge(key, value);
                    } else {
                        ours.put(key, value);
                        theirs.put(key, value);
                    }
                }
                if (round == 0) {
                    // Counts past 65,535 (every byte of the little-endian count) and a value whose
                    // length takes a 4-byte varint.
                    for (int i = 0; i < 70_000; i++) {
                        byte[] key = {(byte) i, (byte) (i >> 8), (byte) (i >> 16)};
                        ours.put(key, key);
                        theirs.put(key, key);
                    }
                    byte[] big = new byte[3 << 20];
                    ours.put(new byte[] {1}, big);
                    theirs.put(new byte[] {1}, big);
                }
                assertThat(ours.toBytes()).as("round %d", round).isEqualTo(theirs.data());
                assertThat(ours.count()).isEqualTo(theirs.count());
                try (WriteBatch rebuilt = ours.toWriteBatch()) {
                    assertThat(rebuilt.count()).isEqualTo(theirs.count());
                    assertThat(rebuilt.data()).isEqualTo(theirs.data());
                }
            }
        }
    }

    /** A value writer that throws leaves the batch as it was: no half operation, the same count. */
    @Test
    void aFailingValueWriterLeavesTheBatchAsItWas() {
        BatchBytes batch = new BatchBytes(0);
        batch.put(3, new byte[] {1, 2}, new byte[] {3});
        byte[] before = batch.toBytes();
        assertThatThrownBy(() -> batch.put(3, new byte[] {4}, 10, (b, off) -> {
            b[off] = 9;
            throw new IllegalStateException("cannot serialize");
        })).hasMessage("cannot serialize");
        assertThat(batch.toBytes()).isEqualTo(before);
        assertThat(batch.count()).isEqualTo(1);
        batch.put(3, new byte[] {5}, new byte[] {6});
        assertThat(batch.count()).isEqualTo(2);
    }

    /**
     * Puts into other column families, values written in place among them, are what RocksDB's own WriteBatch
     * builds with those families' handles, and a database given the bytes stores each in its family.
     */
    @Test
    void putsIntoColumnFamiliesAsRocksDbDoesAndTheDatabaseStoresThemThere() throws Exception {
        List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
        descriptors.add(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY));
        for (int i = 1; i <= 200; i++) { // ids past 127 take a 2-byte varint
            descriptors.add(new ColumnFamilyDescriptor(("cf" + i).getBytes(StandardCharsets.UTF_8)));
        }
        List<ColumnFamilyHandle> handles = new ArrayList<>();
        try (DBOptions options = new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true);
             RocksDB db = RocksDB.open(options, dir.toString(), descriptors, handles);
             WriteOptions writeOptions = new WriteOptions()) {
            try {
                writeAndReadBack(db, writeOptions, handles);
            } finally {
                handles.forEach(ColumnFamilyHandle::close); // before the database closes
            }
        }
    }

    private static void writeAndReadBack(RocksDB db, WriteOptions writeOptions, List<ColumnFamilyHandle> handles)
            throws Exception {
        Random random = new Random(11);
        BatchBytes ours = new BatchBytes(0);
        List<byte[]> keys = new ArrayList<>();
        List<byte[]> values = new ArrayList<>();
        List<ColumnFamilyHandle> families = new ArrayList<>();
        try (WriteBatch theirs = new WriteBatch()) {
            for (int i = 0; i < 500; i++) {
                ColumnFamilyHandle cf = handles.get(random.nextInt(handles.size()));
                byte[] key = ("k" + i).getBytes(StandardCharsets.UTF_8);
                byte[] value = new byte[random.nextInt(random.nextBoolean() ? 30 : 20_000)];
                random.nextBytes(value);
                switch (random.nextInt(3)) {
                    case 0 -> ours.put(cf.getID(), key, value);
                    case 1 -> ours.put(cf.getID(), key, value.length,
                            (b, off) -> System.arraycopy(value, 0, b, off, value.length));
                    default -> {
                        if (cf.getID() != 0) {
                            ours.put(cf.getID(), key, value);
                        } else {
                            ours.put(key, value); // the default family's own form: the same bytes
                        }
                    }
                }
                theirs.put(cf, key, value);
                keys.add(key);
                values.add(value);
                families.add(cf);
            }
            assertThat(ours.toBytes()).isEqualTo(theirs.data());
        }
        try (WriteBatch wb = ours.toWriteBatch()) {
            db.write(writeOptions, wb);
        }
        for (int i = 0; i < keys.size(); i++) {
            assertThat(db.get(families.get(i), keys.get(i))).as("key %d", i).isEqualTo(values.get(i));
            ColumnFamilyHandle other = handles.get((handles.indexOf(families.get(i)) + 1) % handles.size());
            assertThat(db.get(other, keys.get(i))).as("key %d in another family", i).isNull();
        }
    }
}
