package io.chariots.controller;

import io.chariots.proto.ControllerState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Saving off the loop: the newest snapshot wins, flush means durable, failures are retried. */
class StateWriterTest {
    @TempDir
    Path dir;

    static ControllerState state(long n) {
        return ControllerState.newBuilder().setViewEpoch(7).setNextJoinSeq(n).build();
    }

    @Test
    void flushCompletesOnceTheNewestSnapshotIsOnDisk() throws Exception {
        StateFile file = new StateFile(dir);
        try (StateWriter writer = new StateWriter(file)) {
            assertThat(writer.flush()).as("nothing to wait for").isCompleted();
            for (int i = 1; i <= 100; i++) {
                writer.save(state(i));
            }
            writer.flush().get(5, TimeUnit.SECONDS);
            assertThat(file.load().state()).isEqualTo(state(100));
            assertThat(writer.lastError()).isNull();
        }
    }

    @Test
    void aFailedWriteFailsFlushAndIsRetriedUntilItSucceeds() throws Exception {
        Path gone = dir.resolve("not-yet");
        StateFile file = new StateFile(gone);
        try (StateWriter writer = new StateWriter(file)) {
            writer.save(state(1));
            CompletableFuture<Void> flushed = writer.flush();
            assertThatThrownBy(() -> flushed.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
            assertThat(writer.failures()).isPositive();
            assertThat(writer.lastError()).isNotNull();

            Files.createDirectories(gone);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (writer.lastError() != null && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(writer.lastError()).as("retried without another change").isNull();
            assertThat(file.load().state()).isEqualTo(state(1));
            writer.flush().get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void closeWritesWhatIsPending() throws Exception {
        StateFile file = new StateFile(dir);
        StateWriter writer = new StateWriter(file);
        writer.save(state(1));
        writer.save(state(2));
        writer.close();
        assertThat(file.load().state()).isEqualTo(state(2));
    }
}
