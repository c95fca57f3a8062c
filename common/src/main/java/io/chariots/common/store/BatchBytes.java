package io.chariots.common.store;

import org.rocksdb.WriteBatch;

import java.util.Arrays;

/**
 * A RocksDB write batch built in Java, in RocksDB's own representation
 * ({@code db/write_batch.cc}: a 12-byte header, the sequence as fixed64 and
 * the count as fixed32, little-endian; then per operation a type byte, for a
 * column family other than the default its id as a varint32, the key and the
 * value, each a varint32 length and its bytes), handed to RocksDB in one JNI
 * call by {@link #toWriteBatch} instead of one call per key: on the indexer's
 * write path, six keys a record, and the maintainer's, a record's key and a few
 * counters a batch, those calls cost more than building the bytes.
 */
public final class BatchBytes {
    private static final int HEADER = 12;
    private static final byte VALUE = 0x1;
    private static final byte MERGE = 0x2;
    private static final byte COLUMN_FAMILY_VALUE = 0x5;

    /** Writes a value of a length given beforehand straight into the batch's buffer. */
    @FunctionalInterface
    public interface ValueWriter {
        /** Writes exactly the length announced at {@code buf[offset..]}. */
        void write(byte[] buf, int offset);
    }

    private byte[] buf;
    private int pos = HEADER;
    private int count;

    /** An empty batch with room for about {@code expectedBytes} of operations before it grows. */
    public BatchBytes(int expectedBytes) {
        buf = new byte[Math.max(64, HEADER + expectedBytes)];
    }

    /** A put into the default column family. */
    public void put(byte[] key, byte[] value) {
        put(0, key, value);
    }

    /** A merge into the default column family. */
    public void merge(byte[] key, byte[] value) {
        ensure(1 + 5 + key.length + 5 + value.length);
        buf[pos++] = MERGE;
        bytes(key);
        bytes(value);
        count++;
    }

    /** A put into the column family with id {@code columnFamily} (its handle's {@code getID()}; 0 is the default). */
    public void put(int columnFamily, byte[] key, byte[] value) {
        ensure(1 + 5 + 5 + key.length + 5 + value.length);
        putType(columnFamily);
        bytes(key);
        bytes(value);
        count++;
    }

    /**
     * A put into column family {@code columnFamily} of a value of {@code valueLength} bytes that
     * {@code writer} writes in place: no copy of it is made first. If the writer throws, the batch is
     * left as it was before this call.
     */
    public void put(int columnFamily, byte[] key, int valueLength, ValueWriter writer) {
        ensure(1 + 5 + 5 + key.length + 5 + valueLength);
        int start = pos;
        putType(columnFamily);
        bytes(key);
        varint(valueLength);
        try {
            writer.write(buf, pos);
        } catch (RuntimeException | Error e) {
            pos = start;
            throw e;
        }
        pos += valueLength;
        count++;
    }

    /** Operations added. */
    public int count() {
        return count;
    }

    /** A new {@link WriteBatch} holding every operation added, in order; the caller closes it. */
    public WriteBatch toWriteBatch() {
        return new WriteBatch(toBytes());
    }

    /** The batch in RocksDB's representation, as {@link WriteBatch#data()} gives it. */
    public byte[] toBytes() {
        byte[] out = Arrays.copyOf(buf, pos);
        for (int i = 0; i < 4; i++) {
            out[8 + i] = (byte) (count >>> (8 * i));
        }
        return out;
    }

    /** A put's type: the default family's own, or another's with its id. */
    private void putType(int columnFamily) {
        if (columnFamily == 0) {
            buf[pos++] = VALUE;
        } else {
            buf[pos++] = COLUMN_FAMILY_VALUE;
            varint(columnFamily);
        }
    }

    private void bytes(byte[] b) {
        varint(b.length);
        System.arraycopy(b, 0, buf, pos, b.length);
        pos += b.length;
    }

    private void varint(int n) {
        while ((n & ~0x7F) != 0) {
            buf[pos++] = (byte) ((n & 0x7F) | 0x80);
            n >>>= 7;
        }
        buf[pos++] = (byte) n;
    }

    private void ensure(int more) {
        if (pos + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, pos + more));
        }
    }
}
