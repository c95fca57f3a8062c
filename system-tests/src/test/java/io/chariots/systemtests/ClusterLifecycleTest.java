package io.chariots.systemtests;

import com.fasterxml.jackson.databind.JsonNode;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** Real role JVMs on free 127.0.0.1 ports: registration, failure detection, restart, cleanup. */
class ClusterLifecycleTest {
    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();

    @TempDir
    Path dir;

    final HttpClient http = HttpClient.newHttpClient();

    String get(String url) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("GET %s: %s", url, r.body()).isEqualTo(200);
        return r.body();
    }

    /** Waits until {@code role}'s list in GET / equals {@code expected}. */
    void awaitListed(LocalCluster c, Role role, List<String> expected, Duration within) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        List<String> have = null;
        while (System.nanoTime() < deadline) {
            have = c.registered().get(LocalCluster.listName(role)).stream().sorted().toList();
            if (have.equals(expected.stream().sorted().toList())) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(LocalCluster.listName(role) + ": expected " + expected + " within " + within + ", last saw " + have);
    }

    @Test
    void everyRoleRegistersAndExportsMetrics() throws Exception {
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).batchers(2).queues(2).start());
        c.awaitRegistered(Duration.ofSeconds(60));

        Map<String, List<String>> view = c.registered();
        assertThat(view.keySet()).containsExactly("apps", "batchers", "filters", "queues", "maintainers", "indexers", "remoteBatchers");
        assertThat(view.get("batchers")).containsExactlyInAnyOrder(c.get(Role.BATCHER, 0).address(), c.get(Role.BATCHER, 1).address());
        assertThat(view.get("queues")).hasSize(2);
        assertThat(view.get("remoteBatchers")).isEmpty();

        JsonNode cluster = c.getJson(c.controllerUrl() + "/cluster");
        assertThat(cluster.get("instances")).hasSize(1 + c.all().size() - 1);
        for (JsonNode i : cluster.get("instances")) {
            assertThat(i.get("health").asText()).isEqualTo("live");
            String metrics = get(i.get("metrics").asText());
            assertThat(metrics).as("metrics of %s", i.get("role"))
                    .contains("# TYPE jvm_memory_used_bytes gauge")
                    .contains("role=\"" + i.get("role").asText() + "\"");
            if (!i.get("role").asText().equals("controller")) {
                assertThat(metrics).contains("process_resident_memory_bytes");
                assertThat(get(i.get("health_url").asText())).contains("\"status\":\"UP\"").contains("\"controller\":\"REGISTERED\"");
            }
        }
    }

    @Test
    void killedPausedAndRestartedInstancesAreTrackedAndTheControllerKeepsServing() throws Exception {
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).batchers(2).start());
        c.awaitRegistered(Duration.ofSeconds(60));
        RoleProcess b0 = c.get(Role.BATCHER, 0);
        RoleProcess b1 = c.get(Role.BATCHER, 1);
        RoleProcess queue = c.get(Role.QUEUE, 0);

        c.expectDown(b0, true);
        b0.kill();
        queue.kill();
        awaitListed(c, Role.BATCHER, List.of(b1.address()), Duration.ofSeconds(10));
        awaitListed(c, Role.QUEUE, List.of(), Duration.ofSeconds(10));
        JsonNode cluster = c.getJson(c.controllerUrl() + "/cluster");
        assertThat(cluster.get("instances")).filteredOn(i -> i.get("address").asText().equals(b0.address()))
                .singleElement().satisfies(i -> {
                    assertThat(i.get("health").asText()).isEqualTo("dead");
                    assertThat(i.get("since").asLong()).isPositive();
                });

        // A paused (SIGSTOP) filter stops heartbeating: dropped, then back when resumed.
        RoleProcess filter = c.get(Role.FILTER, 0);
        filter.pause();
        awaitListed(c, Role.FILTER, List.of(), Duration.ofSeconds(10));
        filter.resume();
        awaitListed(c, Role.FILTER, List.of(filter.address()), Duration.ofSeconds(10));

        // Garbage on the controller's ports does not stop it.
        sendGarbage(c.controller().ports().grpc());
        sendGarbage(c.controller().ports().main());
        HttpResponse<String> bad = LogProbe.change(c, "/batcher?host=nonsense");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.body()).contains("host must be host:port");

        b0.restart();
        queue.restart();
        c.expectDown(b0, false);
        c.awaitRegistered(Duration.ofSeconds(30));
        assertThat(c.controller().alive()).isTrue();
        assertThat(c.registered().get("batchers")).containsExactlyInAnyOrder(b0.address(), b1.address());
    }

    @Test
    void goChariotsStyleRegistrationOfAnAddressThatIsNoRoleIsRefused() throws Exception {
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).apps(0).batchers(0).filters(0).queues(0)
                .maintainers(0).indexers(0).start());
        try (java.net.ServerSocket external = new java.net.ServerSocket(0)) {
            String addr = "127.0.0.1:" + external.getLocalPort();
            HttpResponse<String> r = LogProbe.change(c, "/batcher?host=" + addr + "&grpc=" + addr);
            assertThat(r.statusCode()).isEqualTo(400);
            assertThat(r.body()).contains("registration refused").contains("answers as a Chariots batcher");
            assertThat(get(c.controllerUrl() + "/batcher")).isEqualTo("{\"batchers\":[]}");
        }
    }

    static void sendGarbage(int port) throws Exception {
        byte[] junk = new byte[4096];
        ThreadLocalRandom.current().nextBytes(junk);
        try (Socket s = new Socket("127.0.0.1", port)) {
            OutputStream out = s.getOutputStream();
            out.write(junk);
            out.flush();
        } catch (java.io.IOException ignored) {
            // the server may reset us: that is the point
        }
    }
}
