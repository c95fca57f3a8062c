package io.chariots.indexer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The index's key layout. Integers are 8-byte big-endian, so RocksDB's default
 * bytewise comparator orders them as <em>unsigned</em> values: tag hashes and
 * seeds above 2^63 (negative as a Java {@code long}) sort after smaller ones,
 * and LIds within a prefix come out in increasing order.
 *
 * <table>
 * <caption>Key spaces</caption>
 * <tr><th>key</th><th>value</th><th>answers</th></tr>
 * <tr><td>{@code 't' hash seed}</td><td>~lowest LId (merged with RocksDB's "max")</td><td>is (hash, seed) in the log, and its lowest LId (one point lookup)</td></tr>
 * <tr><td>{@code 'T' hash lid}</td><td>seed</td><td>LIds carrying a tag, in order</td></tr>
 * <tr><td>{@code 's' seed lid}</td><td>empty</td><td>LIds of a chain, in order</td></tr>
 * <tr><td>{@code 'i' id}</td><td>lid</td><td>where an id was appended</td></tr>
 * <tr><td>{@code 'r' id}</td><td>reason (UTF-8)</td><td>ids rejected because their cause never came</td></tr>
 * </table>
 *
 * <p>The ranged keys ({@code 'T'}, {@code 's'}) are kept in the column family
 * {@link TagIndex#RANGED}, the others in the default one.
 *
 * <p>Every ranged key ends with its LId, so a scan reads the LId from the last
 * 8 bytes whatever the key space. The pair key is not ranged: its value is the
 * bitwise complement of the lowest LId, so that the built-in "max" merge
 * operator keeps the lowest without reading on the write path.
 */
final class IndexKeys {
    static final byte PAIR = 't';
    static final byte TAG = 'T';
    static final byte SEED = 's';
    static final byte ID = 'i';
    static final byte REJECTED = 'r';

    /** Length of the pair key {@code 't' hash seed}: also the RocksDB prefix-extractor length. */
    static final int PAIR_PREFIX_LENGTH = 17;

    static final byte[] EMPTY = new byte[0];

    private IndexKeys() {
    }

    static byte[] pairPrefix(long hash, long seed) {
        byte[] k = new byte[PAIR_PREFIX_LENGTH];
        k[0] = PAIR;
        putLong(k, 1, hash);
        putLong(k, 9, seed);
        return k;
    }

    static byte[] tagPrefix(long hash) {
        return prefix(TAG, hash);
    }

    static byte[] tag(long hash, long lid) {
        return withLid(tagPrefix(hash), lid);
    }

    static byte[] seedPrefix(long seed) {
        return prefix(SEED, seed);
    }

    static byte[] seed(long seed, long lid) {
        return withLid(seedPrefix(seed), lid);
    }

    static byte[] id(String id) {
        return text(ID, id);
    }

    static byte[] rejected(String id) {
        return text(REJECTED, id);
    }

    /** {@code prefix} followed by {@code lid}: the first key of a scan starting at {@code lid}. */
    static byte[] withLid(byte[] prefix, long lid) {
        byte[] k = Arrays.copyOf(prefix, prefix.length + 8);
        putLong(k, prefix.length, lid);
        return k;
    }

    /** The LId every ranged key ends with. */
    static long lidOf(byte[] key) {
        return getLong(key, key.length - 8);
    }

    /**
     * The smallest key greater than every key starting with {@code prefix}:
     * the exclusive upper bound of a prefix scan. Null if there is none (a
     * prefix of only 0xFF bytes), which cannot happen here since every prefix
     * starts with a letter.
     */
    static byte[] successor(byte[] prefix) {
        byte[] s = prefix.clone();
        for (int i = s.length - 1; i >= 0; i--) {
            if (s[i] != (byte) 0xFF) {
                s[i]++;
                return Arrays.copyOf(s, i + 1);
            }
        }
        return null;
    }

    /** Whether {@code key} is a ranged key (a tag's or a chain's), kept in {@link TagIndex#RANGED}. */
    static boolean ranged(byte[] key) {
        return key[0] == TAG || key[0] == SEED;
    }

    static boolean startsWith(byte[] key, byte[] prefix) {
        return key.length >= prefix.length && Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
    }

    static byte[] u64(long v) {
        byte[] b = new byte[8];
        putLong(b, 0, v);
        return b;
    }

    static void putLong(byte[] b, int off, long v) {
        for (int i = 7; i >= 0; i--) {
            b[off + i] = (byte) v;
            v >>>= 8;
        }
    }

    static long getLong(byte[] b, int off) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (b[off + i] & 0xFF);
        }
        return v;
    }

    private static byte[] prefix(byte space, long v) {
        byte[] k = new byte[9];
        k[0] = space;
        putLong(k, 1, v);
        return k;
    }

    private static byte[] text(byte space, String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        byte[] k = new byte[utf8.length + 1];
        k[0] = space;
        System.arraycopy(utf8, 0, k, 1, utf8.length);
        return k;
    }
}
