package io.chariots.common.runtime;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A data directory this process holds exclusively, by an OS file lock on
 * {@code .lock} inside it, until {@link #close}. The lock dies with the
 * process, so a directory left by a killed instance is free again at once.
 *
 * <p>A path containing {@value #SLOT} names a pool: the instance takes the
 * lowest slot 1, 2, … whose directory no live process holds, creating it if
 * needed. That is what lets identical replicas share one volume — every
 * {@code docker-compose --scale maintainer=3} replica gets a directory of its
 * own, and a replica that is recreated takes back a free one (with its data).
 */
public final class DataDir implements AutoCloseable {
    /** The placeholder replaced by the slot number. */
    public static final String SLOT = "{slot}";
    /** The file whose lock marks the directory held: it holds nothing of the role's data. */
    public static final String LOCK_FILE = ".lock";
    /** How many slots a pool offers. */
    public static final int MAX_SLOTS = 1024;

    private final Path path;
    private final int slot;
    private final FileChannel channel;
    private final FileLock lock;

    private DataDir(Path path, int slot, FileChannel channel, FileLock lock) {
        this.path = path;
        this.slot = slot;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Takes {@code pattern}, or the lowest free slot of it if it contains {@value #SLOT}.
     *
     * @throws IOException naming the directory when it (or every slot) is held by another process
     */
    public static DataDir claim(Path pattern) throws IOException {
        String text = pattern.toString();
        if (!text.contains(SLOT)) {
            DataDir d = tryClaim(pattern, 0);
            if (d == null) {
                throw new IOException("data directory " + pattern.toAbsolutePath()
                        + " is in use by another process (its .lock is held); give each instance its own --data-dir,"
                        + " or a pool such as --data-dir " + pattern.resolveSibling(pattern.getFileName() + "-" + SLOT));
            }
            return d;
        }
        for (int slot = 1; slot <= MAX_SLOTS; slot++) {
            DataDir d = tryClaim(Path.of(text.replace(SLOT, Integer.toString(slot))), slot);
            if (d != null) {
                return d;
            }
        }
        throw new IOException("every one of the " + MAX_SLOTS + " slots of data directory " + pattern + " is in use");
    }

    private static DataDir tryClaim(Path dir, int slot) throws IOException {
        Files.createDirectories(dir);
        FileChannel ch = FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null; // held by this very JVM
        }
        if (lock == null) {
            ch.close();
            return null;
        }
        return new DataDir(dir, slot, ch, lock);
    }

    /** The directory held. */
    public Path path() {
        return path;
    }

    /** The slot taken from a pool, or 0 for a plain directory. */
    public int slot() {
        return slot;
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }
}
