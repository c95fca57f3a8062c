package io.chariots.systemtests;

import io.chariots.common.config.RoleConfig;
import io.chariots.launcher.ChariotsCli;
import io.chariots.launcher.cluster.ClusterStateFile;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.proto.Role;
import io.chariots.testkit.FreePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code chariots up}, {@code status} and {@code down} as a user runs them:
 * default ports, detached processes, nothing left behind.
 */
class UpDownCommandTest {
    @TempDir
    Path dir;

    static List<Integer> defaultPorts() {
        List<Integer> out = new ArrayList<>();
        for (Role r : LocalCluster.ROLES) {
            int p = RoleConfig.defaultPort(r);
            out.add(p);
            out.add(RoleConfig.defaultAdminPort(r, p));
            if (RoleConfig.defaultGrpcPort(r, p) != 0) {
                out.add(RoleConfig.defaultGrpcPort(r, p));
            }
        }
        out.add(9001);
        out.add(9101);
        out.add(10001);
        return out;
    }

    @Test
    void upStartsEveryRoleOnDefaultPortsAndDownLeavesNothingListening() throws Exception {
        for (int p : defaultPorts()) {
            assertThat(FreePorts.listening("127.0.0.1", p)).as("port %d must be free for this test (stop what listens there)", p).isFalse();
        }
        String d = dir.toString();
        int up = ChariotsCli.commandLine().execute("up", "--dir", d, "--batchers", "2");
        try {
            assertThat(up).isZero();
            String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:8081/")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            var view = new com.fasterxml.jackson.databind.ObjectMapper().readTree(body);
            List<String> keys = new ArrayList<>();
            view.fieldNames().forEachRemaining(keys::add);
            assertThat(keys).containsExactly("apps", "batchers", "filters", "queues", "maintainers", "indexers", "remoteBatchers");
            Map<String, List<String>> want = Map.of("apps", List.of("127.0.0.1:8080"),
                    "batchers", List.of("127.0.0.1:9000", "127.0.0.1:9001"), "filters", List.of("127.0.0.1:9010"),
                    "queues", List.of("127.0.0.1:9020"), "maintainers", List.of("127.0.0.1:9030"),
                    "indexers", List.of("127.0.0.1:9040"), "remoteBatchers", List.of());
            want.forEach((k, v) -> {
                List<String> have = new ArrayList<>();
                view.get(k).forEach(n -> have.add(n.asText()));
                assertThat(have).as(k).containsExactlyInAnyOrderElementsOf(v);
            });
            assertThat(Files.exists(dir.resolve("cluster.json"))).isTrue();
            assertThat(Files.list(dir.resolve("logs")).count()).isEqualTo(8);

            StringWriter err = new StringWriter();
            var again = ChariotsCli.commandLine();
            again.setErr(new PrintWriter(err));
            assertThat(again.execute("up", "--dir", d)).as("a second up refuses").isEqualTo(1);
            assertThat(ChariotsCli.commandLine().execute("status", "--dir", d)).isZero();
        } finally {
            assertThat(ChariotsCli.commandLine().execute("down", "--dir", d)).isZero();
        }
        for (int p : defaultPorts()) {
            assertThat(FreePorts.listening("127.0.0.1", p)).as("port %d after down", p).isFalse();
        }
        assertThat(ProcessHandle.allProcesses().filter(h -> ClusterStateFile.commandLine(h.pid())
                .map(c -> c.contains("io.chariots.launcher.ChariotsCli") && c.contains(d)).orElse(false)).count()).isZero();
        assertThat(ChariotsCli.commandLine().execute("status", "--dir", d)).isEqualTo(3);
    }
}
