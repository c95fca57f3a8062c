package io.chariots.app;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;
import io.chariots.common.grpc.MessageLimits;

import java.time.Duration;

/**
 * App tunables, validated once at start. Keys are {@code app.*}.
 *
 * @param linger       longest an accepted record waits to share a batch to a batcher; {@code app.linger_ms}, default 1
 * @param maxBatch     records per batch to a batcher; {@code app.max_batch}, default 1000
 * @param maxInFlight  records accepted but not yet acknowledged by a batcher, above which POST answers 503; {@code app.max_in_flight}, default 50000
 * @param maxInFlightBytes serialized bytes of those records above which POST answers 503 as well (a request is still taken
 *                     when nothing else is in flight): records of megabytes reach the heap's size long before 50000 of
 *                     them; {@code app.max_in_flight_bytes}, default 64 MiB, at least {@code app.max_body_bytes}
 * @param maxBodyBytes largest request body; {@code app.max_body_bytes}, default 16 MiB, at most 32 MiB
 *                     ({@link MessageLimits#MAX_INPUT_BYTES}: a batch of records must fit one gRPC message)
 * @param maxRequestRecords records one {@code POST /record} array may carry; a larger array is answered 413 and nothing of
 *                     it is appended (it could never fit what the pipeline holds); {@code app.max_request_records},
 *                     default 10000, at most {@code app.max_in_flight}
 * @param forwardTimeout how long a record may take to reach a batcher before the request answers 503; {@code app.forward_timeout_ms}, default 10000
 * @param waitTimeout  longest a {@code POST /record?wait=true} waits for its records to be persisted and indexed
 *                     before answering 504, and the cap of its {@code timeout_ms}; {@code app.wait_timeout_ms}, default 10000
 * @param maxWaiting   record ids waiting for acknowledgement at once, above which {@code wait=true} answers 503;
 *                     {@code app.max_waiting}, default 100000
 * @param readTimeout  deadline of each read call to a maintainer or indexer; {@code app.read_timeout_ms}, default 5000
 */
record AppConfig(Duration linger, int maxBatch, int maxInFlight, long maxInFlightBytes, int maxBodyBytes, int maxRequestRecords, Duration forwardTimeout,
                 Duration waitTimeout, int maxWaiting, Duration readTimeout) {
    static AppConfig from(RoleConfig role) {
        Settings s = role.settings();
        int maxInFlight = s.getInt("app.max_in_flight", 50_000, 1, 100_000_000);
        int maxBody = s.getInt("app.max_body_bytes", 16 << 20, 1024, MessageLimits.MAX_INPUT_BYTES);
        return new AppConfig(Duration.ofMillis(s.getLong("app.linger_ms", 1, 0, 10_000)),
                s.getInt("app.max_batch", 1000, 1, 100_000),
                maxInFlight,
                s.getLong("app.max_in_flight_bytes", Math.max(64L << 20, maxBody), maxBody, 1L << 40),
                maxBody,
                s.getInt("app.max_request_records", Math.min(10_000, maxInFlight), 1, maxInFlight),
                Duration.ofMillis(s.getLong("app.forward_timeout_ms", 10_000, 10, 600_000)),
                Duration.ofMillis(s.getLong("app.wait_timeout_ms", 10_000, 1, 600_000)),
                s.getInt("app.max_waiting", 100_000, 1, 10_000_000),
                Duration.ofMillis(s.getLong("app.read_timeout_ms", 5_000, 10, 600_000)));
    }
}
