package io.chariots.common.record;

import java.nio.charset.StandardCharsets;

/**
 * FNV-1a 64-bit, the hash that names a cause: a record's {@code prehash} is
 * {@code hash(key, value)} of one tag of its cause, computed over the UTF-8
 * bytes of {@code key + ":" + value}. The result is unsigned; print it with
 * {@link Unsigned64#toString(long)}.
 */
public final class Fnv1a64 {
    /** Offset basis 14695981039346656037. */
    public static final long OFFSET_BASIS = 0xcbf29ce484222325L;
    /** Prime 1099511628211. */
    public static final long PRIME = 0x100000001b3L;

    private Fnv1a64() {
    }

    /** FNV-1a-64 of the UTF-8 bytes of {@code key + ":" + value}. */
    public static long hashTag(String key, String value) {
        long h = OFFSET_BASIS;
        h = update(h, key);
        h = (h ^ ':') * PRIME;
        return update(h, value);
    }

    /** FNV-1a-64 of {@code bytes}. */
    public static long hash(byte[] bytes) {
        long h = OFFSET_BASIS;
        for (byte b : bytes) {
            h = (h ^ (b & 0xff)) * PRIME;
        }
        return h;
    }

    private static long update(long h, String s) {
        // ASCII fast path; anything else goes through the UTF-8 encoder so the
        // hash is over UTF-8 bytes, never UTF-16 chars.
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c >= 0x80) {
                byte[] rest = s.substring(i).getBytes(StandardCharsets.UTF_8);
                for (byte b : rest) {
                    h = (h ^ (b & 0xff)) * PRIME;
                }
                return h;
            }
            h = (h ^ c) * PRIME;
        }
        return h;
    }
}
