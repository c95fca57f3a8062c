package io.chariots.batcher;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;
import io.chariots.common.grpc.MessageLimits;
import io.chariots.common.net.EdgeGuard;

import java.time.Duration;

/**
 * Batcher tunables, validated once at start. Keys are {@code batcher.*}.
 *
 * @param maxFrameBytes largest frame accepted on the raw TCP port; a longer one closes that connection; {@code batcher.max_frame_bytes}, default 16 MiB, at most
 *                      32 MiB ({@link MessageLimits#MAX_INPUT_BYTES}: a batch of records must fit one gRPC message)
 * @param maxFrameRecords records one {@code 's'} frame may carry; a frame with more is rejected whole (counted, logged with
 *                      the peer, an error answer in the acknowledged mode), as what the pipeline may hold bounds it;
 *                      {@code batcher.max_frame_records}, default 10000, at most {@code high_water}
 * @param maxBufferedBytes bytes all raw TCP connections together may buffer for frames being received: each frame's
 *                      length is reserved when its header arrives, and a connection whose frame does not fit is not read
 *                      until others' frames are through; {@code batcher.max_buffered_bytes}, default 64 MiB, at least
 *                      {@code max_frame_bytes} + 4; as much again bounds the frames being parsed (a whole frame of 1 MiB
 *                      or more waits for four times its size of it: {@link io.chariots.common.frame.ByteBudget#parseShare})
 * @param tcp           bounds of the raw TCP port: {@code batcher.max_connections} (default 1024),
 *                      {@code batcher.idle_timeout_ms} (a connection sending nothing is closed, default 3600000, as HAProxy's
 *                      {@code timeout client} in deploy/: a GoChariots client never reads, so it learns of a close only by
 *                      losing its next frame) and
 *                      {@code batcher.frame_timeout_ms} (a frame begun must arrive whole within it, default 30000)
 * @param maxBatch      records per batch sent to a filter; {@code batcher.max_batch}, default 2000
 * @param linger        how long a record waits for its batch to fill when the filter keeps up; {@code batcher.linger_ms}, default 2
 * @param busyWindow    batches on their way to a filter from which a batch whose linger is over keeps filling until fewer
 *                      are on their way (an answer), it holds {@code max_batch} records, or {@code busyLinger} is over: under
 *                      load batches grow and every hop's cost per batch is shared by more records (one record per
 *                      {@code POST /record}: ~15% more requests/s); {@code batcher.busy_window}, default 4, 1 to {@code window}
 * @param busyLinger    longest a record waits for its batch to fill while its filter is busy; bounds what a stalled filter
 *                      adds to every record's wait; {@code batcher.busy_linger_ms}, default 20 (or {@code linger} if
 *                      longer), from {@code linger} to 60000
 * @param window        batches in flight per filter (a filter answers once they are durable, so this is high; memory is
 *                      bounded by the water marks, and for records parked at a queue by {@code queue.max_buffered});
 *                      {@code batcher.window}, default 256
 * @param highWater     buffered records at which TCP reading pauses and gRPC ingest answers RESOURCE_EXHAUSTED; {@code batcher.high_water},
 *                      default 30000: at full speed that is a few hundred milliseconds of records, enough to keep the
 *                      pipeline full until the filters answer; every record held is on the heap until then, so more
 *                      only adds waiting and garbage collection (100000 measured at full speed: p50 append latency
 *                      three times as long, the batcher 18-27% of its CPU in GC against 9-15%)
 * @param lowWater      buffered records at which reading resumes; {@code batcher.low_water}, default half of {@code high_water}
 * @param highWaterBytes serialized bytes of buffered records at which reading pauses as at {@code high_water} (and
 *                      resumes at half of it): records of megabytes reach the heap's size long before 30000 of them;
 *                      {@code batcher.high_water_bytes}, default 32 MiB, at least {@code max_frame_bytes} (a frame that
 *                      arrives once reading paused is still taken whole; a whole frame of 1 MiB or more waits while reading
 *                      is paused); half of it bounds the apps' batches received and not yet taken or refused by the loop
 * @param ackTimeout    acknowledged mode: how long a record is waited for before its answer says it was not
 *                      confirmed; {@code batcher.ack_timeout_ms}, default 10000
 * @param ackMaxUnanswered acknowledged mode: records of one connection awaiting their answer above which that
 *                      connection is not read; {@code batcher.ack_max_unanswered}, default 10000
 * @param maxWaiting    acknowledged mode: record ids awaited at once over all connections, above which records are
 *                      answered "not appended"; {@code batcher.max_waiting}, default 100000
 */
record BatcherConfig(int maxFrameBytes, int maxFrameRecords, long maxBufferedBytes, EdgeGuard.Limits tcp, int maxBatch, Duration linger, int busyWindow, Duration busyLinger, int window, int highWater, int lowWater,
                     long highWaterBytes, Duration ackTimeout, int ackMaxUnanswered, int maxWaiting) {
    BatcherConfig {
        if (busyWindow < 1 || busyWindow > window) {
            throw new IllegalArgumentException("batcher.busy_window must be 1 to batcher.window (" + window + "), not " + busyWindow);
        }
        if (busyLinger.compareTo(linger) < 0) {
            throw new IllegalArgumentException("batcher.busy_linger_ms (" + busyLinger.toMillis() + ") must be at least batcher.linger_ms ("
                    + linger.toMillis() + ")");
        }
    }

    /** Default {@code batcher.high_water} (why: the {@code highWater} parameter above). */
    static final int DEFAULT_HIGH_WATER = 30_000;
    /** Default {@code batcher.high_water_bytes}: 32 MiB (64 MiB let records of 14 MiB over 8 connections take the 256 MiB heap). */
    static final long DEFAULT_HIGH_WATER_BYTES = 32L << 20;

    static BatcherConfig from(RoleConfig role) {
        Settings s = role.settings();
        int high = s.getInt("batcher.high_water", DEFAULT_HIGH_WATER, 1, 100_000_000);
        int maxFrame = s.getInt("batcher.max_frame_bytes", 16 << 20, 16, MessageLimits.MAX_INPUT_BYTES);
        int window = s.getInt("batcher.window", 256, 1, 100_000);
        Duration linger = Duration.ofMillis(s.getLong("batcher.linger_ms", 2, 0, 10_000));
        return new BatcherConfig(
                maxFrame,
                s.getInt("batcher.max_frame_records", Math.min(10_000, high), 1, high),
                s.getLong("batcher.max_buffered_bytes", Math.max(64L << 20, maxFrame + 4L), maxFrame + 4L, 1L << 40),
                EdgeGuard.Limits.from(s, "batcher", "frame", 1024, Duration.ofHours(1), Duration.ofSeconds(30)),
                s.getInt("batcher.max_batch", 2000, 1, 100_000),
                linger,
                s.getInt("batcher.busy_window", Math.min(4, window), 1, window),
                Duration.ofMillis(s.getLong("batcher.busy_linger_ms", Math.max(20, linger.toMillis()), linger.toMillis(), 60_000)),
                window,
                high,
                s.getInt("batcher.low_water", high / 2, 0, high),
                s.getLong("batcher.high_water_bytes", Math.max(DEFAULT_HIGH_WATER_BYTES, maxFrame), maxFrame, 1L << 40),
                Duration.ofMillis(s.getLong("batcher.ack_timeout_ms", 10_000, 1, 600_000)),
                s.getInt("batcher.ack_max_unanswered", 10_000, 1, 10_000_000),
                s.getInt("batcher.max_waiting", 100_000, 1, 10_000_000));
    }
}
