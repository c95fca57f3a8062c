package io.chariots.queue;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A queue's dedup memory ({@link IdLedger}) kept across a clean stop, in
 * the file {@value #FILE} of its data directory: the filter of the ids it
 * let in during the window, with how far the log went and the ring its
 * memory was built under. A queue that starts without it must check every
 * new id against the durable id index for a whole window
 * ({@code queue.dedup_window_ms}), since a retry of an id it let in before
 * could come; with it, once the first epoch shows that the log ends where
 * it ended at the stop (nobody appended since), it checks only the ids its
 * memory says it may have seen, as before the stop.
 *
 * <p>Written once the queue has left the ring (nothing changes its memory
 * after that), to a temporary file synced and renamed; read once at the
 * next start and deleted before the queue serves, so that a later crash
 * never finds a memory older than its own. A crash writes nothing, and the
 * next start checks every id for the window, as it always did.
 */
final class DedupMemory {
    static final String FILE = "dedup-memory";
    private static final int MAGIC = 0x43444d31; // "CDM1"

    /** A ring the memory's ownership changed from within the window, and how long before the stop. */
    record Handover(long ageNanos, List<String> previous) {
    }

    /**
     * What the memory holds besides its filter.
     *
     * @param self          the address of the queue that kept it: another queue's memory (a pool of data
     *                      directories, {@code {slot}}) says nothing of the ids this one let in
     * @param wallMillis    the wall clock at the stop: what the next start measures the time between by
     * @param logEnd        the highest LId the queue knew to be given out (the log's end at its stop)
     * @param ring          the addresses of the ring the queue last owned ids in
     * @param coldNanosLeft how much longer every new id was to be checked (the queue had a gap of its own)
     * @param handovers     rings its ownership changed from within the window
     */
    record Header(String self, long wallMillis, long logEnd, List<String> ring, long coldNanosLeft, List<Handover> handovers) {
        Header {
            ring = List.copyOf(ring);
            handovers = List.copyOf(handovers);
        }

        /** The time between the stop and {@code wallNow}: never negative (a clock set back counts as none). */
        long elapsedNanos(long wallNow) {
            return TimeUnit.MILLISECONDS.toNanos(Math.max(0, wallNow - wallMillis));
        }
    }

    /** Writes of a file body. */
    interface Writer {
        void write(DataOutput out) throws IOException;
    }

    /** Reads of a file body. */
    interface Reader {
        void read(DataInput in) throws IOException;
    }

    private DedupMemory() {
    }

    static void writeHeader(DataOutput out, Header h) throws IOException {
        out.writeInt(MAGIC);
        out.writeUTF(h.self());
        out.writeLong(h.wallMillis());
        out.writeLong(h.logEnd());
        writeAddresses(out, h.ring());
        out.writeLong(h.coldNanosLeft());
        out.writeInt(h.handovers().size());
        for (Handover ho : h.handovers()) {
            out.writeLong(ho.ageNanos());
            writeAddresses(out, ho.previous());
        }
    }

    static Header readHeader(DataInput in) throws IOException {
        int magic = in.readInt();
        if (magic != MAGIC) {
            throw new IOException("not a queue's dedup memory (magic " + Integer.toHexString(magic) + ")");
        }
        String self = in.readUTF();
        long wall = in.readLong();
        long logEnd = in.readLong();
        List<String> ring = readAddresses(in);
        long cold = in.readLong();
        int n = count(in.readInt(), "handovers");
        List<Handover> handovers = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            handovers.add(new Handover(in.readLong(), readAddresses(in)));
        }
        return new Header(self, wall, logEnd, ring, cold, handovers);
    }

    private static void writeAddresses(DataOutput out, List<String> addresses) throws IOException {
        out.writeInt(addresses.size());
        for (String a : addresses) {
            out.writeUTF(a);
        }
    }

    private static List<String> readAddresses(DataInput in) throws IOException {
        int n = count(in.readInt(), "addresses");
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(in.readUTF());
        }
        return out;
    }

    private static int count(int n, String what) throws IOException {
        if (n < 0 || n > 4096) {
            throw new IOException("written with " + n + " " + what);
        }
        return n;
    }

    /** Writes {@code dir}/{@value #FILE} whole or not at all: a temporary file, synced, then renamed over it. */
    static void save(Path dir, Writer body) throws IOException {
        Files.createDirectories(dir);
        Path tmp = dir.resolve(FILE + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16));
            body.write(out);
            out.flush();
            ch.force(true);
        }
        Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncDirectory(dir);
    }

    /**
     * Reads {@code dir}/{@value #FILE} if there is one, then deletes it (also when it cannot be read), so that
     * it is taken at most once.
     *
     * @return whether there was one and {@code body} read it whole
     * @throws IOException if it was there but could not be read; it is gone all the same
     */
    static boolean take(Path dir, Reader body) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return false;
        }
        try (InputStream in = Files.newInputStream(file)) {
            DataInputStream data = new DataInputStream(new BufferedInputStream(in, 1 << 16));
            body.read(data);
            if (data.read() != -1) {
                throw new IOException("bytes after its end");
            }
            return true;
        } finally {
            Files.deleteIfExists(file);
            syncDirectory(dir);
        }
    }

    private static void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
