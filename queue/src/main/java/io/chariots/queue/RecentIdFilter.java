package io.chariots.queue;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Which ids entered the log through this queue during about the last
 * {@code window}: a Bloom filter in time segments, the oldest dropped as a
 * new one starts. Each segment is a blocked Bloom filter: an id's bits all
 * lie in one 64-byte block, so adding or asking costs one cache miss per
 * segment, not one per hash (every record is asked about in all segments).
 * It may say "maybe" for an id it never saw (1.5% of the time when all
 * eleven segments are full), never "no" for one it saw within the window, so a "maybe"
 * is only a reason to ask the durable id index, and a "no" means new.
 *
 * <p>Memory is fixed ({@code bytes}); when ids arrive faster than a segment
 * holds at that rate of false positives, segments fill before their time and the
 * window covered shrinks — {@link #coveredNanos} says how much it covers.
 * Owned by the queue's loop.
 */
final class RecentIdFilter {
    private static final int SEGMENTS = 10;
    private static final int HASHES = 7;
    /**
     * Bits per id at which a segment is full: about 0.14% false positives with 7 bits in a 512-bit block, so
     * that a "maybe" from any of the (up to 11) segments asked stays about 1.5% when all are full (10 bits
     * gave 0.8% per segment, 8.7% over eleven).
     */
    private static final int BITS_PER_ID = 15;
    private static final int BLOCK_WORDS = 8; // 512 bits: one cache line

    private static final class Segment {
        final long[] bits;
        final long startedNanos;
        int count;

        Segment(int words, long startedNanos) {
            this(new long[words], startedNanos);
        }

        Segment(long[] bits, long startedNanos) {
            this.bits = bits;
            this.startedNanos = startedNanos;
        }
    }

    private final long windowNanos;
    private final int words;
    private final int blocks;
    private final long bitCount;
    private final int capacity;
    private final ArrayDeque<Segment> segments = new ArrayDeque<>();
    private Segment current;

    /**
     * @param windowNanos how long an id is remembered (at rates the memory allows)
     * @param bytes       memory of all segments together
     */
    RecentIdFilter(long windowNanos, long bytes, long now) {
        this.windowNanos = windowNanos;
        this.words = segmentWords(bytes);
        this.blocks = words / BLOCK_WORDS;
        this.bitCount = (long) words * 64;
        this.capacity = capacityOf(words);
        this.current = new Segment(words, now);
    }

    /** Segments live at most, the current one included. */
    static final int MAX_LIVE = SEGMENTS + 1;

    /** Words of one segment of a filter of {@code bytes}: a whole number of blocks. */
    static int segmentWords(long bytes) {
        long perSegment = Math.max(16, Math.min(Integer.MAX_VALUE - 8, bytes / 8 / MAX_LIVE));
        return (int) (perSegment / BLOCK_WORDS * BLOCK_WORDS);
    }

    /** Ids a segment of {@code words} takes before the next one starts. */
    static int capacityOf(int words) {
        return (int) Math.max(1, (long) words * 64 / BITS_PER_ID);
    }

    /** Remembers an id by its two 64-bit hashes. */
    void add(long h1, long h2, long now) {
        rotate(now);
        if (current.count >= capacity) {
            startSegment(now);
        }
        long[] bits = current.bits;
        int base = block(h1);
        for (int i = 0; i < HASHES; i++) {
            int bit = bitInBlock(h2, i);
            bits[base + (bit >>> 6)] |= 1L << bit;
        }
        current.count++;
    }

    /** False: never seen within the window. True: maybe seen. */
    boolean mayContain(long h1, long h2, long now) {
        rotate(now);
        if (contains(current, h1, h2)) {
            return true;
        }
        for (Segment s : segments) {
            if (contains(s, h1, h2)) {
                return true;
            }
        }
        return false;
    }

    private boolean contains(Segment s, long h1, long h2) {
        if (s.count == 0) {
            return false;
        }
        int base = block(h1);
        for (int i = 0; i < HASHES; i++) {
            int bit = bitInBlock(h2, i);
            if ((s.bits[base + (bit >>> 6)] & (1L << bit)) == 0) {
                return false;
            }
        }
        return true;
    }

    /** The first word of the id's block: h1's high bits scaled to the block count (no division). */
    private int block(long h1) {
        long mixed = h1 * 0x9E3779B97F4A7C15L; // h1 is FNV-1a: spread it before taking its high bits
        return (int) (((mixed >>> 32) * blocks) >>> 32) * BLOCK_WORDS;
    }

    /**
     * The i-th of the id's bits within its block (0..511): the i-th 9-bit field of h2 above its lowest bit (always 1).
     * Independent fields, not the steps of one progression: those took only 256 strides in a 512-bit block, and
     * ids' bits met more often (0.25% false positives a full segment, 2.6% over eleven, against 0.14% and 1.5%).
     */
    private static int bitInBlock(long h2, int i) {
        return (int) ((h2 >>> (1 + 9 * i)) & 511);
    }

    private void rotate(long now) {
        if (now - current.startedNanos >= windowNanos / SEGMENTS) {
            startSegment(now);
        }
        while (!segments.isEmpty() && now - segments.peekFirst().startedNanos > windowNanos + windowNanos / SEGMENTS) {
            segments.pollFirst();
        }
    }

    private void startSegment(long now) {
        if (current.count > 0) {
            segments.addLast(current);
            if (segments.size() > SEGMENTS) {
                segments.pollFirst();
            }
            current = new Segment(words, now);
        } else {
            current = new Segment(words, now); // an empty segment simply restarts its clock
        }
    }

    /** How far back ids are remembered now: the window, or less if ids came faster than the memory holds. */
    long coveredNanos(long now) {
        long oldest = segments.isEmpty() ? current.startedNanos : segments.peekFirst().startedNanos;
        return Math.min(windowNanos, now - oldest);
    }

    /**
     * Writes every segment that holds an id, oldest first, each with its age
     * at {@code now}: what {@link #restore} reads back in another process.
     */
    void writeTo(DataOutput out, long now) throws IOException {
        List<Segment> held = new ArrayList<>(segments);
        held.add(current);
        held.removeIf(s -> s.count == 0);
        out.writeInt(words);
        out.writeInt(held.size());
        ByteBuffer buf = ByteBuffer.allocate(words * 8);
        for (Segment s : held) {
            out.writeLong(now - s.startedNanos);
            out.writeInt(s.count);
            buf.clear();
            buf.asLongBuffer().put(s.bits);
            out.write(buf.array());
        }
    }

    /** Segments {@link #writeTo} wrote, read back whole for this filter's size and not yet taken ({@link #restore}). */
    record Kept(List<KeptSegment> segments) {
    }

    /** One segment read back: how old it was when written, its ids, its bits. */
    record KeptSegment(long ageNanos, int count, long[] bits) {
    }

    /**
     * Reads what {@link #writeTo} wrote, for a filter of this one's size:
     * one of another size is refused before anything is allocated, so that
     * neither a changed {@code queue.dedup_filter_mb} nor a damaged file can
     * take more memory than this filter holds.
     *
     * @throws IOException if the bytes are cut short, do not hold a filter, or hold one of another size
     */
    Kept read(DataInput in) throws IOException {
        int written = in.readInt();
        int n = in.readInt();
        if (written != words) {
            throw new IOException("written by a filter of " + (long) written * 8 * MAX_LIVE / (1 << 20)
                    + " MiB, this one has " + (long) words * 8 * MAX_LIVE / (1 << 20) + " (queue.dedup_filter_mb changed)");
        }
        if (n < 0 || n > MAX_LIVE) {
            throw new IOException("not a filter: " + n + " segments, at most " + MAX_LIVE);
        }
        List<KeptSegment> segments = new ArrayList<>(n);
        byte[] bytes = new byte[words * 8];
        for (int i = 0; i < n; i++) {
            long age = in.readLong();
            int count = in.readInt();
            in.readFully(bytes);
            if (age < 0 || count <= 0) {
                throw new IOException("segment " + i + " written with age " + age + " ns and " + count + " ids");
            }
            long[] bits = new long[words];
            ByteBuffer.wrap(bytes).asLongBuffer().get(bits);
            segments.add(new KeptSegment(age, count, bits));
        }
        return new Kept(segments);
    }

    /**
     * Takes {@code kept} in place of this filter's segments (it must hold no
     * id yet), each as old as it was then plus {@code elapsedNanos} (the time
     * between the two processes); those past the window are dropped.
     */
    void restore(Kept kept, long now, long elapsedNanos) {
        if (current.count != 0 || !segments.isEmpty()) {
            throw new IllegalStateException("a filter that holds ids cannot take another's");
        }
        List<Segment> read = new ArrayList<>(kept.segments().size());
        for (KeptSegment k : kept.segments()) {
            Segment s = new Segment(k.bits(), now - k.ageNanos() - Math.max(0, elapsedNanos));
            s.count = k.count();
            read.add(s);
        }
        if (!read.isEmpty()) {
            current = read.remove(read.size() - 1);
            segments.addAll(read);
            while (segments.size() > SEGMENTS) {
                segments.pollFirst();
            }
        }
        rotate(now);
    }

    /** Ids one segment takes before the next one starts. */
    int segmentCapacity() {
        return capacity;
    }

    /** Segments live, the current one included (at most {@link #MAX_LIVE}). */
    int segments() {
        return segments.size() + 1;
    }

    /** Bytes held by the segments. */
    long bytes() {
        return (long) words * 8 * (segments.size() + 1);
    }
}
