package io.chariots.systemtests;

import io.chariots.common.record.LogRecord;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A queue's dedup memory across its restarts, on real role JVMs. Stopped
 * cleanly (SIGTERM), it keeps its memory in its data directory and, since
 * nothing was appended meanwhile, lets new ids in without checking each
 * against the id index, while retries of ids it let in before are still
 * found; killed (SIGKILL), it keeps nothing and checks every new id for a
 * window, as it always did. Either way every record is in the log once.
 */
class QueueMemoryAcrossRestartsTest {
    private static final String WHOLE = "its dedup memory is whole";

    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();
    @TempDir
    Path dir;

    private static List<AppendPathTest.Rec> recs(String prefix, int n) {
        List<AppendPathTest.Rec> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new AppendPathTest.Rec(prefix + i, prefix.hashCode() * 31L + i, "k", prefix + i, new long[0]));
        }
        return out;
    }

    /** The queue's count of new ids it checked against the log since it started. */
    private static double checkedIds(LocalCluster c, RoleProcess queue) throws Exception {
        String metrics = LogProbe.get("http://" + queue.host() + ":" + queue.ports().admin() + "/metrics").body();
        return AppendPathTest.metric(metrics, "chariots_queue_checked_ids_total");
    }

    /** The count once it reaches {@code atLeast}, or as it stands after 60 s. */
    private static double awaitCheckedIds(LocalCluster c, RoleProcess queue, double atLeast) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        double n = checkedIds(c, queue);
        while (n < atLeast && System.nanoTime() < deadline) {
            Thread.sleep(200);
            n = checkedIds(c, queue);
        }
        return n;
    }

    private static void awaitLogLine(RoleProcess p, String line, int times) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            String log = Files.readString(p.log());
            if (log.split(java.util.regex.Pattern.quote(line), -1).length - 1 >= times) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError(p + " never logged \"" + line + "\" " + times + " time(s):\n" + p.tail(40));
    }

    @Test
    void aCleanlyStoppedQueueKeepsItsMemoryAndAKilledOneChecksEveryIdAgain() throws Exception {
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).start());
        c.awaitRegistered(Duration.ofSeconds(90));
        RoleProcess queue = c.get(Role.QUEUE, 0);
        Path memory = queue.dataDir().resolve("dedup-memory");
        List<AppendPathTest.Rec> a = recs("a", 300);
        AppendPathTest.sendHttp(c.appUrl(0), a, 50);
        assertThat(LogProbe.awaitStored(c, 300, Duration.ofSeconds(60))).isEqualTo(300);

        // SIGTERM: it leaves the ring, keeps its memory, and finds it whole at its next start.
        assertThat(queue.stop(Duration.ofSeconds(30))).as("%s stopped cleanly", queue).isTrue();
        assertThat(Files.readString(queue.log())).contains("the log ending at LId 300 (");
        assertThat(memory).exists();
        queue.start().awaitServing(Duration.ofSeconds(60));
        awaitLogLine(queue, WHOLE, 1);
        assertThat(memory).as("taken once").doesNotExist();
        List<AppendPathTest.Rec> b = recs("b", 300);
        AppendPathTest.sendHttp(c.appUrl(0), a, 50); // retries of every id it let in before its stop
        AppendPathTest.sendHttp(c.appUrl(0), b, 50);
        assertThat(LogProbe.awaitStored(c, 600, Duration.ofSeconds(60))).isEqualTo(600);
        // The retries add nothing to the log: wait for the queue to have checked them (a batch resent late).
        double checkedAfterCleanStop = awaitCheckedIds(c, queue, 300);
        System.out.println("after a clean stop: " + checkedAfterCleanStop + " ids checked for 300 retries and 300 new ids");
        // Each retry was checked (its memory may have seen it) and found; a new id only where the filter errs.
        assertThat(checkedAfterCleanStop).isBetween(300.0, 310.0);

        // SIGKILL: nothing kept, so every id is checked for a window, retries and new ones alike.
        queue.kill();
        assertThat(memory).doesNotExist();
        queue.start().awaitServing(Duration.ofSeconds(60));
        List<AppendPathTest.Rec> d = recs("d", 300);
        AppendPathTest.sendHttp(c.appUrl(0), b, 50);
        AppendPathTest.sendHttp(c.appUrl(0), d, 50);
        assertThat(LogProbe.awaitStored(c, 900, Duration.ofSeconds(60))).isEqualTo(900);
        assertThat(awaitCheckedIds(c, queue, 600)).as("after a kill, every id checked").isGreaterThanOrEqualTo(600.0);
        assertThat(Files.readString(queue.log()).split(WHOLE, -1).length - 1).as("found whole only after the clean stop")
                .isEqualTo(1);

        LogProbe.WholeLog log = LogProbe.readWholeLog(c);
        Map<String, Long> lidOf = new HashMap<>();
        for (LogRecord r : log.records().values()) {
            assertThat(lidOf.put(r.id(), r.lid())).as("%s appears once", r.id()).isNull();
        }
        Set<String> sent = new HashSet<>();
        for (List<AppendPathTest.Rec> batch : List.of(a, b, d)) {
            batch.forEach(r -> sent.add(r.id()));
        }
        assertThat(lidOf.keySet()).isEqualTo(sent);
    }
}
