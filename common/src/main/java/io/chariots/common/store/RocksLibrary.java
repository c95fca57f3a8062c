package io.chariots.common.store;

import org.rocksdb.Env;
import org.rocksdb.Priority;
import org.rocksdb.RocksDB;
import org.rocksdb.util.Environment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;

/**
 * Loads RocksDB's native library for the roles that keep a store, once per
 * machine and user rather than once per process.
 *
 * <p>RocksDB's own loader copies its 16 MiB library to a new file in
 * {@code java.io.tmpdir} at every start and deletes it at a clean exit: every
 * role killed with SIGKILL, or crashing, left one behind (a chaos run left
 * gigabytes). Here the library is copied once into
 * {@code java.io.tmpdir/chariots-rocksdbjni-UID-CRC} (the CRC of the library
 * in the jar, so that two versions never share a file), written to a temporary
 * name and moved into place, so a concurrent start never loads half a file.
 * Since a library is loaded from it, the directory must be this uid's own with
 * mode 700, in a temporary directory others cannot write to or that is sticky;
 * when it is not, or anything else fails, RocksDB's own loader is used (and a
 * warning says why). A new version makes a new directory; the old one stays
 * until the temporary directory is cleaned.
 *
 * <p>Also runs compactions at low CPU priority: on a small machine they would
 * otherwise take a core from the request path in bursts (flushes keep normal
 * priority so writes never stall), and turns RocksDB's performance counters
 * off on a write path's thread ({@link #noPerfCounters}).
 */
public final class RocksLibrary {
    private static final Logger LOG = LoggerFactory.getLogger(RocksLibrary.class);
    private static final String PART = ".part";
    private static final long STALE_PART_MILLIS = 10 * 60_000L;
    private static boolean loaded;
    private static final ThreadLocal<Boolean> COUNTERS_OFF = ThreadLocal.withInitial(() -> false);

    private RocksLibrary() {
    }

    /** Loads the library if this process has not yet; idempotent and thread-safe. */
    public static synchronized void load() {
        if (loaded) {
            return;
        }
        Path dir = null;
        try {
            dir = extracted();
        } catch (IOException | RuntimeException | URISyntaxException e) {
            LOG.warn("RocksDB extracts its own copy of its library (a killed role leaves it in {}): {}",
                    System.getProperty("java.io.tmpdir"), e.getMessage());
        }
        try {
            if (dir != null) {
                RocksDB.loadLibrary(List.of(dir.toString()));
            } else {
                RocksDB.loadLibrary();
            }
        } catch (UnsatisfiedLinkError e) {
            LOG.warn("cannot load RocksDB's library from {}, letting RocksDB extract its own: {}", dir, e.getMessage());
            RocksDB.loadLibrary();
        }
        Env.getDefault().lowerThreadPoolCPUPriority(Priority.LOW);
        loaded = true;
    }

    /**
     * The directory holding the library, extracted if it was not yet.
     *
     * @throws IOException naming why it cannot be done safely here (then RocksDB's own loader is used)
     */
    static Path extracted() throws IOException, URISyntaxException {
        String resource = Environment.getJniLibraryFileName("rocksdb");
        String name = fileName();
        var source = RocksDB.class.getProtectionDomain().getCodeSource();
        if (source == null || !source.getLocation().getPath().endsWith(".jar")) {
            throw new IOException("RocksDB's classes are not in a jar: " + (source == null ? "no code source" : source.getLocation()));
        }
        try (JarFile jar = new JarFile(Path.of(source.getLocation().toURI()).toFile())) {
            ZipEntry entry = jar.getEntry(resource);
            if (entry == null || entry.getCrc() < 0 || entry.getSize() < 0) {
                throw new IOException(source.getLocation() + " has no " + resource);
            }
            int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid"); // /proc/self belongs to our uid
            Path parent = Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath();
            int parentMode = (Integer) Files.getAttribute(parent, "unix:mode");
            if ((parentMode & 0022) != 0 && (parentMode & 01000) == 0) {
                // Others could rename our directory away and put theirs in its place between the check and the load.
                throw new IOException(parent + " is writable by others and not sticky");
            }
            Path dir = parent.resolve("chariots-rocksdbjni-" + uid + "-" + Long.toHexString(entry.getCrc()));
            ownDirectory(dir, uid);
            removeStaleParts(dir);
            Path lib = dir.resolve(name);
            if (Files.isRegularFile(lib, LinkOption.NOFOLLOW_LINKS) && Files.size(lib) == entry.getSize()) {
                return dir;
            }
            Path tmp = Files.createTempFile(dir, name, PART);
            try (InputStream in = jar.getInputStream(entry)) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, lib, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(tmp);
            }
            return dir;
        }
    }

    /** The name {@link RocksDB#loadLibrary(List)} looks for in a directory (not the name of the library in the jar). */
    static String fileName() {
        return Environment.getJniLibraryFileName("rocksdbjni");
    }

    /** Creates {@code dir} closed to others, or checks that it is: a real directory of {@code uid}'s, mode 700. */
    private static void ownDirectory(Path dir, int uid) throws IOException {
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (FileAlreadyExistsException e) {
            // made by an earlier start, or by someone else: checked below
        }
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(dir + " is not a directory");
        }
        int owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) Files.getAttribute(dir, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
        if (owner != uid || mode != 0700) {
            throw new IOException(dir + " belongs to uid " + owner + " with mode " + Integer.toOctalString(mode)
                    + ", not to uid " + uid + " with mode 700");
        }
    }

    /** Copies a start killed while writing left behind (a live one finishes within seconds). */
    private static void removeStaleParts(Path dir) throws IOException {
        long before = System.currentTimeMillis() - STALE_PART_MILLIS;
        try (DirectoryStream<Path> parts = Files.newDirectoryStream(dir, "*" + PART)) {
            for (Path p : parts) {
                if (Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toMillis() < before) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /**
     * Turns RocksDB's performance counters off for the calling thread, once
     * (RocksDB keeps the level per thread, on by default): a write path calls
     * this before writing. The counters are never read here, yet every key
     * comparison of a memtable insert bumps one through a thread-local of the
     * loaded library: the indexer's profile spent 4.2% of its samples in
     * thread-local lookups before, 2.4% after (RocksDB's own threads).
     */
    public static void noPerfCounters(RocksDB db) {
        if (!COUNTERS_OFF.get()) {
            db.setPerfLevel(org.rocksdb.PerfLevel.DISABLE);
            COUNTERS_OFF.set(true);
        }
    }
}
