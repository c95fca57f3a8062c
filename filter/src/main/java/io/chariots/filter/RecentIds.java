package io.chariots.filter;

import io.chariots.common.collect.FifoPairMap;
import io.chariots.common.record.Fnv1a64;

import java.nio.charset.StandardCharsets;

/**
 * The ids this filter let into the log most recently, oldest evicted first.
 * Ids are kept as two independent 64-bit hashes (128 bits: a false duplicate
 * is astronomically unlikely) in primitive arrays, so a million of them cost
 * 40 MiB and no garbage-collection work. Owned by the filter loop.
 */
final class RecentIds {
    private final FifoPairMap ids;

    RecentIds(int capacity) {
        this.ids = new FifoPairMap(capacity);
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
        return ids.putIfAbsent(a, b ^ utf8.length, 1);
    }

    int size() {
        return ids.size();
    }
}
