package io.chariots.controller;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.chariots.common.config.HostPort;
import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;
import io.chariots.common.membership.MembershipClient;
import io.chariots.common.net.NettyTransport;
import io.chariots.proto.Member;
import io.chariots.proto.Role;
import io.chariots.testkit.FreePorts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Other datacenters' batchers on a real controller: those {@code remote_batchers} names are listed from the start
 * and pushed to maintainers whether or not anything answers at their addresses (the other datacenters are not
 * running here), never dropped by probes, and follow the config across restarts; {@code POST /remote/batcher}
 * takes a gRPC address and refuses datacenters that are not others.
 */
class RemoteBatchersTest {
    static final ObjectMapper JSON = new ObjectMapper();

    final NettyTransport transport = new NettyTransport("test", 2);
    final HttpClient http = HttpClient.newHttpClient();
    final List<AutoCloseable> open = new CopyOnWriteArrayList<>();
    final int httpPort = FreePorts.freePort();
    final int grpcPort = FreePorts.freePort();
    // Ports nothing listens on: the other datacenters are not up.
    final int[] remotePorts = FreePorts.freePorts(3);
    @TempDir
    Path dataDir;
    @TempDir
    Path secrets;

    @AfterEach
    void tearDown() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        transport.close();
    }

    /** Datacenter 0 of 3, with {@code remotes} as its remote_batchers. */
    Controller start(Map<String, Object> remotes) throws Exception {
        Map<String, Object> s = new LinkedHashMap<>(Map.of("port", httpPort, "grpc_port", grpcPort, "bind", "127.0.0.1",
                "data_dir", dataDir.toString(), "controller.grace_ms", 300, "controller.probe_interval_ms", 200,
                // These members are streams without a server behind them: nothing would answer the identity check.
                "controller.verify_members", false, "num_dc", 3, "id", 0));
        s.put("remote_batchers", remotes);
        Controller c = Controller.start(RoleConfig.resolve(Role.CONTROLLER, Settings.of(s, "test")));
        open.add(c);
        return c;
    }

    void stop(AutoCloseable c) throws Exception {
        c.close();
        open.remove(c);
    }

    String remote(int i) {
        return "127.0.0.1:" + remotePorts[i];
    }

    /** The two-datacenter config: dc 1 in the short form, dc 2 in the long one with its own gRPC address and secret. */
    Map<String, Object> configured() throws Exception {
        Path secret = secrets.resolve("dc2_secret");
        Files.writeString(secret, "a-secret-of-datacenter-2-long-enough\n");
        return Map.of("1", remote(0), "2", Map.of("address", remote(1), "grpc", "127.0.0.1:" + remotePorts[2],
                "secret_file", secret.toString()));
    }

    MembershipClient maintainer() {
        Member self = Member.newBuilder().setInstanceId("maintainer-1").setRole(Role.MAINTAINER)
                .setAddress("127.0.0.1:9030").setGrpcAddress("127.0.0.1:9030").build();
        MembershipClient mc = new MembershipClient(new HostPort("127.0.0.1", grpcPort), self, Duration.ofMillis(100),
                transport, m -> { }).start();
        open.add(mc);
        return mc;
    }

    /** The remote batchers a member was pushed, as "DC address grpc". */
    static List<String> remoteBatchersIn(MembershipClient mc) {
        return mc.current().members(Role.REMOTE_BATCHER).stream()
                .map(m -> m.getDatacenter() + " " + m.getAddress() + " " + m.getGrpcAddress()).toList();
    }

    HttpResponse<String> send(String method, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                .timeout(Duration.ofSeconds(10)).method(method, HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    JsonNode get(String path) throws Exception {
        HttpResponse<String> r = send("GET", path);
        assertThat(r.statusCode()).as("GET " + path + ": " + r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    List<String> texts(JsonNode array) {
        return java.util.stream.StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
    }

    /** {@code GET /cluster}'s remote_batcher instances, by address. */
    Map<String, JsonNode> remoteInstances() throws Exception {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (JsonNode i : get("/cluster").get("instances")) {
            if (i.get("role").asText().equals("remote_batcher")) {
                out.put(i.get("address").asText(), i);
            }
        }
        return out;
    }

    static void await(String what, ControllerRestartTest.Check cond) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!cond.holds()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    @Test
    void configuredRemoteBatchersAreListedAndPushedToMaintainersAndNeverProbedAway() throws Exception {
        start(configured());
        JsonNode listed = get("/");
        assertThat(texts(listed.get("remoteBatchers"))).as("GET / at once").containsExactly(remote(0), remote(1));
        assertThat(texts(get("/remote/batcher/2").get("batchers"))).containsExactly(remote(1));

        MembershipClient maintainer = maintainer();
        List<String> expected = List.of("1 " + remote(0) + " 127.0.0.1:" + (remotePorts[0] + 1000),
                "2 " + remote(1) + " 127.0.0.1:" + remotePorts[2]);
        await("the maintainer's view holds both datacenters' batchers", () -> remoteBatchersIn(maintainer).equals(expected));

        // A batcher of this datacenter registered at a dead address is dropped after grace + probe interval...
        int deadLocal = FreePorts.freePort();
        assertThat(send("POST", "/batcher?host=127.0.0.1:" + deadLocal).statusCode()).isEqualTo(200);
        await("the unreachable local batcher dropped", () -> get("/").get("batchers").isEmpty()
                && get("/cluster").toString().contains("\"dead\""));
        // ...while the other datacenters' batchers, which do not answer either, stay listed.
        assertThat(texts(get("/").get("remoteBatchers"))).containsExactly(remote(0), remote(1));
        assertThat(remoteBatchersIn(maintainer)).isEqualTo(expected);
        JsonNode dc2 = remoteInstances().get(remote(1));
        assertThat(dc2.get("datacenter").asInt()).isEqualTo(2);
        assertThat(dc2.get("grpc").asText()).isEqualTo("127.0.0.1:" + remotePorts[2]);
        assertThat(dc2.get("health").asText()).isEqualTo("live");
        assertThat(dc2.get("registeredBy").asText()).isEqualTo("config");
        assertThat(dc2.toString()).as("the secret is never shown").doesNotContain("secret-of");

        HttpResponse<String> delete = send("DELETE", "/remote/batcher?host=" + remote(0));
        assertThat(delete.statusCode()).isEqualTo(409);
        assertThat(delete.body()).contains("remote_batchers");
    }

    @Test
    void postRemoteBatcherTakesAGrpcAddressAndRefusesDatacentersThatAreNotOthers() throws Exception {
        start(Map.of());
        MembershipClient maintainer = maintainer();

        assertThat(send("POST", "/remote/batcher?dc=1&host=10.1.0.5:9000&grpc=10.1.0.5:9500").body()).contains("added");
        assertThat(send("POST", "/remote/batcher?dc=2&host=10.2.0.5:9000").statusCode()).isEqualTo(200);
        assertThat(send("POST", "/remote/batcher?dc=2&host=10.2.0.5:9000").body()).contains("already registered");
        await("pushed to the maintainer", () -> remoteBatchersIn(maintainer).equals(
                List.of("1 10.1.0.5:9000 10.1.0.5:9500", "2 10.2.0.5:9000 10.2.0.5:10000")));
        assertThat(texts(get("/remote/batcher").get("batchers"))).containsExactly("10.1.0.5:9000", "10.2.0.5:9000");

        Map<String, String> refused = new LinkedHashMap<>();
        refused.put("dc=0&host=10.0.0.5:9000", "dc 0 is this datacenter");
        refused.put("dc=3&host=10.3.0.5:9000", "dc 3 does not exist: datacenters are 0..2 (num_dc = 3)");
        refused.put("dc=-1&host=10.3.0.5:9000", "dc -1 does not exist");
        refused.put("dc=one&host=10.1.0.6:9000", "dc must be a datacenter number, got \\\"one\\\"");
        refused.put("host=10.1.0.6:9000", "dc must be a datacenter number, got nothing");
        refused.put("dc=1", "needs host=<host:port>");
        refused.put("dc=1&host=10.1.0.6:9000&grpc=nope", "grpc must be host:port");
        refused.put("dc=1&host=10.1.0.6:65000", "the gRPC port would be 66000");
        for (Map.Entry<String, String> r : refused.entrySet()) {
            HttpResponse<String> answer = send("POST", "/remote/batcher?" + r.getKey());
            assertThat(answer.statusCode()).as(r.getKey() + ": " + answer.body()).isEqualTo(400);
            assertThat(answer.body()).as(r.getKey()).contains(r.getValue());
        }
        HttpResponse<String> conflict = send("POST", "/remote/batcher?dc=2&host=10.1.0.5:9000");
        assertThat(conflict.statusCode()).isEqualTo(409);
        assertThat(conflict.body()).contains("already registered as datacenter 1's batcher with gRPC 10.1.0.5:9500");

        // Not probed: listed well past grace + probe interval although nothing answers at 10.x.
        Thread.sleep(1000);
        assertThat(texts(get("/").get("remoteBatchers"))).containsExactly("10.1.0.5:9000", "10.2.0.5:9000");

        assertThat(send("DELETE", "/remote/batcher?host=10.1.0.5:9000").statusCode()).isEqualTo(200);
        assertThat(send("DELETE", "/remote/batcher?host=10.1.0.5:9000").statusCode()).isEqualTo(404);
        await("the maintainer told", () -> remoteBatchersIn(maintainer).equals(List.of("2 10.2.0.5:9000 10.2.0.5:10000")));
    }

    @Test
    void theConfigDecidesTheConfiguredOnesAtEveryStartAndRegistrationsOverHttpAreKept() throws Exception {
        Controller c = start(configured());
        assertThat(send("POST", "/remote/batcher?dc=1&host=10.1.0.5:9000").statusCode()).isEqualTo(200);
        stop(c);

        // Datacenter 2 is gone from the config, datacenter 1's batcher moved its gRPC port.
        start(Map.of("1", Map.of("address", remote(0), "grpc", "127.0.0.1:" + remotePorts[2])));
        assertThat(texts(get("/").get("remoteBatchers"))).containsExactly(remote(0), "10.1.0.5:9000");
        Map<String, JsonNode> shown = remoteInstances();
        assertThat(shown.get(remote(0)).get("grpc").asText()).isEqualTo("127.0.0.1:" + remotePorts[2]);
        assertThat(shown.get("10.1.0.5:9000").get("registeredBy").asText()).isEqualTo("http");
        MembershipClient maintainer = maintainer();
        await("the maintainer's view", () -> remoteBatchersIn(maintainer).equals(List.of(
                "1 " + remote(0) + " 127.0.0.1:" + remotePorts[2], "1 10.1.0.5:9000 10.1.0.5:10000")));
    }
}
