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
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
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
 * {@code java.io.tmpdir/chariots-rocksdbjni-USER-CRC} (the CRC of the library
 * in the jar, so that two versions never share a file), written to a temporary
 * name and moved into place, so a concurrent start never loads half a file. The
 * directory must be the user's own and closed to others, since a library is
 * loaded from it; when it is not, or anything else fails, RocksDB's own loader
 * is used.
 *
 * <p>Also runs compactions at low CPU priority: on a small machine they would
 * otherwise take a core from the request path in bursts (flushes keep normal
 * priority so writes never stall).
 */
public final class RocksLibrary {
    private static final Logger LOG = LoggerFactory.getLogger(RocksLibrary.class);
    private static boolean loaded;

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
            LOG.debug("RocksDB's library is extracted by RocksDB itself: {}", e.toString());
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

    /** The directory holding the library, extracted if it was not yet; null where that cannot be done safely. */
    static Path extracted() throws IOException, URISyntaxException {
        String resource = Environment.getJniLibraryFileName("rocksdb");
        String name = fileName();
        var source = RocksDB.class.getProtectionDomain().getCodeSource();
        if (source == null || !source.getLocation().getPath().endsWith(".jar")) {
            return null;
        }
        try (JarFile jar = new JarFile(Path.of(source.getLocation().toURI()).toFile())) {
            ZipEntry entry = jar.getEntry(resource);
            if (entry == null || entry.getCrc() < 0 || entry.getSize() < 0) {
                return null;
            }
            Path dir = Path.of(System.getProperty("java.io.tmpdir")).resolve(
                    "chariots-rocksdbjni-" + System.getProperty("user.name") + "-" + Long.toHexString(entry.getCrc()));
            if (!ownDirectory(dir)) {
                return null;
            }
            Path lib = dir.resolve(name);
            if (Files.isRegularFile(lib, LinkOption.NOFOLLOW_LINKS) && Files.size(lib) == entry.getSize()) {
                return dir;
            }
            Path tmp = Files.createTempFile(dir, name, ".part");
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

    /** Creates {@code dir} closed to others, or checks that it is: a real directory of this user's, mode 700. */
    private static boolean ownDirectory(Path dir) throws IOException {
        Set<PosixFilePermission> own = PosixFilePermissions.fromString("rwx------");
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(own));
        } catch (java.nio.file.FileAlreadyExistsException e) {
            // made by an earlier start, or by someone else: checked below
        } catch (AccessDeniedException e) {
            return false;
        }
        return Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)
                && Files.getOwner(dir, LinkOption.NOFOLLOW_LINKS).getName().equals(System.getProperty("user.name"))
                && Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS).equals(own);
    }
}
