package io.chariots.common.collect;

/**
 * A bounded map from a pair of longs to a non-zero long that keeps the
 * {@code capacity} entries added last, forgetting older ones. Built on one
 * primitive array (open addressing, linear probing, backward-shift deletion)
 * so that holding a million entries costs the garbage collector nothing: a
 * map of boxed keys that size made every young collection copy and promote
 * them, costing 100 ms pauses. A slot's two keys, value and insertion number
 * sit side by side (a zero value marks a free slot), so a lookup in a table
 * far larger than the CPU caches costs about one cache miss, not one per
 * array.
 *
 * <p>Eviction costs no lookup: an entry is live while it is among the last
 * {@code capacity} added (its insertion number says), and a sweep that walks
 * the table a few slots per insertion, in memory order, frees the slots of
 * entries that are no longer live. Finding the oldest entry by its key to
 * evict it, as an insertion-order ring would, costs a second cache miss per
 * insertion, the largest single cost of the queue's loop when measured. Not
 * thread-safe; owned by one event loop.
 */
public final class FifoPairMap {
    private static final int STRIDE = 4; // keyA, keyB, value, insertion number
    /**
     * Slots the sweep passes per insertion. It passes the whole table every
     * {@code table / SWEEP} insertions, so at most that many expired entries
     * wait to be freed: with the table at least twice the capacity, the table
     * is never more than 5/8 full.
     */
    private static final int SWEEP = 8;
    private final int capacity;
    private final int mask;
    private final long[] slots;
    private long added; // insertion number of the last entry added; entries numbered > added - capacity are live
    private int sweep;  // next slot the sweep looks at

    /** @param capacity entries kept before the oldest is evicted; at least 1 */
    public FifoPairMap(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
        }
        this.capacity = capacity;
        int tableSize = Integer.highestOneBit(Math.max(2, capacity * 2 - 1)) << 1;
        this.mask = tableSize - 1;
        this.slots = new long[tableSize * STRIDE];
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

    private boolean live(int i) {
        return slots[i * STRIDE + 3] > added - capacity;
    }

    /** The slot holding (a, b), live or not (a key is in at most one slot), or -1. */
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
        int i = find(a, b);
        return i >= 0 && live(i);
    }

    /** The value for (a, b), or {@code missing}. */
    public long get(long a, long b, long missing) {
        int i = find(a, b);
        return i >= 0 && live(i) ? slots[i * STRIDE + 2] : missing;
    }

    /**
     * Adds (a, b) → value unless (a, b) is present; forgets the oldest entry
     * if full.
     *
     * @param value not zero (zero marks a free slot)
     * @return true if added, false if (a, b) was already there and live (its value unchanged)
     */
    public boolean putIfAbsent(long a, long b, long value) {
        if (value == 0) {
            throw new IllegalArgumentException("a FifoPairMap value must not be 0");
        }
        int i = home(a, b);
        while (used(i)) {
            int at = i * STRIDE;
            if (slots[at] == a && slots[at + 1] == b) {
                if (live(i)) {
                    return false;
                }
                break; // forgotten but not yet swept: its slot takes the new entry
            }
            i = (i + 1) & mask;
        }
        int at = i * STRIDE;
        slots[at] = a;
        slots[at + 1] = b;
        slots[at + 2] = value;
        slots[at + 3] = ++added;
        sweep();
        return true;
    }

    /** Frees the slots of forgotten entries among the next {@link #SWEEP} slots. */
    private void sweep() {
        for (int n = 0; n < SWEEP; ) {
            if (used(sweep) && !live(sweep)) {
                remove(sweep); // a later entry may move into this slot: look at it again
            } else {
                sweep = (sweep + 1) & mask;
                n++;
            }
        }
    }

    private void remove(int i) {
        slots[i * STRIDE + 2] = 0;
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
                slots[to + 3] = slots[from + 3];
                slots[from + 2] = 0;
                i = j;
            }
        }
    }

    /** Slots in use, live or forgotten but not yet swept: for tests of the load bound. */
    int occupied() {
        int n = 0;
        for (int i = 0; i <= mask; i++) {
            if (used(i)) {
                n++;
            }
        }
        return n;
    }

    /** Slots in the table. */
    int tableSize() {
        return mask + 1;
    }

    /** Live entries: those added, up to the capacity. */
    public int size() {
        return (int) Math.min(added, capacity);
    }
}
