package io.chariots.launcher;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The bench's stage line from two scrapes of the roles' ingest-delay histograms. */
class StageLatencyTest {
    private static String bucket(String role, String stage, String le, long count) {
        return "chariots_ingest_delay_seconds_bucket{instance=\"" + role + "-1\",role=\"" + role + "\",stage=\"" + stage
                + "\",le=\"" + le + "\"} " + count + "\n";
    }

    private static String histogram(String role, String stage, long... cumulative) {
        String[] les = {"0.001", "0.002", "0.005", "0.05", "+Inf"};
        StringBuilder b = new StringBuilder("# TYPE chariots_ingest_delay_seconds histogram\n");
        for (int i = 0; i < les.length; i++) {
            b.append(bucket(role, stage, les[i], cumulative[i]));
        }
        return b.append("chariots_ingest_delay_seconds_count{role=\"" + role + "\",stage=\"" + stage + "\"} ")
                .append(cumulative[les.length - 1]).append('\n').toString();
    }

    @Test
    void onlyWhatCameAfterTheFirstScrapeCountsInTheOrderOfTheAppendPathSummedOverInstances() {
        StageLatency before = new StageLatency();
        before.add("m1", histogram("maintainer", "maintainer_stored", 0, 0, 0, 1000, 1000)); // a slow warm-up
        before.add("f1", histogram("filter", "filter_received", 10, 10, 10, 10, 10));
        StageLatency after = new StageLatency();
        // The measured phase: 100 more maintainer batches, 99 of them within 2 ms, one within 50 ms.
        after.add("m1", histogram("maintainer", "maintainer_stored", 50, 99, 99, 1100, 1100));
        after.add("f1", histogram("filter", "filter_received", 10, 10, 10, 10, 10));
        // Two queues: their counts add up.
        after.add("q1", histogram("queue", "queue_received", 3, 3, 3, 4, 4));
        after.add("q2", histogram("queue", "queue_received", 0, 2, 2, 2, 2).replace("queue-1", "queue-2"));

        assertThat(after.report(before)).isEqualTo(
                "queue_received p50 ≤1.0 ms p99 ≤50.0 ms  |  maintainer_stored p50 ≤1.0 ms p99 ≤2.0 ms");
        assertThat(after.report(after)).as("nothing counted in between").isNull();
    }

    @Test
    void anInstanceThatRestartedBetweenTheScrapesCountsFromItsRestart() {
        StageLatency before = new StageLatency();
        before.add("q1", histogram("queue", "queue_received", 0, 0, 0, 1000, 1000)); // slow before it restarted
        before.add("q2", histogram("queue", "queue_received", 10, 10, 10, 10, 10));
        StageLatency after = new StageLatency();
        after.add("q1", histogram("queue", "queue_received", 100, 100, 100, 100, 100)); // restarted: 100 since, all fast
        after.add("q2", histogram("queue", "queue_received", 10, 10, 10, 10, 10));

        assertThat(after.report(before)).isEqualTo("queue_received p50 ≤1.0 ms p99 ≤1.0 ms");

    }

    @Test
    void aRestartIsSeenAlsoWhenTheInstanceCountedMoreSinceThanBefore() {
        StageLatency before = new StageLatency();
        before.add("q1", histogram("queue", "queue_received", 0, 0, 0, 100, 100)); // 100 slow batches
        before.add("q2", histogram("queue", "queue_received", 0, 0, 0, 0, 0));
        StageLatency after = new StageLatency();
        // q1 restarted and has counted 150 fast batches since: no total went down, but taken as growth its
        // fast buckets would have grown by more than its slow ones, which cannot happen in one process.
        after.add("q1", histogram("queue", "queue_received", 150, 150, 150, 150, 150));
        after.add("q2", histogram("queue", "queue_received", 0, 0, 0, 100, 100)); // 100 slow batches
        assertThat(after.report(before)).as("150 fast and 100 slow batches in the measured phase")
                .isEqualTo("queue_received p50 ≤1.0 ms p99 ≤50.0 ms");
    }
}
