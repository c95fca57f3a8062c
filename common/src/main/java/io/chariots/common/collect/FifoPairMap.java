package io.chariots.common.collect;

/**
 * A bounded map from a pair of longs to a long, evicting the oldest entry
 * when full. Built on primitive arrays (open addressing, linear probing,
 * backward-shift deletion) so that holding a million entries costs the
 * garbage collector nothing: a map of boxed keys that size made every young
 * collection copy and promote them, costing 100 ms pauses. Not thread-safe;
 * owned by one event loop.
 */
public final class FifoPairMap {
    private final int capacity;
    private final int mask;
    private final long[] keyA;
    private final long[] keyB;
    private final long[] values;
    private final boolean[] used;
    // Insertion order, for eviction: a ring of the keys in the order they came.
    private final long[] ringA;
    private final long[] ringB;
    private int ringHead;
    private int size;

    /** @param capacity entries kept before the oldest is evicted; at least 1 */
    public FifoPairMap(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
        }
        this.capacity = capacity;
        int tableSize = Integer.highestOneBit(Math.max(2, capacity * 2 - 1)) << 1;
        this.mask = tableSize - 1;
        this.keyA = new long[tableSize];
        this.keyB = new long[tableSize];
        this.values = new long[tableSize];
        this.used = new boolean[tableSize];
        this.ringA = new long[capacity];
        this.ringB = new long[capacity];
    }

    private int slot(long a, long b) {
        long h = a * 0x9E3779B97F4A7C15L + b;
        h ^= h >>> 32;
        h *= 0xC2B2AE3D27D4EB4FL;
        h ^= h >>> 29;
        return (int) h & mask;
    }

    private int find(long a, long b) {
        int i = slot(a, b);
        while (used[i]) {
            if (keyA[i] == a && keyB[i] == b) {
                return i;
            }
            i = (i + 1) & mask;
        }
        return -1;
    }

    public boolean contains(long a, long b) {
        return find(a, b) >= 0;
    }

    /** The value for (a, b), or {@code missing}. */
    public long get(long a, long b, long missing) {
        int i = find(a, b);
        return i < 0 ? missing : values[i];
    }

    /**
     * Adds (a, b) → value unless (a, b) is present; evicts the oldest entry
     * if full.
     *
     * @return true if added, false if (a, b) was already there (its value unchanged)
     */
    public boolean putIfAbsent(long a, long b, long value) {
        int i = slot(a, b);
        while (used[i]) {
            if (keyA[i] == a && keyB[i] == b) {
                return false;
            }
            i = (i + 1) & mask;
        }
        if (size == capacity) {
            remove(ringA[ringHead], ringB[ringHead]);
            // The removal may have shifted entries: find the free slot again.
            i = slot(a, b);
            while (used[i]) {
                i = (i + 1) & mask;
            }
        }
        used[i] = true;
        keyA[i] = a;
        keyB[i] = b;
        values[i] = value;
        size++;
        ringA[ringHead] = a;
        ringB[ringHead] = b;
        ringHead = ringHead + 1 == capacity ? 0 : ringHead + 1;
        return true;
    }

    private void remove(long a, long b) {
        int i = find(a, b);
        if (i < 0) {
            return;
        }
        used[i] = false;
        size--;
        // Backward-shift: move later entries of the probe run into the hole.
        int j = i;
        while (true) {
            j = (j + 1) & mask;
            if (!used[j]) {
                return;
            }
            int home = slot(keyA[j], keyB[j]);
            // Entry at j may move to the hole at i if its home is not in (i, j] cyclically.
            boolean movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
            if (movable) {
                used[i] = true;
                keyA[i] = keyA[j];
                keyB[i] = keyB[j];
                values[i] = values[j];
                used[j] = false;
                i = j;
            }
        }
    }

    public int size() {
        return size;
    }
}
