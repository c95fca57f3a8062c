package io.chariots.systemtests;

import com.fasterxml.jackson.databind.JsonNode;
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

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The faults the crash-survival issue found on the old main, each injected
 * into real role processes under acknowledged load, and the whole log read
 * back after: every acknowledged record exactly once at its LId, LIds 1..N
 * each a record or a hole, every effect after its cause. The stalls are
 * printed as measured; the bounds asserted are liveness bounds with room for
 * a slow shared machine, not performance targets (the simulation asserts the
 * 5 s bound in simulated time).
 */
class FaultSituationsTest {
    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();
    @TempDir
    Path dir;

    private LocalCluster start(LocalCluster.Spec spec) throws Exception {
        LocalCluster c = clusters.track(spec.workDir(dir).start());
        c.awaitRegistered(Duration.ofSeconds(90));
        return c;
    }

    private static JsonNode health(LocalCluster c, RoleProcess p) throws Exception {
        return c.getJson("http://" + p.host() + ":" + p.ports().admin() + "/health");
    }

    /** The queue that holds the token now (polled), or the first queue if the token moves too fast to see. */
    private static RoleProcess holder(LocalCluster c) throws Exception {
        for (int i = 0; i < 200; i++) {
            for (RoleProcess q : c.all(Role.QUEUE)) {
                if (q.alive() && health(c, q).path("holding").asBoolean()) {
                    return q;
                }
            }
        }
        System.out.println("no queue was seen holding the token in 200 polls: taking " + c.get(Role.QUEUE, 0));
        return c.get(Role.QUEUE, 0);
    }

    private static List<String> ringMembers(LocalCluster c, RoleProcess q) throws Exception {
        List<String> out = new java.util.ArrayList<>();
        health(c, q).path("ringMembers").forEach(m -> out.add(m.asText()));
        return out;
    }

    private static long recoveries(LocalCluster c) throws Exception {
        long n = 0;
        for (RoleProcess q : c.all(Role.QUEUE)) {
            if (q.alive() && !q.paused()) {
                n += health(c, q).path("recoveries").asLong();
            }
        }
        return n;
    }

    @Test
    void aKilledTokenHolderAndThenAPausedQueueCostSecondsAndLoseNothing() throws Exception {
        // Two apps: each effect enters through the other app than its cause.
        LocalCluster c = start(LocalCluster.spec().queues(2).apps(2));
        try (SteadyLoad load = new SteadyLoad(n -> c.appUrl(n % 2), 6, "kp").start()) {
            load.awaitAcked(300, Duration.ofSeconds(60));

            // kill -9 of the token holder: a new epoch, appends resume without anyone's help.
            RoleProcess victim = holder(c);
            long killedAt = System.nanoTime();
            victim.kill();
            load.awaitMore(300, Duration.ofSeconds(60));
            Duration killStall = load.longestGap(killedAt, System.nanoTime());
            System.out.println("kill -9 of " + victim + " (token holder): appends stalled " + killStall.toMillis() + " ms");
            assertThat(killStall).as("append stall after kill -9 of the token holder").isLessThan(Duration.ofSeconds(20));
            assertThat(recoveries(c)).as("token recoveries counted").isPositive();
            victim.restart().awaitServing(Duration.ofSeconds(60));
            load.awaitMore(300, Duration.ofSeconds(60));

            // SIGSTOP of a queue for 12 s: appends go on while it sleeps (once it is silent for
            // queue.silence_timeout_ms, 6 s), and it gets nothing into the log when it wakes.
            RoleProcess sleeper = holder(c);
            long pausedAt = System.nanoTime();
            sleeper.pause();
            Thread.sleep(12_000);
            long acksWhilePaused = load.acksBetween(pausedAt + Duration.ofSeconds(8).toNanos(), System.nanoTime());
            sleeper.resume();
            load.awaitMore(300, Duration.ofSeconds(60));
            Duration pauseStall = load.longestGap(pausedAt, System.nanoTime());
            System.out.println("SIGSTOP of " + sleeper + " for 12 s: appends stalled " + pauseStall.toMillis()
                    + " ms; " + acksWhilePaused + " appends acknowledged in its last 4 s asleep");
            assertThat(acksWhilePaused).as("appends acknowledged while a queue sleeps").isPositive();
            assertThat(pauseStall).as("a pause costs at most the pause").isLessThan(Duration.ofSeconds(12));

            load.finish(Duration.ofSeconds(90));
            LogProbe.WholeLog log = LogProbe.readWholeLog(c);
            LogProbe.assertKeepsEveryAcknowledgement(log, load);
            System.out.println(load.ackedCount() + " acknowledged, " + load.resends() + " resends, "
                    + log.records().size() + " records and " + log.holes().size() + " holes in the log");
        }
    }

