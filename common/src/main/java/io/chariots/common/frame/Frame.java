package io.chariots.common.frame;

import io.netty.buffer.ByteBuf;
import io.netty.util.AbstractReferenceCounted;
import io.netty.util.ReferenceCounted;

/**
 * One raw-TCP frame: a type byte and its payload. On the wire it is a 4-byte
 * big-endian length L, the type byte, then L−1 payload bytes. Reference
 * counted: whoever takes a frame from the pipeline releases it.
 */
public final class Frame extends AbstractReferenceCounted {
    /** Payload is one JSON record. */
    public static final byte RECORD = 'r';
    /** Payload is a JSON array of records. */
    public static final byte RECORDS = 's';

    private final byte type;
    private final ByteBuf payload;

    public Frame(byte type, ByteBuf payload) {
        this.type = type;
        this.payload = payload;
    }

    public byte type() {
        return type;
    }

    /** The L−1 bytes after the type byte. Valid until this frame is released. */
    public ByteBuf payload() {
        return payload;
    }

    /** The type as a printable character for messages, e.g. {@code 'r'} or {@code 0x07}. */
    public static String describeType(byte type) {
        return type >= 0x20 && type < 0x7f ? "'" + (char) type + "'" : String.format("0x%02x", type & 0xff);
    }

    @Override
    protected void deallocate() {
        payload.release();
    }

    @Override
    public ReferenceCounted touch(Object hint) {
        payload.touch(hint);
        return this;
    }
}
