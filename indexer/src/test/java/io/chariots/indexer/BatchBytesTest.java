package io.chariots.indexer;

import org.junit.jupiter.api.Test;
import org.rocksdb.RocksDB;
import org.rocksdb.WriteBatch;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class BatchBytesTest {
    static {
        RocksDB.loadLibrary();
    }

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
}