    @Test
    void aQueueStoppedWithSigtermHandsEverythingOnWithoutAHoleAndRejoinsWhenStartedAgain() throws Exception {
        LocalCluster c = start(LocalCluster.spec().queues(3));
        try (SteadyLoad load = new SteadyLoad(c.appUrl(0), 6, "t").start()) {
            load.awaitAcked(300, Duration.ofSeconds(60));
            RoleProcess leaving = c.get(Role.QUEUE, 1);
            long stoppedAt = System.nanoTime();
            assertThat(leaving.stop(Duration.ofSeconds(30))).as("%s drained and exited on SIGTERM", leaving).isTrue();
            load.awaitMore(300, Duration.ofSeconds(60));
            System.out.println("SIGTERM of " + leaving + ": appends stalled "
                    + load.longestGap(stoppedAt, System.nanoTime()).toMillis() + " ms");
            assertThat(leaving.tail(50)).contains("stopped cleanly");

            // Started again at its address, it is taken back into the ring (the epoch that left it out must not
            // keep its address as leaving), and takes its share of the appends again.
            leaving.start().awaitServing(Duration.ofSeconds(60));
            RoleProcess other = c.get(Role.QUEUE, 0);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (System.nanoTime() < deadline && !ringMembers(c, other).contains(leaving.address())) {
                Thread.sleep(200);
            }
            assertThat(ringMembers(c, other)).as("the ring after %s started again", leaving).contains(leaving.address());
            load.awaitMore(300, Duration.ofSeconds(60));
            load.finish(Duration.ofSeconds(90));
            LogProbe.WholeLog log = LogProbe.readWholeLog(c);
            LogProbe.assertKeepsEveryAcknowledgement(log, load);
            assertThat(log.holes()).as("a queue that leaves cleanly leaves no hole").isEmpty();
            LogProbe.assertNoRecoveries(c);
        }
    }

    @Test
    void recoveryWaitsForAMaintainerThatMayHoldLidsAndNamesIt() throws Exception {
        LocalCluster c = start(LocalCluster.spec().maintainers(3));
        long before;
        try (SteadyLoad load = new SteadyLoad(c.appUrl(0), 6, "m").start()) {
            load.awaitAcked(1200, Duration.ofSeconds(90));
            load.finish(Duration.ofSeconds(60));
            before = LogProbe.readWholeLog(c).maxLid();
            LogProbe.assertKeepsEveryAcknowledgement(LogProbe.readWholeLog(c), load);
        }
        RoleProcess queue = c.get(Role.QUEUE, 0);
        RoleProcess missing = c.get(Role.MAINTAINER, 2);
        queue.kill();
        missing.kill();
        queue.restart().awaitServing(Duration.ofSeconds(60));

        // The new epoch must not start after the two present maintainers' LIds: it waits, and says for whom.
        String note = "";
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!note.contains(missing.address()) && System.nanoTime() < deadline) {
            note = health(c, queue).path("recovery").asText();
            Thread.sleep(200);
        }
        System.out.println("queue /health while a maintainer is missing: " + note);
        assertThat(note).as("the queue's /health names the maintainer it waits for").contains(missing.address()).contains("LIds");
        // The controller hears of it with the queue's next heartbeat.
        String listedNote = "";
        deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (!listedNote.contains(missing.address()) && System.nanoTime() < deadline) {
            for (JsonNode i : c.getJson(c.controllerUrl() + "/cluster").get("instances")) {
                if (i.path("address").asText().equals(queue.address())) {
                    listedNote = i.path("note").asText();
                }
            }
            Thread.sleep(200);
        }
        assertThat(listedNote).as("the queue's note in GET /cluster").contains(missing.address());
        assertThat(Files.readString(queue.log())).contains("waits for maintainer " + missing.address());
        HttpResponse<String> r = LogProbe.post(c.appUrl(0) + "/record?wait=true&timeout_ms=2000",
                "{\"id\":\"while-waiting\",\"tags\":{\"k\":\"v\"}}");
        assertThat(r.statusCode()).as("nothing is appended while recovery waits: " + r.body()).isEqualTo(504);

