package io.chariots.common.fuzz;

import io.chariots.common.frame.Frame;
import io.chariots.common.frame.FrameDecoder;
import io.chariots.common.frame.FrameException;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What the raw TCP frame decoder must do with any byte stream, however it is
 * split into reads: exactly the frames a plain reading of the stream gives
 * (4-byte big-endian length L, then L bytes: type and payload), up to the
 * first length that is 0 or above the maximum, which is a typed
 * {@link FrameException} and nothing after it — never another exception.
 */
public final class FrameOracle {
    private FrameOracle() {
    }

    /** What a decoding gave: the frames (type byte then payload), and the error that ended it (null: none). */
    record Outcome(List<String> frames, FrameException.Kind error, Throwable unexpected) {
    }

    /**
     * @param splits offsets (ascending, inside the stream) where reads end
     * @return null if the decoder did what it must, else what it did wrong
     */
    public static String check(byte[] stream, int[] splits, int maxFrame) {
        Outcome want = reference(stream, maxFrame);
        Outcome got = decode(stream, splits, maxFrame);
        if (got.unexpected() != null) {
            return "the decoder threw " + got.unexpected() + " (splits " + Arrays.toString(splits) + ")";
        }
        if (!got.frames().equals(want.frames()) || got.error() != want.error()) {
            return "decoded " + got.frames().size() + " frame(s) then " + got.error() + ", expected " + want.frames().size()
                    + " then " + want.error() + " (splits " + Arrays.toString(splits) + ")";
        }
        return null;
    }

    static Outcome reference(byte[] s, int maxFrame) {
        List<String> frames = new ArrayList<>();
        int at = 0;
        while (s.length - at >= 4) {
            long len = ((s[at] & 0xffL) << 24) | ((s[at + 1] & 0xff) << 16) | ((s[at + 2] & 0xff) << 8) | (s[at + 3] & 0xff);
            if (len == 0) {
                return new Outcome(frames, FrameException.Kind.ZERO_LENGTH, null);
            }
            if (len > maxFrame) {
                return new Outcome(frames, FrameException.Kind.TOO_LONG, null);
            }
            if (s.length - at - 4 < len) {
                break;
            }
            frames.add(hex(s, at + 4, (int) len));
            at += 4 + (int) len;
        }
        return new Outcome(frames, null, null);
    }

    static Outcome decode(byte[] s, int[] splits, int maxFrame) {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(maxFrame));
        List<String> frames = new ArrayList<>();
        FrameException.Kind error = null;
        Throwable unexpected = null;
        int from = 0;
        try {
            for (int i = 0; i <= splits.length && error == null; i++) {
                int to = i < splits.length ? splits[i] : s.length;
                try {
                    ch.writeInbound(Unpooled.wrappedBuffer(s, from, to - from));
                } catch (FrameException e) {
                    error = e.kind();
                }
                from = to;
                Frame f;
                while ((f = ch.readInbound()) != null) {
                    byte[] p = new byte[f.payload().readableBytes() + 1];
                    p[0] = f.type();
                    f.payload().getBytes(f.payload().readerIndex(), p, 1, p.length - 1);
                    frames.add(hex(p, 0, p.length));
                    f.release();
                }
            }
        } catch (RuntimeException | Error e) {
            unexpected = e;
        } finally {
            ch.finishAndReleaseAll();
        }
        return new Outcome(frames, error, unexpected);
    }

    private static String hex(byte[] b, int off, int len) {
        StringBuilder sb = new StringBuilder(len * 2);
        for (int i = off; i < off + len; i++) {
            sb.append(Character.forDigit((b[i] >> 4) & 0xf, 16)).append(Character.forDigit(b[i] & 0xf, 16));
        }
        return sb.toString();
    }
}
