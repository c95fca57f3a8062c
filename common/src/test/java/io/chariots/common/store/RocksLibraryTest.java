package io.chariots.common.store;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** RocksDB's native library: one copy per user and version, in a directory closed to others. */
class RocksLibraryTest {
    @TempDir
    Path tmp;
    private String tmpdir;

    @BeforeEach
    void useOwnTemporaryDirectory() {
        tmpdir = System.getProperty("java.io.tmpdir");
        System.setProperty("java.io.tmpdir", tmp.toString());
    }

    @AfterEach
    void restore() {
        System.setProperty("java.io.tmpdir", tmpdir);
    }

    @Test
    void theLibraryIsCopiedOnceIntoADirectoryOfTheUsersOwnAndLoadedFromThere() throws Exception {
        Path dir = RocksLibrary.extracted();
        assertThat(dir).isNotNull();
        assertThat(dir.getParent()).isEqualTo(tmp);
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        assertThat(dir.getFileName().toString()).startsWith("chariots-rocksdbjni-" + uid + "-");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwx------");
        try (var files = Files.list(dir)) {
            assertThat(files.map(f -> f.getFileName().toString())).containsExactly(RocksLibrary.fileName());
        }
        Path lib = dir.resolve(RocksLibrary.fileName());
        assertThat(Files.size(lib)).isGreaterThan(1 << 20);

        FileTime written = FileTime.fromMillis(1_000_000L);
        Files.setLastModifiedTime(lib, written);
        assertThat(RocksLibrary.extracted()).as("a second start").isEqualTo(dir);
        assertThat(Files.getLastModifiedTime(lib)).as("the copy is reused, not written again").isEqualTo(written);

        RocksLibrary.load();
        RocksLibrary.load();
        try (Options options = new Options().setCreateIfMissing(true); RocksDB db = RocksDB.open(options, tmp.resolve("db").toString())) {
            db.put(new byte[] {1}, new byte[] {2});
            assertThat(db.get(new byte[] {1})).containsExactly(2);
        }
        assertThat(Files.readString(Path.of("/proc/self/maps"))).as("the library this process runs is the shared copy")
                .contains(lib.toString());
    }

    @Test
    void aDirectoryOthersCanWriteToIsNeverLoadedFrom() throws Exception {
        Path first = RocksLibrary.extracted();
        Files.setPosixFilePermissions(first, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThatThrownBy(RocksLibrary::extracted).isInstanceOf(IOException.class).hasMessageContaining("mode 777");
    }

    @Test
    void aTemporaryDirectoryOthersCanSwapItInIsRefused() throws Exception {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxrwxrwx")); // no sticky bit
        assertThatThrownBy(RocksLibrary::extracted).isInstanceOf(IOException.class)
                .hasMessageContaining("writable by others and not sticky");
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx------"));
    }

    @Test
    void aCopyAKilledStartLeftHalfWrittenIsRemovedLater() throws Exception {
        Path dir = RocksLibrary.extracted();
        Path stale = Files.write(dir.resolve(RocksLibrary.fileName() + "123.part"), new byte[100]);
        Path fresh = Files.write(dir.resolve(RocksLibrary.fileName() + "456.part"), new byte[100]);
        Files.setLastModifiedTime(stale, FileTime.fromMillis(System.currentTimeMillis() - 3_600_000L));
        RocksLibrary.extracted();
        assertThat(stale).doesNotExist();
        assertThat(fresh).as("maybe another start writing it now").exists();
    }

    @Test
    void aTruncatedCopyIsReplaced() throws Exception {
        Path dir = RocksLibrary.extracted();
        Path lib = dir.resolve(RocksLibrary.fileName());
        long size = Files.size(lib);
        Files.write(lib, new byte[100]);
        assertThat(RocksLibrary.extracted()).isEqualTo(dir);
        assertThat(Files.size(lib)).isEqualTo(size);
    }
}
