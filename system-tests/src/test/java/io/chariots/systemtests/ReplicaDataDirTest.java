package io.chariots.systemtests;

import com.fasterxml.jackson.databind.JsonNode;
import io.chariots.common.record.LogRecord;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Maintainer replicas as {@code docker-compose --scale maintainer=2} runs them:
 * same port on their own addresses, one volume, one {@code --data-dir
 * /data/flstore-{slot}}. Each must take a directory of its own, and after
 * both are killed and recreated in the other order — so each now opens the
 * other's data — the log must still read back whole and keep growing.
 */
class ReplicaDataDirTest {
    static final RoleProcess.Ports MAINTAINER_PORTS = new RoleProcess.Ports(9030, 9130, 9030);

    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();

    @TempDir
    Path dir;

    @Test
    void maintainerReplicasSharingOneVolumeTakeASlotEachAndKeepTheLogWholeWhenRecreated() throws Exception {
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).maintainers(0).start());
        String pool = dir.resolve("volume").resolve("flstore-{slot}").toString();
        RoleProcess a = c.add(Role.MAINTAINER, "127.0.0.2", MAINTAINER_PORTS, Map.of("--data-dir", pool));
        c.awaitRegistered(Duration.ofSeconds(60));
        RoleProcess b = c.add(Role.MAINTAINER, "127.0.0.3", MAINTAINER_PORTS, Map.of("--data-dir", pool));
        c.awaitRegistered(Duration.ofSeconds(60));
        assertThat(dataDir(c, a)).endsWith("flstore-1");
        assertThat(dataDir(c, b)).endsWith("flstore-2");

        Set<String> sent = new HashSet<>();
        append(c, "first", 3000, sent); // three blocks of 1000 LIds: both maintainers hold some
        assertThat(LogProbe.awaitStored(c, 3000, Duration.ofSeconds(60))).isEqualTo(3000);

        for (RoleProcess m : new RoleProcess[] {a, b}) {
            c.expectDown(m, true);
            m.kill();
        }
        b.restart(); // recreated first: takes slot 1, a's data
        assertThat(awaitDataDir(c, b)).endsWith("flstore-1");
        a.restart();
        assertThat(awaitDataDir(c, a)).endsWith("flstore-2");
        c.expectDown(a, false);
        c.expectDown(b, false);
        c.awaitRegistered(Duration.ofSeconds(60));

        append(c, "second", 2000, sent);
        assertThat(LogProbe.awaitStored(c, 5000, Duration.ofSeconds(60))).isEqualTo(5000);
        TreeMap<Long, LogRecord> log = LogProbe.readLog(c);
        assertThat(log).hasSize(5000);
        assertThat(log.lastKey()).isEqualTo(5000L);
        Set<String> ids = new HashSet<>();
        log.values().forEach(r -> ids.add(r.id()));
        assertThat(ids).isEqualTo(sent);
        JsonNode page = c.getJson(c.appUrl(0) + "/records?from=999&limit=3");
        assertThat(page.get("records")).extracting(r -> r.get("lid").asLong()).containsExactly(999L, 1000L, 1001L);
    }

    /** Appends {@code n} records over HTTP in arrays of 100, each answered only once durable. */
    static void append(LocalCluster c, String prefix, int n, Set<String> sent) throws Exception {
        for (int i = 0; i < n; i += 100) {
            StringBuilder sb = new StringBuilder("[");
            for (int j = i; j < i + 100; j++) {
                String id = prefix + "-" + j;
                sent.add(id);
                sb.append(j > i ? "," : "").append("{\"id\":\"").append(id).append("\",\"tags\":{\"n\":\"").append(j).append("\"}}");
            }
            HttpResponse<String> r = LogProbe.post(c.appUrl(0) + "/record?wait=true", sb.append(']').toString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        }
    }

    static String dataDir(LocalCluster c, RoleProcess m) throws Exception {
        return c.getJson("http://" + m.host() + ":" + m.ports().admin() + "/health").get("dataDir").asText();
    }

    static String awaitDataDir(LocalCluster c, RoleProcess m) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            try {
                return dataDir(c, m);
            } catch (java.io.IOException e) {
                assertThat(m.alive()).as(m + " runs:\n" + m.tail(20)).isTrue();
                assertThat(System.nanoTime()).as(m + " healthy within 60 s").isLessThan(deadline);
                Thread.sleep(100);
            }
        }
    }
}
