package io.chariots.systemtests;

import io.chariots.common.runtime.FatalErrors;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A role whose event loop dies or hangs must not live on as a zombie that
 * answers {@code /health} UP and heartbeats while doing nothing (what an
 * OutOfMemoryError on the batcher's loop left on the old main). Faults are
 * injected into the loop thread of a real role process from outside, by a
 * Java agent: an asynchronous Error where the loop stands, or a suspension.
 */
class NoZombiesTest {
    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();
    @TempDir
    Path dir;

    /** Thread.stop/suspend, which the agent uses, throw from JDK 20 on; the build's JDK is 17. */
    static void assumeThreadControl() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Runtime.version().feature() < 20,
                "the fault agent needs Thread.stop/suspend (JDK < 20); this JVM is " + Runtime.version());
    }

    @Test
    void aRoleWhoseLoopDiesOfAnErrorExitsAndServesAgainOnceRestarted() throws Exception {
        assumeThreadControl();
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).start());
        c.awaitRegistered(Duration.ofSeconds(90));
        String app = c.appUrl(0);
        assertThat(LogProbe.post(app + "/record?wait=true", "{\"id\":\"z-1\"}").statusCode()).isEqualTo(200);

        RoleProcess batcher = c.get(Role.BATCHER, 0);
        c.expectDown(batcher, true);
        LoopAgent.apply(batcher.pid(), LoopAgent.Act.STOP, "batcher", dir);
        assertThat(batcher.awaitExit(Duration.ofSeconds(30))).as("exit status of a role whose loop died")
                .isEqualTo(FatalErrors.EXIT_CODE);
        String log = Files.readString(batcher.log());
        assertThat(log).contains("loop died of java.lang.ThreadDeath")
                .contains("exiting with status " + FatalErrors.EXIT_CODE + " so that this role is restarted");
        await("the controller drops the dead batcher", Duration.ofSeconds(30),
                () -> listed(c, Role.BATCHER).isEmpty());

        // What an orchestrator does with a process that exited: start it again. It serves at once.
        batcher.start().awaitServing(Duration.ofSeconds(60));
        c.expectDown(batcher, false);
        c.awaitRegistered(Duration.ofSeconds(60));
        HttpResponse<String> after = LogProbe.post(app + "/record?wait=true", "{\"id\":\"z-2\"}");
        assertThat(after.statusCode()).as(after.body()).isEqualTo(200);
    }

    @Test
    void aHungLoopAnswersDownAndLeavesTheViewsUntilItTurnsAgain() throws Exception {
        assumeThreadControl();
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).apps(0).batchers(0).queues(0).maintainers(0)
                .indexers(0).filters(1).setting("loop_stall_ms", "1000").start());
        c.awaitRegistered(Duration.ofSeconds(90));
        RoleProcess filter = c.get(Role.FILTER, 0);
        String health = "http://127.0.0.1:" + filter.ports().admin() + "/health";
        assertThat(LogProbe.get(health).statusCode()).isEqualTo(200);

        LoopAgent.apply(filter.pid(), LoopAgent.Act.SUSPEND, "filter", dir);
        await("/health answers DOWN", Duration.ofSeconds(20), () -> LogProbe.get(health).statusCode() == 503);
        HttpResponse<String> down = LogProbe.get(health);
        assertThat(down.body()).contains("\"status\":\"DOWN\"").contains("loop filter");
        await("the controller drops the hung filter", Duration.ofSeconds(30), () -> listed(c, Role.FILTER).isEmpty());
        assertThat(filter.alive()).isTrue();
        assertThat(Files.readString(filter.log())).contains("heartbeats withheld: loop filter");

        LoopAgent.apply(filter.pid(), LoopAgent.Act.RESUME, "filter", dir);
        await("/health answers UP again", Duration.ofSeconds(20), () -> LogProbe.get(health).statusCode() == 200);
        await("the filter is listed again", Duration.ofSeconds(30),
                () -> listed(c, Role.FILTER).equals(List.of(filter.address())));
        assertThat(Files.readString(filter.log())).contains("heartbeats resume");
    }

    private static List<String> listed(LocalCluster c, Role role) {
        try {
            Map<String, List<String>> live = c.live();
            return live.getOrDefault(LocalCluster.listName(role), List.of());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Polls {@code cond} (an exception counts as false) until it holds. */
    private static void await(String what, Duration timeout, ThrowingCondition cond) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            try {
                if (cond.holds()) {
                    return;
                }
            } catch (Exception e) {
                last = " (last: " + e + ")";
            }
            Thread.sleep(100);
        }
        throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting until " + what + last);
    }

    @FunctionalInterface
    private interface ThrowingCondition {
        boolean holds() throws Exception;
    }
}
