package io.chariots.queue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The dedup memory's file: written whole or not at all, taken once, used only when read whole. */
class DedupMemoryTest {
    private static final DedupMemory.Header HEADER = new DedupMemory.Header("q1:7000",
            new DedupMemory.Stamp(1_700_000_000_000L, "boot-1", 5_000), 42, List.of("q1:7000", "q2:7000"), 7,
            List.of(new DedupMemory.Handover(3, List.of("q1:7000", "q2:7000", "q3:7000"))));

    @TempDir
    Path dir;

    @Test
    void aMemoryIsTakenOnceWholeAndItsFileGoes() throws IOException {
        DedupMemory.save(dir, out -> DedupMemory.writeHeader(out, HEADER));
        assertThat(dir.resolve(DedupMemory.FILE)).exists();
        assertThat(dir.resolve(DedupMemory.FILE + ".tmp")).doesNotExist();
        assertThat(DedupMemory.take(dir, DedupMemory::readHeader)).contains(HEADER);
        assertThat(dir.resolve(DedupMemory.FILE)).doesNotExist();
        assertThat(DedupMemory.take(dir, DedupMemory::readHeader)).as("taken once").isEmpty();
    }

    @Test
    void aFileWithBytesAfterItsEndOrCutShortIsNotUsedAndGoes() throws IOException {
        DedupMemory.save(dir, out -> {
            DedupMemory.writeHeader(out, HEADER);
            out.writeInt(0);
        });
        assertThatThrownBy(() -> DedupMemory.take(dir, DedupMemory::readHeader)).hasMessageContaining("bytes after its end");
        assertThat(dir.resolve(DedupMemory.FILE)).doesNotExist();

        DedupMemory.save(dir, out -> DedupMemory.writeHeader(out, HEADER));
        Path f = dir.resolve(DedupMemory.FILE);
        byte[] whole = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(whole, whole.length - 3), StandardOpenOption.TRUNCATE_EXISTING);
        assertThatThrownBy(() -> DedupMemory.take(dir, DedupMemory::readHeader)).hasMessageContaining("damaged");
        assertThat(f).doesNotExist();
        Files.write(f, new byte[] {1, 2});
        assertThatThrownBy(() -> DedupMemory.take(dir, DedupMemory::readHeader)).hasMessageContaining("cut short");

        DedupMemory.save(dir, out -> out.writeInt(0x43444d32));
        assertThatThrownBy(() -> DedupMemory.take(dir, DedupMemory::readHeader)).as("an older version's file")
                .hasMessageContaining("not a queue's dedup memory");
    }

    @Test
    void aFlippedBitAnywhereIsFoundBeforeTheMemoryIsRead() throws IOException {
        byte[] filter = new byte[200_000];
        new java.util.Random(7).nextBytes(filter);
        for (int at : new int[] {0, 3, 150_000, Integer.MAX_VALUE}) { // the magic, the header, the filter, the checksum
            DedupMemory.save(dir, out -> {
                DedupMemory.writeHeader(out, HEADER);
                out.write(filter);
            });
            Path f = dir.resolve(DedupMemory.FILE);
            byte[] whole = Files.readAllBytes(f);
            whole[Math.min(at, whole.length - 1)] ^= 0x10;
            Files.write(f, whole, StandardOpenOption.TRUNCATE_EXISTING);
            java.util.concurrent.atomic.AtomicBoolean read = new java.util.concurrent.atomic.AtomicBoolean();
            assertThatThrownBy(() -> DedupMemory.take(dir, in -> {
                read.set(true);
                DedupMemory.Header h = DedupMemory.readHeader(in);
                in.readFully(new byte[filter.length]);
                return h;
            })).as("bit flipped at %d", at).hasMessageContaining("damaged");
            assertThat(read).as("nothing of it read").isFalse();
            assertThat(f).doesNotExist();
        }
    }

    @Test
    void aSaveCutShortLeavesNoMemoryAndItsTemporaryFileIsRemoved() throws IOException {
        assertThatThrownBy(() -> DedupMemory.save(dir, out -> {
            DedupMemory.writeHeader(out, HEADER);
            throw new IOException("disk full");
        })).hasMessage("disk full");
        assertThat(dir.resolve(DedupMemory.FILE)).doesNotExist();
        assertThat(dir.resolve(DedupMemory.FILE + ".tmp")).exists();
        assertThat(DedupMemory.take(dir, DedupMemory::readHeader)).isEmpty();
        assertThat(dir.resolve(DedupMemory.FILE + ".tmp")).as("removed at the next start").doesNotExist();
    }
}
