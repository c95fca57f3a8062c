package io.chariots.indexer;

import org.rocksdb.WriteBatch;

import java.util.Arrays;

/**
 * A RocksDB write batch built in Java, in RocksDB's own representation
 * ({@code db/write_batch.cc}: a 12-byte header, the sequence as fixed64 and
 * the count as fixed32, little-endian; then per operation a type byte, the
 * key and the value, each a varint32 length and its bytes), handed to
 * RocksDB in one JNI call by {@link #toWriteBatch} instead of one call per
 * key: on the indexer's write path, six keys a record, those calls cost more
 * than building the bytes. Default column family only.
 */
final class BatchBytes {
    private static final int HEADER = 12;
    private static final byte VALUE = 0x1;
    private static final byte MERGE = 0x2;

    private byte[] buf;
    private int pos = HEADER;
    private int count;

    BatchBytes(int expectedBytes) {
        buf = new byte[Math.max(64, HEADER + expectedBytes)];
    }

    void put(byte[] key, byte[] value) {
        add(VALUE, key, value);
    }

    void merge(byte[] key, byte[] value) {
        add(MERGE, key, value);
    }

    int count() {
        return count;
    }

    /** A new {@link WriteBatch} holding every operation added, in order; the caller closes it. */
    WriteBatch toWriteBatch() {
        return new WriteBatch(toBytes());
    }

    byte[] toBytes() {
        byte[] out = Arrays.copyOf(buf, pos);
        for (int i = 0; i < 4; i++) {
            out[8 + i] = (byte) (count >>> (8 * i));
        }
        return out;
    }

    private void add(byte type, byte[] key, byte[] value) {
        ensure(1 + 5 + key.length + 5 + value.length);
        buf[pos++] = type;
        bytes(key);
        bytes(value);
        count++;
    }

    private void bytes(byte[] b) {
        int n = b.length;
        while ((n & ~0x7F) != 0) {
            buf[pos++] = (byte) ((n & 0x7F) | 0x80);
            n >>>= 7;
        }
        buf[pos++] = (byte) n;
        System.arraycopy(b, 0, buf, pos, b.length);
        pos += b.length;
    }

    private void ensure(int more) {
        if (pos + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, pos + more));
        }
    }
}
