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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A queue's dedup memory ({@link IdLedger}) kept across a clean stop, in
 * the file {@value #FILE} of its data directory: the filter of the ids it
 * let in during the window, with where the log ended and the ring its
 * memory was built under. A queue that starts without it must check every
 * new id against the durable id index for a whole window
 * ({@code queue.dedup_window_ms}), since a retry of an id it let in before
 * could come; with it, once the first epoch shows that the log ends where
 * it ended at the stop (nobody appended since), it checks only the ids its
 * memory says it may have seen, as before the stop.
 *
 * <p>Written once the queue takes no more records and has left the ring (or,
 * alone in it, holds nothing unstored), to a temporary file synced and
 * renamed, its bytes followed by their CRC32C; read once at the next start,
 * checked whole (a flipped bit in the filter would forget an id, and a retry
 * of it would be let in as new) and deleted before it is used, so that a later crash never finds a memory older than its own. A
 * crash writes nothing, and the next start checks every id for the window,
 * as it always did.
 */
public final class DedupMemory {
    static final String FILE = Queue.MEMORY_FILE;
    private static final String TMP = Queue.MEMORY_TMP_FILE;
    private static final int MAGIC = 0x43444d33; // "CDM3": CDM2 had no checksum

    /** A ring the memory's ownership changed from within the window, and how long before the stop. */
    record Handover(long ageNanos, List<String> previous) {
    }

    /**
     * When, read by a clock that outlives the process: the wall clock, and
     * where the host says so, its boot and the time since it (which no clock
     * setting moves).
     *
     * @param bootId       the kernel's boot id, or "" where unknown
     * @param uptimeMillis time since that boot, or -1 where unknown
     */
    public record Stamp(long wallMillis, String bootId, long uptimeMillis) {
        /** Now, on this host. */
        public static Stamp now() {
            return new Stamp(System.currentTimeMillis(), hostBootId(), hostUptimeMillis());
        }

        /**
         * The time since {@code earlier}, never more than it may have been:
         * the wall clock's reading, but no more than the time since boot says
         * on the same boot, none if the wall clock went back, and none after a
         * reboot or where the host keeps no boot id (a wall clock set forward
         * would age the memory too fast and let a retry in as new; aging it too
         * slowly only checks more ids).
         */
        public long nanosSince(Stamp earlier) {
            if (bootId.isEmpty() || !bootId.equals(earlier.bootId) || uptimeMillis < 0 || earlier.uptimeMillis < 0) {
                return 0;
            }
            long wall = Math.max(0, wallMillis - earlier.wallMillis);
            long boot = Math.max(0, uptimeMillis - earlier.uptimeMillis);
            return TimeUnit.MILLISECONDS.toNanos(Math.min(wall, boot));
        }

        private static String hostBootId() {
            try {
                return Files.readString(Path.of("/proc/sys/kernel/random/boot_id"), StandardCharsets.US_ASCII).trim();
            } catch (IOException | RuntimeException e) {
                return "";
            }
        }

        private static long hostUptimeMillis() {
            try {
                String s = Files.readString(Path.of("/proc/uptime"), StandardCharsets.US_ASCII).trim();
                return (long) (Double.parseDouble(s.split("\\s+")[0]) * 1000);
            } catch (IOException | RuntimeException e) {
                return -1;
            }
        }
    }

    /**
     * What the memory holds besides its filter.
     *
     * @param self          the address of the queue that kept it: another queue's memory (a pool of data
     *                      directories, {@code {slot}}) says nothing of the ids this one let in
     * @param stopped       when it was kept: what the next start measures the time between by
     * @param logEnd        the log's end it was kept at, durable ({@link TokenRing#durableLogEnd})
     * @param ring          the addresses of the ring the queue last owned ids in
     * @param coldNanosLeft how much longer every new id was to be checked (the queue had a gap of its own)
     * @param handovers     rings its ownership changed from within the window
     */
    record Header(String self, Stamp stopped, long logEnd, List<String> ring, long coldNanosLeft, List<Handover> handovers) {
        Header {
            ring = List.copyOf(ring);
            handovers = List.copyOf(handovers);
        }
    }

    /** Writes of a file body. */
    interface Writer {
        void write(DataOutput out) throws IOException;
    }

    /** Reads of a file body, whole, into something used only once the file proved whole. */
    interface Reader<T> {
        T read(DataInput in) throws IOException;
    }

    private DedupMemory() {
    }

    static void writeHeader(DataOutput out, Header h) throws IOException {
        out.writeInt(MAGIC);
        out.writeUTF(h.self());
        out.writeLong(h.stopped().wallMillis());
        out.writeUTF(h.stopped().bootId());
        out.writeLong(h.stopped().uptimeMillis());
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
            throw new IOException("not a queue's dedup memory of this version (magic " + Integer.toHexString(magic) + ")");
        }
        String self = in.readUTF();
        Stamp stopped = new Stamp(in.readLong(), in.readUTF(), in.readLong());
        long logEnd = in.readLong();
        List<String> ring = readAddresses(in);
        long cold = in.readLong();
        int n = count(in.readInt(), "handovers");
        List<Handover> handovers = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            handovers.add(new Handover(in.readLong(), readAddresses(in)));
        }
        return new Header(self, stopped, logEnd, ring, cold, handovers);
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
        Path tmp = dir.resolve(TMP);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            BufferedOutputStream file = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
            java.util.zip.CheckedOutputStream checked = new java.util.zip.CheckedOutputStream(file, new java.util.zip.CRC32C());
            DataOutputStream out = new DataOutputStream(checked);
            body.write(out);
            out.flush();
            new DataOutputStream(file).writeInt((int) checked.getChecksum().getValue());
            file.flush();
            ch.force(true);
        }
        Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncDirectory(dir);
    }

    /**
     * Reads {@code dir}/{@value #FILE} if there is one, whole, and deletes it
     * (also when it cannot be read) with any temporary file a save cut short
     * left, before the caller uses what was read: it is taken at most once.
     *
     * @return what {@code body} read, or empty if there was no memory
     * @throws IOException if it was there but could not be read whole, or could not be deleted (then it must
     *                     not be used: the next start would take it again); it is gone all the same where it can be
     */
    static <T> Optional<T> take(Path dir, Reader<T> body) throws IOException {
        Path file = dir.resolve(FILE);
        try {
            if (!Files.exists(file)) {
                return Optional.empty();
            }
            long length = verify(file);
            T read;
            try (InputStream in = Files.newInputStream(file)) {
                DataInputStream data = new DataInputStream(new BufferedInputStream(com.google.common.io.ByteStreams.limit(in, length), 1 << 16));
                read = body.read(data);
                if (data.read() != -1) {
                    throw new IOException("bytes after its end");
                }
            }
            return Optional.of(read);
        } finally {
            try {
                Files.deleteIfExists(dir.resolve(TMP));
            } finally {
                Files.deleteIfExists(file);
                syncDirectory(dir);
            }
        }
    }

    /** Checks {@code file}'s CRC32C, its last 4 bytes, over the rest: returns the length of that rest. */
    private static long verify(Path file) throws IOException {
        long length = Files.size(file) - 4;
        if (length < 0) {
            throw new IOException("cut short: " + (length + 4) + " bytes");
        }
        try (InputStream in = Files.newInputStream(file)) {
            java.util.zip.CheckedInputStream body = new java.util.zip.CheckedInputStream(
                    com.google.common.io.ByteStreams.limit(in, length), new java.util.zip.CRC32C());
            if (com.google.common.io.ByteStreams.exhaust(body) < length) {
                throw new java.io.EOFException("cut short while read");
            }
            int crc = (int) body.getChecksum().getValue();
            int kept = new DataInputStream(in).readInt();
            if (kept != crc) {
                throw new IOException("damaged: its CRC32C is " + Integer.toHexString(crc) + ", written "
                        + Integer.toHexString(kept));
            }
        }
        return length;
    }

    private static void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
