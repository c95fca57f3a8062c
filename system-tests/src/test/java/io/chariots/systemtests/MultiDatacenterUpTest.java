package io.chariots.systemtests;

import com.fasterxml.jackson.databind.JsonNode;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.MultiDatacenter;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.Role;
import io.chariots.testkit.FreePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two linked datacenters as {@code ./chariots up --dcs 2} runs them, started through the harness
 * ({@link MultiDatacenter}) on free ports: each controller lists the other datacenter's batcher from its start,
 * and each datacenter's maintainer, pushed it in its view, links to it (proving that datacenter's secret), so a
 * record appended in one reaches the other; then every process of both stops.
 */
class MultiDatacenterUpTest {
    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();

    @TempDir
    Path dir;

    @Test
    void eachDatacenterListsTheOthersBatcherAndItsMaintainerLinksToIt() throws Exception {
        MultiDatacenter dcs = clusters.track(MultiDatacenter.spec(2).workDir(dir).start());
        dcs.awaitRegistered(Duration.ofSeconds(180));

        for (int d = 0; d < 2; d++) {
            int other = 1 - d;
            LocalCluster dc = dcs.datacenter(d);
            RoleProcess otherBatcher = dcs.datacenter(other).get(Role.BATCHER, 0);
            String otherGrpc = "127.0.0.1:" + otherBatcher.ports().grpc();
            assertThat(dcs.batcherAddress(other)).isEqualTo(otherBatcher.address());

            assertThat(dc.registered().get("remoteBatchers")).as("datacenter %d's GET /", d)
                    .containsExactly(otherBatcher.address());
            assertThat(dc.registered().get("batchers")).as("its own").containsExactly(dc.get(Role.BATCHER, 0).address());
            JsonNode cluster = dc.getJson(dcs.controllerUrl(d) + "/cluster");
            assertThat(cluster.get("datacenter").asInt()).isEqualTo(d);
            assertThat(cluster.get("numDc").asInt()).isEqualTo(2);
            List<JsonNode> remotes = new ArrayList<>();
            cluster.get("instances").forEach(i -> {
                if (i.get("role").asText().equals("remote_batcher")) {
                    remotes.add(i);
                }
            });
            assertThat(remotes).as("datacenter %d's remote batchers in GET /cluster", d).hasSize(1);
            JsonNode remote = remotes.get(0);
            assertThat(remote.get("datacenter").asInt()).isEqualTo(other);
            assertThat(remote.get("address").asText()).isEqualTo(otherBatcher.address());
            assertThat(remote.get("grpc").asText()).isEqualTo(otherGrpc);
            assertThat(remote.get("health").asText()).isEqualTo("live");
            assertThat(remote.get("registeredBy").asText()).isEqualTo("config");

            // The maintainer was pushed the other datacenter's batcher in its view: it links to it there, proving the
            // other datacenter's secret (the config's secret_file), which that batcher takes.
            RoleProcess maintainer = dc.get(Role.MAINTAINER, 0);
            String health = "http://127.0.0.1:" + maintainer.ports().admin() + "/health";
            JsonNode link = awaitShipping(dc, health, other);
            assertThat(link.get("address").asText()).as("datacenter %d's link to %d", d, other).isEqualTo(otherGrpc);

            assertThat(Files.readString(dc.configFile())).contains("num_dc: 2", "id: " + d,
                    "secret_file: \"" + dcs.secretFile(other).toAbsolutePath() + "\"");
            assertThat(dc.secretFile()).isEqualTo(dir.resolve("dc" + d).resolve("cluster_secret"));
            assertThat(dcs.appUrl(d)).isEqualTo("http://127.0.0.1:" + dc.get(Role.APP, 0).ports().main());
        }

        // A record appended in datacenter 0 reaches datacenter 1's log, with its origin.
        HttpResponse<String> appended = LogProbe.post(dcs.appUrl(0) + "/record?wait=true",
                "{\"id\":\"across-1\",\"tags\":{\"dc\":\"zero\"}}");
        assertThat(appended.statusCode()).as(appended.body()).isEqualTo(200);
        JsonNode arrived = awaitRecord(dcs.datacenter(1), "across-1");
        assertThat(arrived.get("host").asInt()).as("its origin").isZero();

        List<RoleProcess> all = new ArrayList<>();
        dcs.all().forEach(c -> all.addAll(c.all()));
        assertThat(all).hasSize(14);
        dcs.close();
        for (RoleProcess p : all) {
            assertThat(p.alive()).as("%s stopped", p).isFalse();
            assertThat(FreePorts.listening("127.0.0.1", p.ports().main())).as("%s's port free", p).isFalse();
        }
    }

    /** Waits until the maintainer's /health shows its link to datacenter {@code other} shipping, and returns it. */
    private static JsonNode awaitShipping(LocalCluster dc, String healthUrl, int other) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        JsonNode link = null;
        while (System.nanoTime() < deadline) {
            link = dc.getJson(healthUrl).path("replication").path(Integer.toString(other));
            if (link.path("state").asText().equals("SHIPPING")) {
                return link;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("datacenter " + dc.datacenter().id() + "'s maintainer does not ship to datacenter " + other
                + " within 60 s: " + link);
    }

    /** Waits until {@code dc}'s log holds the record {@code id} and returns it. */
    private static JsonNode awaitRecord(LocalCluster dc, String id) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        JsonNode page = null;
        while (System.nanoTime() < deadline) {
            page = dc.getJson(dc.appUrl(0) + "/records?from=1&limit=100");
            for (JsonNode r : page.path("records")) {
                if (id.equals(r.path("id").asText())) {
                    return r;
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("datacenter " + dc.datacenter().id() + "'s log has no " + id + " within 60 s: " + page);
    }
}
