package io.chariots.controller;

import io.chariots.proto.ControllerState;
import io.chariots.proto.KnownMember;
import io.chariots.proto.Layout;
import io.chariots.proto.Member;
import io.chariots.proto.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** The state file on a real disk: round trip, atomic replacement, and every way it can be unreadable. */
class StateFileTest {
    @TempDir
    Path dir;

    static ControllerState state(long viewEpoch) {
        return ControllerState.newBuilder().setViewEpoch(viewEpoch).setNextJoinSeq(3)
                .setLayout(Layout.newBuilder().setEpoch(5).setVersion(2).setStartLid(1000))
                .addMembers(KnownMember.newBuilder().setHealth(KnownMember.Health.SUSPECT)
                        .setSource(KnownMember.Source.HTTP).setSinceMs(1234)
                        .setMember(Member.newBuilder().setInstanceId("q").setRole(Role.QUEUE).setAddress("h:1").setJoinSeq(2)))
                .build();
    }

    @Test
    void writesAtomicallyAndReadsBack() throws IOException {
        StateFile file = new StateFile(dir);
        file.write(state(7));
        file.write(state(8));
        StateFile.Loaded loaded = new StateFile(dir).load();
        assertThat(loaded.problem()).isNull();
        assertThat(loaded.state()).isEqualTo(state(8));
        assertThat(loaded.nextViewEpoch(5_000_000)).as("the counter, not the clock").isEqualTo(9);
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly(StateFile.NAME);
        }
    }

    @Test
    void withoutAStateFileTheEpochComesFromTheWallClock() {
        StateFile.Loaded loaded = new StateFile(dir).load();
        assertThat(loaded.state()).isNull();
        assertThat(loaded.problem()).contains("no " + StateFile.NAME);
        assertThat(loaded.stateOrEmpty()).isEqualTo(ControllerState.getDefaultInstance());
        assertThat(loaded.nextViewEpoch(1_700_000_000_000L)).isEqualTo(1_700_000_000_000L);
        assertThat(loaded.nextViewEpoch(-5)).as("a clock before 1970 still gives a real epoch").isEqualTo(1);
    }

    @Test
    void garbageIsNotAState() throws IOException {
        Files.writeString(dir.resolve(StateFile.NAME), "{\"members\": []}");
        assertUnreadable("no CHCS header");
    }

    @Test
    void aTruncatedFileIsNotAState() throws IOException {
        new StateFile(dir).write(state(7));
        Path file = dir.resolve(StateFile.NAME);
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 3));
        assertUnreadable("truncated");
    }

    @Test
    void aFlippedBitIsCaughtByTheChecksum() throws IOException {
        new StateFile(dir).write(state(7));
        Path file = dir.resolve(StateFile.NAME);
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 1] ^= 0x10;
        Files.write(file, bytes);
        assertUnreadable("checksum");
    }

    @Test
    void aNewerFormatIsNotGuessedAt() throws IOException {
        new StateFile(dir).write(state(7));
        Path file = dir.resolve(StateFile.NAME);
        byte[] bytes = Files.readAllBytes(file);
        bytes[7] = 2;
        Files.write(file, bytes);
        assertUnreadable("format version 2");
    }

    private void assertUnreadable(String why) throws IOException {
        byte[] bad = Files.readAllBytes(dir.resolve(StateFile.NAME));
        StateFile.Loaded loaded = new StateFile(dir).load();
        assertThat(loaded.state()).isNull();
        assertThat(loaded.problem()).contains(why).contains("kept as " + StateFile.NAME + ".corrupt");
        assertThat(dir.resolve(StateFile.NAME)).doesNotExist();
        assertThat(Files.readAllBytes(dir.resolve(StateFile.NAME + ".corrupt"))).isEqualTo(bad);
        assertThat(loaded.nextViewEpoch(1_700_000_000_000L)).isEqualTo(1_700_000_000_000L);
    }
}
