package io.chariots.common.grpc;

import com.google.protobuf.MessageLite;

import java.util.List;

/**
 * How large one gRPC message between roles may be, and so how large a batch
 * of records and a single record may be. Every stage that gathers records
 * into a call (the app's forwarder, a batcher, a queue's store outbox) starts
 * a new batch before a record that would take it past {@link #BATCH_BYTES};
 * an edge refuses a record larger than {@link #MAX_RECORD_BYTES} (its
 * envelope: many small tags make it up to about twice its JSON). A batch is
 * then at most the larger of the two, under {@link #MAX_MESSAGE_BYTES}
 * whatever its records, and a batch that can never be taken is never sent.
 */
public final class MessageLimits {
    /** The largest message a role's gRPC server and channels take: 64 MiB. */
    public static final int MAX_MESSAGE_BYTES = 64 << 20;
    /** Serialized record bytes at which a stage closes the batch it gathers: 16 MiB. */
    public static final long BATCH_BYTES = 16L << 20;
    /** The largest {@code batcher.max_frame_bytes} and {@code app.max_body_bytes} allowed: 32 MiB. */
    public static final int MAX_INPUT_BYTES = 32 << 20;
    /** The largest record envelope an edge takes: 48 MiB, so that it fits one call alone with room for the call's own fields. */
    public static final int MAX_RECORD_BYTES = 48 << 20;

    /**
     * Whether a batch of {@code batchBytes} already holding records must be
     * closed before a record of {@code recordBytes} joins it.
     */
    public static boolean closesBefore(long batchBytes, long recordBytes) {
        return batchBytes > 0 && batchBytes + recordBytes > BATCH_BYTES;
    }

    private MessageLimits() {
    }

    /**
     * Serialized bytes of {@code messages}: what they add to a batch. Each
     * message memoizes its size, so the call's serialization does not compute
     * it again.
     */
    public static long bytesOf(List<? extends MessageLite> messages) {
        long n = 0;
        for (MessageLite m : messages) {
            n += m.getSerializedSize();
        }
        return n;
    }
}
