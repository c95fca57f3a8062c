package io.chariots.common.frame;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bytes that all connections of one port may buffer together for frames
 * they are receiving ({@code batcher.max_buffered_bytes}). A connection
 * reserves a frame's whole length when its header arrives, before it reads
 * the body; when the budget is spent it stops reading until another
 * connection's frame is through. However many clients send maximum-size
 * frames at once, the frames held in memory stay within the budget (plus at
 * most one socket read per connection). A port's parse budget is another:
 * a whole large frame takes its {@link #parseShare} of it while it is
 * parsed. Thread-safe.
 */
public final class ByteBudget {
    private final long capacity;
    private final AtomicLong used = new AtomicLong();
    private final AtomicLong waits = new AtomicLong();
    private final ConcurrentLinkedQueue<Runnable> waiters = new ConcurrentLinkedQueue<>();

    public ByteBudget(long capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be positive, got " + capacity);
        }
        this.capacity = capacity;
    }

    public long capacity() {
        return capacity;
    }

    /** Frames from this size on take a share of a parse budget while they are parsed: see {@link #parseShare}. */
    public static final long LARGE_INPUT = 1 << 20;

    /**
     * What parsing a frame of {@code bytes} takes of this budget, used as a
     * port's parse budget: four times its bytes from {@link #LARGE_INPUT}
     * on, none below (a small frame's parse costs a few times a socket
     * read), and never more than the capacity, so the largest frame is still
     * parsed, alone. A JSON string of megabytes is held on the heap as a copy
     * of its frame, twice as chars while it is read, as a String and again in
     * its record's encoding: records of 12 MiB parsed on two of a batcher's
     * network threads at once took its 256 MiB heap.
     */
    public long parseShare(long bytes) {
        return bytes < LARGE_INPUT ? 0 : Math.min(capacity, 4 * bytes);
    }

    /** Bytes reserved now. */
    public long used() {
        return used.get();
    }

    /** Times a connection had to wait for the budget. */
    public long waits() {
        return waits.get();
    }

    /**
     * Reserves {@code bytes} if they fit; otherwise registers {@code wake}, run
     * (on the releasing thread: it should only hand over) once bytes are released.
     *
     * @return whether the bytes were reserved
     */
    public boolean reserve(long bytes, Runnable wake) {
        while (true) {
            long u = used.get();
            if (u + bytes > capacity) {
                waits.incrementAndGet();
                waiters.add(wake);
                // A release between the check and the add would have found no waiter: look again.
                if (used.get() + bytes <= capacity && waiters.remove(wake)) {
                    continue;
                }
                return false;
            }
            if (used.compareAndSet(u, u + bytes)) {
                return true;
            }
        }
    }

    /** Gives back {@code bytes} and wakes every waiter (each tries again; those that do not fit wait again). */
    public void release(long bytes) {
        if (bytes <= 0) {
            return;
        }
        used.addAndGet(-bytes);
        Runnable w;
        while ((w = waiters.poll()) != null) {
            w.run();
        }
    }

    /** Forgets {@code wake} (its connection closed). */
    public void cancel(Runnable wake) {
        waiters.remove(wake);
    }
}
