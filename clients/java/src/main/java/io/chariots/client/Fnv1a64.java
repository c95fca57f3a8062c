package io.chariots.client;

import java.nio.charset.StandardCharsets;

/**
 * FNV-1a 64-bit over UTF-8 bytes: the hash that names a cause. A record's
 * prehash is {@code tagHash(key, value)} of one tag of its cause. Values are
 * unsigned; print them with {@link Long#toUnsignedString(long)}.
 */
public final class Fnv1a64 {
    private static final long OFFSET_BASIS = 0xcbf29ce484222325L;
    private static final long PRIME = 0x100000001b3L;

    private Fnv1a64() {
    }

    /** FNV-1a-64 of the UTF-8 bytes of {@code key + ":" + value}. */
    public static long tagHash(String key, String value) {
        return hash(key + ":" + value);
    }

    /** FNV-1a-64 of the UTF-8 bytes of {@code text} (never its UTF-16 chars). */
    public static long hash(String text) {
        long h = OFFSET_BASIS;
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * PRIME;
        }
        return h;
    }
}
