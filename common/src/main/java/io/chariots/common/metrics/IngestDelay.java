package io.chariots.common.metrics;

import io.chariots.proto.RecordEnvelope;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * How long after its edge stamp ({@code ingest_us}) a batch reaches one stage
 * of the append path: {@code chariots_ingest_delay_seconds{stage}}, a
 * histogram. Each stage records the first record of every batch it handles
 * (resent batches too), so the stages' histograms side by side say where
 * append latency goes; {@code ./chariots bench} prints them. Stages on other
 * hosts compare their wall clocks with the edge's.
 * Only this datacenter's records count: another's were stamped at their home.
 * One clock read per batch. Thread-safe.
 */
public final class IngestDelay {
    /** Where a batch is seen, in the order of the append path. */
    public static final List<String> STAGES = List.of("batcher_sent", "filter_received", "queue_received", "maintainer_stored");

    private final Timer timer;
    private final int datacenter;

    /**
     * @param stage      one of {@link #STAGES}
     * @param datacenter this datacenter's id: records of other origins are not counted
     */
    public IngestDelay(MeterRegistry meters, String stage, int datacenter) {
        if (!STAGES.contains(stage)) {
            throw new IllegalArgumentException("unknown stage " + stage + "; one of " + STAGES);
        }
        this.timer = Timer.builder("chariots_ingest_delay")
                .description("Time from a record's edge stamp until its batch reached this stage (the first record of each batch)")
                .tag("stage", stage).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(60))
                .register(meters);
        this.datacenter = datacenter;
    }

    /** Counts the batch {@code records} reaching this stage now. */
    public void batch(List<RecordEnvelope> records) {
        if (records.isEmpty()) {
            return;
        }
        RecordEnvelope first = records.get(0);
        if (first.getIngestUs() <= 0 || first.getHost() != datacenter) {
            return;
        }
        Instant t = Instant.now();
        long us = t.getEpochSecond() * 1_000_000L + t.getNano() / 1000 - first.getIngestUs();
        timer.record(Math.max(0, us), TimeUnit.MICROSECONDS);
    }
}
