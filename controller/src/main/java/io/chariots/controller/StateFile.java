package io.chariots.controller;

import com.google.protobuf.InvalidProtocolBufferException;
import io.chariots.proto.ControllerState;
import io.chariots.proto.KnownMember;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * The controller's durable state: the file {@value #NAME} in its data
 * directory, holding one {@link ControllerState} (members with their health,
 * the newest layout, the view epoch, the next join_seq).
 *
 * <p>Format: a 16-byte header, then the {@code ControllerState} protobuf.
 * The header is the magic {@code "CHCS"}, then three big-endian int32s: the
 * format version ({@value #FORMAT}), the payload length, and the payload's
 * CRC32C. Protobuf because unknown fields survive a rewrite by an older
 * controller; the checksum because protobuf parses many corruptions into
 * plausible garbage.
 *
 * <p>Written atomically: the whole file to {@value #NAME}{@code .tmp},
 * fsynced, renamed over the old one, and the directory fsynced, so a crash
 * leaves the old state or the new one, never a mix. A file that cannot be
 * read is moved aside to {@value #NAME}{@code .corrupt} (for a post-mortem)
 * and the controller starts empty.
 */
final class StateFile {
    static final String NAME = "controller-state.pb";
    static final int FORMAT = 1;
    private static final Logger LOG = LoggerFactory.getLogger(StateFile.class);
    private static final int MAGIC = 0x43484353; // "CHCS"
    private static final int HEADER_BYTES = 16;

    private final Path dir;
    private final Path file;

    StateFile(Path dir) {
        this.dir = dir;
        this.file = dir.resolve(NAME);
    }

    Path path() {
        return file;
    }

    /**
     * What a start found.
     *
     * @param state   the saved state, or null when there is none usable
     * @param problem why there is none (null when the state was read)
     */
    record Loaded(ControllerState state, String problem) {
        /**
         * The view epoch of the starting controller: one more than the saved
         * one, so it supersedes whatever the clock says. Without a saved state
         * (a first start, or the state was lost) the wall clock, which
         * supersedes any earlier controller's counter in practice (counters
         * start there) unless the clock went back.
         */
        long nextViewEpoch(long wallMs) {
            return Math.max(1, state != null ? state.getViewEpoch() + 1 : wallMs);
        }

        /** The state to restore: the saved one, or an empty one. */
        ControllerState stateOrEmpty() {
            return state != null ? state : ControllerState.getDefaultInstance();
        }
    }

    /**
     * Reads the saved state; never throws: a missing file is logged (info),
     * an unreadable one is logged (warning), moved aside and reported as none.
     */
    Loaded load() {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            String why = "no " + NAME + " in " + dir.toAbsolutePath() + " (a first start, or its state was lost)";
            LOG.info("{}: starting with no members", why);
            return new Loaded(null, why);
        } catch (IOException e) {
            return unreadable("cannot read it: " + e);
        }
        String problem = null;
        ControllerState state = null;
        ByteBuffer b = ByteBuffer.wrap(bytes);
        if (bytes.length < HEADER_BYTES || b.getInt() != MAGIC) {
            problem = "not a controller state file (no CHCS header)";
        } else if (b.getInt() != FORMAT) {
            problem = "format version " + b.getInt(4) + ", this controller reads version " + FORMAT;
        } else if (b.getInt() != bytes.length - HEADER_BYTES) {
            problem = "truncated or extended: header says " + b.getInt(8) + " bytes of state, the file has "
                    + (bytes.length - HEADER_BYTES);
        } else if (b.getInt() != crc(bytes, HEADER_BYTES, bytes.length - HEADER_BYTES)) {
            problem = "checksum mismatch";
        } else {
            try {
                state = ControllerState.parseFrom(ByteBuffer.wrap(bytes, HEADER_BYTES, bytes.length - HEADER_BYTES));
                problem = unknownEnums(state);
            } catch (InvalidProtocolBufferException e) {
                problem = "unparsable: " + e.getMessage();
            }
        }
        return problem == null ? new Loaded(state, null) : unreadable(problem);
    }

    private static String unknownEnums(ControllerState state) {
        for (KnownMember k : state.getMembersList()) {
            if (k.getHealth() == KnownMember.Health.UNRECOGNIZED || k.getSource() == KnownMember.Source.UNRECOGNIZED) {
                return "member " + k.getMember().getInstanceId() + " has a health or source this controller does not know";
            }
        }
        return null;
    }

    private Loaded unreadable(String problem) {
        String why = file.toAbsolutePath() + " is unreadable (" + problem + ")";
        Path aside = file.resolveSibling(NAME + ".corrupt");
        try {
            Files.move(file, aside, StandardCopyOption.REPLACE_EXISTING);
            why += "; kept as " + aside.getFileName();
        } catch (IOException e) {
            why += "; could not move it aside: " + e;
        }
        LOG.warn("{}: starting with no members and no layout", why);
        return new Loaded(null, why);
    }

    /** Replaces the saved state atomically and durably (see the class comment). */
    void write(ControllerState state) throws IOException {
        byte[] payload = state.toByteArray();
        ByteBuffer out = ByteBuffer.allocate(HEADER_BYTES + payload.length);
        out.putInt(MAGIC).putInt(FORMAT).putInt(payload.length).putInt(crc(payload, 0, payload.length)).put(payload).flip();
        Path tmp = file.resolveSibling(NAME + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            while (out.hasRemaining()) {
                ch.write(out);
            }
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        // The rename is durable only once the directory is.
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    private static int crc(byte[] bytes, int offset, int length) {
        CRC32C c = new CRC32C();
        c.update(bytes, offset, length);
        return (int) c.getValue();
    }
}
