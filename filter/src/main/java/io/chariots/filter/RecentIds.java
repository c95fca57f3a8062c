package io.chariots.filter;

import io.chariots.common.record.Fnv1a64;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The ids this filter let into the log most recently, oldest evicted first.
 * Ids are kept as two independent 64-bit hashes (128 bits: a false duplicate
 * is astronomically unlikely) to bound memory. Owned by the filter loop.
 */
final class RecentIds {
    private record Key(long a, long b) {
    }

    private final int capacity;
    private final LinkedHashMap<Key, Boolean> ids;

    RecentIds(int capacity) {
        this.capacity = capacity;
        this.ids = new LinkedHashMap<>(Math.min(capacity, 1 << 16), 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Key, Boolean> eldest) {
                return size() > RecentIds.this.capacity;
            }
        };
    }

    /** Records {@code id}; returns false if it was already there (a duplicate). */
    boolean add(String id) {
        byte[] utf8 = id.getBytes(StandardCharsets.UTF_8);
        long a = Fnv1a64.hash(utf8);
        long b = 0x9E3779B97F4A7C15L;
        for (byte x : utf8) {
            b = Long.rotateLeft(b ^ (x & 0xff), 27) * 0xC2B2AE3D27D4EB4FL;
        }
        b ^= b >>> 31;
        return ids.putIfAbsent(new Key(a, b ^ utf8.length), Boolean.TRUE) == null;
    }

    int size() {
        return ids.size();
    }
}
