package io.chariots.common.frame;

import io.netty.handler.codec.DecoderException;

/**
 * The byte stream broke the frame protocol. The connection that sent it
 * cannot be resynchronised and is closed; other connections are unaffected.
 */
public final class FrameException extends DecoderException {
    private static final long serialVersionUID = 1L;

    /** What was wrong with the frame header. */
    public enum Kind {
        /** A length of 0: no type byte. */
        ZERO_LENGTH,
        /** A length above the configured maximum (or above 2^31−1). */
        TOO_LONG
    }

    private final Kind kind;
    private final long length;

    public FrameException(Kind kind, long length, String message) {
        super(message);
        this.kind = kind;
        this.length = length;
    }

    public Kind kind() {
        return kind;
    }

    /** The length the frame header claimed. */
    public long length() {
        return length;
    }
}
