package io.chariots.systemtests;

import io.chariots.launcher.chaos.ChaosOptions;
import io.chariots.launcher.chaos.ChaosRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code ./chariots chaos} in about two minutes: a cluster of real processes
 * (2 batchers, 2 filters, 3 queues, 2 maintainers, 2 indexers) under
 * acknowledged HTTP and raw-TCP load with causal chains, five faults one at a
 * time (SIGKILL and restart, or SIGSTOP for a few seconds), then the log read
 * back: nothing acknowledged lost, nothing appended twice, LIds 1..N records
 * or holes, every effect after its cause. The seed is fixed (22: kills a filter, a queue and a maintainer, pauses a batcher and the controller)
 * ({@code -Dchaos.seed=S} for another) and printed with the table.
 */
class ChaosTest {
    @TempDir
    Path dir;

    @Test
    void acknowledgedRecordsSurviveFaultsOnRealProcesses() throws Exception {
        long seed = Long.getLong("chaos.seed", 22);
        ChaosOptions options = new ChaosOptions().seed(seed).faults(Integer.getInteger("chaos.faults", 5))
                .down(Duration.ofSeconds(3), Duration.ofSeconds(8)).maxKillDown(Duration.ofSeconds(2))
                .settleTimeout(Duration.ofSeconds(120)).outDir(dir);
        ChaosRun.Result r = new ChaosRun(options, System.out).run();
        System.out.println(r.report());
        assertThat(r.violations()).as("violations of chaos seed %d (logs under %s):%n%s", seed, dir, r.report()).isEmpty();
    }
}
