package io.chariots.common.collect;

/**
 * A bounded map from a pair of longs to a non-zero long, evicting the oldest
 * entry when full. Built on one primitive array (open addressing, linear
 * probing, backward-shift deletion) so that holding a million entries costs
 * the garbage collector nothing: a map of boxed keys that size made every
 * young collection copy and promote them, costing 100 ms pauses. A slot's
 * two keys and value sit side by side (a zero value marks a free slot), so a
 * lookup in a table far larger than the CPU caches costs about one cache
 * miss, not one per array. Not thread-safe; owned by one event loop.
 */
public final class FifoPairMap {
    private static final int STRIDE = 3; // keyA, keyB, value
    private final int capacity;
    private final int mask;
    private final long[] slots;
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
        this.slots = new long[tableSize * STRIDE];
        this.ringA = new long[capacity];
        this.ringB = new long[capacity];
    }

    private int home(long a, long b) {
        long h = a * 0x9E3779B97F4A7C15L + b;
        h ^= h >>> 32;
        h *= 0xC2B2AE3D27D4EB4FL;
        h ^= h >>> 29;
        return (int) h & mask;
    }

    private boolean used(int i) {
        return slots[i * STRIDE + 2] != 0;
    }

    private int find(long a, long b) {
        int i = home(a, b);
        while (used(i)) {
            int at = i * STRIDE;
            if (slots[at] == a && slots[at + 1] == b) {
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
        return i < 0 ? missing : slots[i * STRIDE + 2];
    }

    /**
     * Adds (a, b) → value unless (a, b) is present; evicts the oldest entry
     * if full.
     *
     * @param value not zero (zero marks a free slot)
     * @return true if added, false if (a, b) was already there (its value unchanged)
     */
    public boolean putIfAbsent(long a, long b, long value) {
        if (value == 0) {
            throw new IllegalArgumentException("a FifoPairMap value must not be 0");
        }
        int i = home(a, b);
        while (used(i)) {
            int at = i * STRIDE;
            if (slots[at] == a && slots[at + 1] == b) {
                return false;
            }
            i = (i + 1) & mask;
        }
        if (size == capacity) {
            remove(ringA[ringHead], ringB[ringHead]);
            // The removal may have shifted entries: find the free slot again.
            i = home(a, b);
            while (used(i)) {
                i = (i + 1) & mask;
            }
        }
        int at = i * STRIDE;
        slots[at] = a;
        slots[at + 1] = b;
        slots[at + 2] = value;
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
        slots[i * STRIDE + 2] = 0;
        size--;
        // Backward-shift: move later entries of the probe run into the hole.
        int j = i;
        while (true) {
            j = (j + 1) & mask;
            if (!used(j)) {
                return;
            }
            int from = j * STRIDE;
            int h = home(slots[from], slots[from + 1]);
            // Entry at j may move to the hole at i if its home is not in (i, j] cyclically.
            boolean movable = i <= j ? (h <= i || h > j) : (h <= i && h > j);
            if (movable) {
                int to = i * STRIDE;
                slots[to] = slots[from];
                slots[to + 1] = slots[from + 1];
                slots[to + 2] = slots[from + 2];
                slots[from + 2] = 0;
                i = j;
            }
        }
    }

    public int size() {
        return size;
    }
}
