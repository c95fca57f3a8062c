package io.chariots.common.frame;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.util.List;

/**
 * Splits a byte stream into {@link Frame}s. Checks each header before
 * buffering its body, so a client claiming a huge length costs nothing: it
 * gets a {@link FrameException} (and its connection closed by the handler)
 * as soon as the 4 length bytes arrive. After an error the rest of the stream
 * is discarded unread.
 */
public final class FrameDecoder extends ByteToMessageDecoder {
    private final int maxFrameLength;
    private boolean failed;

    /** @param maxFrameLength largest accepted L (type byte plus payload), at least 1 */
    public FrameDecoder(int maxFrameLength) {
        if (maxFrameLength < 1) {
            throw new IllegalArgumentException("maxFrameLength must be at least 1, got " + maxFrameLength);
        }
        this.maxFrameLength = maxFrameLength;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        while (in.readableBytes() >= 4) {
            long length = in.getUnsignedInt(in.readerIndex());
            if (length == 0) {
                fail(in);
                throw new FrameException(FrameException.Kind.ZERO_LENGTH, 0,
                        "frame of length 0 (a frame needs at least its type byte)");
            }
            if (length > maxFrameLength) {
                fail(in);
                throw new FrameException(FrameException.Kind.TOO_LONG, length,
                        "frame of length " + length + " exceeds the maximum of " + maxFrameLength + " bytes");
            }
            if (in.readableBytes() < 4 + length) {
                return;
            }
            in.skipBytes(4);
            byte type = in.readByte();
            out.add(new Frame(type, in.readRetainedSlice((int) length - 1)));
        }
    }

    private void fail(ByteBuf in) {
        failed = true;
        in.skipBytes(in.readableBytes());
    }
}