        missing.restart().awaitServing(Duration.ofSeconds(60));
        try (SteadyLoad after = new SteadyLoad(c.appUrl(0), 4, "a").start()) {
            after.awaitAcked(200, Duration.ofSeconds(60));
            after.finish(Duration.ofSeconds(60));
            LogProbe.WholeLog log = LogProbe.readWholeLog(c);
            LogProbe.assertKeepsEveryAcknowledgement(log, after);
            assertThat(after.acked().values()).as("new LIds come after every LId given before").allMatch(lid -> lid > before);
        }
    }

    @Test
    void controllerAndFilterRestartsNeitherStopAppendsNorAppendTwice() throws Exception {
        LocalCluster c = start(LocalCluster.spec().filters(2));
        try (SteadyLoad load = new SteadyLoad(c.appUrl(0), 6, "cf").start()) {
            load.awaitAcked(300, Duration.ofSeconds(60));
            JsonNode listedBefore = c.getJson(c.controllerUrl() + "/");

            // The controller dies: appends go on without it; restarted, it lists the same cluster.
            RoleProcess controller = c.controller();
            controller.kill();
            long downAt = System.nanoTime();
            Thread.sleep(5_000);
            long acksWhileDown = load.acksBetween(downAt, System.nanoTime());
            System.out.println(acksWhileDown + " appends acknowledged in 5 s without a controller");
            assertThat(acksWhileDown).as("appends while the controller is down").isPositive();
            controller.restart().awaitServing(Duration.ofSeconds(60));
            assertThat(c.getJson(c.controllerUrl() + "/")).as("GET / after the restart").isEqualTo(listedBefore);
            c.awaitRegistered(Duration.ofSeconds(30));
            assertThat(c.getJson(c.controllerUrl() + "/")).as("GET / once everyone re-registered").isEqualTo(listedBefore);

            // A filter crashes and comes back; then the number of filters changes (one drains away, then returns).
            RoleProcess f1 = c.get(Role.FILTER, 0);
            f1.kill();
            load.awaitMore(200, Duration.ofSeconds(60));
            f1.restart().awaitServing(Duration.ofSeconds(60));
            RoleProcess f2 = c.get(Role.FILTER, 1);
            assertThat(f2.stop(Duration.ofSeconds(30))).isTrue();
            load.awaitMore(200, Duration.ofSeconds(60));
            f2.restart().awaitServing(Duration.ofSeconds(60));
            load.awaitMore(200, Duration.ofSeconds(60));

            load.finish(Duration.ofSeconds(90));
            LogProbe.WholeLog log = LogProbe.readWholeLog(c);
            LogProbe.assertKeepsEveryAcknowledgement(log, load);
            System.out.println(load.ackedCount() + " acknowledged, " + load.resends() + " resends, "
                    + log.holes().size() + " holes");
            assertThat(List.of(log.holes().size())).as("no queue failed, so no hole").containsExactly(0);
        }
    }
}
