package io.chariots.queue;

import java.util.Arrays;

/**
 * The LIds this queue gave out and that are not stored yet, in ascending
 * order, on primitive arrays: a queue has tens of thousands in flight at
 * full speed, and a tree of boxed longs that size made the young collector
 * copy them all, many times a second. LIds come in ascending order (an
 * epoch's token only counts up), so adding is an append; a store answered
 * out of order leaves a tombstone until the LIds before it are stored.
 * Owned by the queue's loop.
 */
final class UnstoredLids {
    private long[] lids = new long[1024];
    private boolean[] stored = new boolean[1024];
    private int head;
    private int tail;
    private int size;
    // Where the last search found its LId.
    private int hint = -1;

    /** Adds {@code lid} (normally above every LId here; otherwise put in its place). */
    void add(long lid) {
        if (tail == lids.length) {
            makeRoom();
        }
        if (tail == head || Long.compareUnsigned(lids[tail - 1], lid) < 0) {
            lids[tail] = lid;
            stored[tail++] = false;
            size++;
            return;
        }
        int at = search(lid);
        if (at >= 0) {
            if (stored[at]) {
                stored[at] = false;
                size++;
            }
            return;
        }
        int ins = -at - 1;
        System.arraycopy(lids, ins, lids, ins + 1, tail - ins);
        System.arraycopy(stored, ins, stored, ins + 1, tail - ins);
        lids[ins] = lid;
        stored[ins] = false;
        tail++;
        size++;
    }

    /** {@code lid} was stored. */
    void remove(long lid) {
        int at = search(lid);
        if (at < 0 || stored[at]) {
            return;
        }
        stored[at] = true;
        size--;
        while (head < tail && stored[head]) {
            head++;
        }
        if (head == tail) {
            head = 0;
            tail = 0;
        }
    }

    boolean contains(long lid) {
        int at = search(lid);
        return at >= 0 && !stored[at];
    }

    /** The lowest LId not stored, or 0. */
    long first() {
        return size == 0 ? 0 : lids[head];
    }

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    void clear() {
        head = 0;
        tail = 0;
        size = 0;
    }

    /** Up to {@code max} of the lowest LIds not stored, for diagnostics. */
    long[] lowest(int max) {
        long[] out = new long[Math.min(max, size)];
        int n = 0;
        for (int i = head; i < tail && n < out.length; i++) {
            if (!stored[i]) {
                out[n++] = lids[i];
            }
        }
        return out;
    }

    private int search(long lid) {
        // A batch's LIds mostly come one after another: try next to the last one found first.
        int next = hint + 1;
        if (next >= head && next < tail && lids[next] == lid) {
            hint = next;
            return next;
        }
        int at = binarySearch(lid);
        if (at >= 0) {
            hint = at;
        }
        return at;
    }

    private int binarySearch(long lid) {
        int lo = head;
        int hi = tail - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = Long.compareUnsigned(lids[mid], lid);
            if (c < 0) {
                lo = mid + 1;
            } else if (c > 0) {
                hi = mid - 1;
            } else {
                return mid;
            }
        }
        return -(lo + 1);
    }

    private void makeRoom() {
        int live = tail - head;
        if (head > 0 && live <= lids.length / 2) {
            System.arraycopy(lids, head, lids, 0, live);
            System.arraycopy(stored, head, stored, 0, live);
        } else {
            long[] l = Arrays.copyOfRange(lids, head, head + Math.max(lids.length * 2, 1024));
            boolean[] s = Arrays.copyOfRange(stored, head, head + l.length);
            lids = l;
            stored = s;
        }
        head = 0;
        tail = live;
    }
}
