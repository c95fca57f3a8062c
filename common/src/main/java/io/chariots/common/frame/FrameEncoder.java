package io.chariots.common.frame;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;

import java.nio.ByteBuffer;

/** Writes {@link Frame}s; {@link #encode(byte, byte[])} frames bytes for plain-socket clients. */
@ChannelHandler.Sharable
public final class FrameEncoder extends MessageToByteEncoder<Frame> {
    @Override
    protected void encode(ChannelHandlerContext ctx, Frame frame, ByteBuf out) {
        ByteBuf payload = frame.payload();
        out.writeInt(payload.readableBytes() + 1);
        out.writeByte(frame.type());
        out.writeBytes(payload, payload.readerIndex(), payload.readableBytes());
    }

    /** The wire bytes of one frame: length, type, payload. */
    public static byte[] encode(byte type, byte[] payload) {
        return ByteBuffer.allocate(5 + payload.length).putInt(payload.length + 1).put(type).put(payload).array();
    }
}
