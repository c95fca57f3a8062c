package io.chariots.common.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DataDirTest {
    @TempDir
    Path tmp;

    @Test
    void replicasSharingAPoolEachTakeTheLowestFreeSlotAndGetItBackAfterARestart() throws IOException {
        Path pool = tmp.resolve("flstore-" + DataDir.SLOT);
        DataDir first = DataDir.claim(pool);
        DataDir second = DataDir.claim(pool);
        assertThat(first.path()).isEqualTo(tmp.resolve("flstore-1"));
        assertThat(second.path()).isEqualTo(tmp.resolve("flstore-2"));
        assertThat(first.slot()).isEqualTo(1);
        Files.writeString(first.path().resolve("data"), "kept");

        first.close();
        try (DataDir again = DataDir.claim(pool)) {
            assertThat(again.path()).isEqualTo(tmp.resolve("flstore-1"));
            assertThat(again.path().resolve("data")).hasContent("kept");
        }
        second.close();
    }

    @Test
    void aPlainDirectoryIsHeldByOneInstanceAndTheErrorSaysWhatToDo() throws IOException {
        Path dir = tmp.resolve("maintainer-9030");
        try (DataDir held = DataDir.claim(dir)) {
            assertThat(held.slot()).isZero();
            assertThatThrownBy(() -> DataDir.claim(dir)).isInstanceOf(IOException.class)
                    .hasMessageContaining("maintainer-9030").hasMessageContaining("in use by another process")
                    .hasMessageContaining("maintainer-9030-{slot}");
        }
        DataDir.claim(dir).close();
    }
}
