package io.chariots.controller;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.chariots.common.config.HostPort;
import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;
import io.chariots.common.membership.MembershipClient;
import io.chariots.common.net.NettyTransport;
import io.chariots.common.runtime.RoleRuntime;
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
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A registration enters the views only once its gRPC address answers as the
 * role and instance it claims: a real controller, real role runtimes serving
 * gRPC, and registrations that lie about who they are.
 */
class MemberAdmissionTest {
    static final ObjectMapper JSON = new ObjectMapper();
    final NettyTransport transport = new NettyTransport("test", 2);
    final List<AutoCloseable> open = new CopyOnWriteArrayList<>();
    final HttpClient http = HttpClient.newHttpClient();
    @TempDir
    Path dataDir;
    int httpPort;
    int grpcPort;

    @AfterEach
    void tearDown() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        transport.close();
    }

    void startController() throws Exception {
        httpPort = FreePorts.freePort();
        grpcPort = FreePorts.freePort();
        open.add(Controller.start(RoleConfig.resolve(Role.CONTROLLER, Settings.of(Map.of("port", httpPort,
                "grpc_port", grpcPort, "bind", "127.0.0.1", "data_dir", dataDir.resolve("controller").toString(),
                "controller.grace_ms", 300, "controller.verify_timeout_ms", 1000), "test"))));
    }

    /** A real role process's runtime serving gRPC (Identity among it), registering with {@code controllerGrpc}. */
    RoleRuntime.Handle role(Role role, int controllerHttp, int controllerGrpc) throws Exception {
        int port = FreePorts.freePort();
        RoleRuntime.Handle h = RoleRuntime.launchGrpcRole(RoleConfig.resolve(role, Settings.of(Map.of("port", port,
                "grpc_port", port, "admin_port", 0, "bind", "127.0.0.1", "advertise", "127.0.0.1",
                "controller", "127.0.0.1:" + controllerHttp, "controller_grpc", "127.0.0.1:" + controllerGrpc), "test")));
        open.add(h);
        return h;
    }

    MembershipClient claim(String instanceId, Role role, String address) {
        Member self = Member.newBuilder().setInstanceId(instanceId).setRole(role).setAddress(address)
                .setGrpcAddress(address).build();
        MembershipClient mc = new MembershipClient(new HostPort("127.0.0.1", grpcPort), self, Duration.ofMillis(100),
                transport, m -> { }).start();
        open.add(mc);
        return mc;
    }

    JsonNode get(String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path)).build(),
                HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body());
    }

    HttpResponse<String> post(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    List<String> instanceIds() throws Exception {
        List<String> ids = new ArrayList<>();
        get("/cluster").path("instances").forEach(i -> ids.add(i.path("id").asText()));
        return ids;
    }

    static void await(String what, ThrowingCondition c) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!c.holds()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(50);
        }
    }

    @FunctionalInterface
    interface ThrowingCondition {
        boolean holds() throws Exception;
    }

    @Test
    void aMemberIsListedOnlyWhenItsAddressAnswersAsTheRoleAndInstanceItClaims() throws Exception {
        startController();
        RoleRuntime.Handle filter = role(Role.FILTER, httpPort, grpcPort);
        String address = "127.0.0.1:" + filter.runtime().config().port();
        await("the real filter is listed", () -> get("/filter").path("filters").toString().contains(address));

        // Another instance id at the filter's address (a rogue, or a stale process): refused, the real one stays.
        MembershipClient rogue = claim("filter-rogue", Role.FILTER, address);
        // A queue at the filter's address: refused. A queue where nothing listens: refused.
        MembershipClient wrongRole = claim("queue-x", Role.QUEUE, address);
        MembershipClient nothing = claim("queue-y", Role.QUEUE, "127.0.0.1:" + FreePorts.freePort());
        // A real role that claims the filter's main address with its own gRPC address: the filter still answers
        // there, so it keeps its place.
        RoleRuntime.Handle other = role(Role.FILTER, FreePorts.freePort(), FreePorts.freePort());
        String otherGrpc = "127.0.0.1:" + other.runtime().config().grpcPort();
        MembershipClient squatter = new MembershipClient(new HostPort("127.0.0.1", grpcPort), Member.newBuilder()
                .setInstanceId(other.runtime().instanceId()).setRole(Role.FILTER).setAddress(address)
                .setGrpcAddress(otherGrpc).build(), Duration.ofMillis(100), transport, m -> { }).start();
        open.add(squatter);
        Thread.sleep(2500);
        assertThat(squatter.state()).isEqualTo(MembershipClient.State.CONNECTING);
        assertThat(rogue.state()).isEqualTo(MembershipClient.State.CONNECTING);
        assertThat(wrongRole.state()).isEqualTo(MembershipClient.State.CONNECTING);
        assertThat(nothing.state()).isEqualTo(MembershipClient.State.CONNECTING);
        assertThat(instanceIds()).contains(filter.runtime().instanceId())
                .doesNotContain("filter-rogue", "queue-x", "queue-y", other.runtime().instanceId());
        assertThat(get("/filter").path("filters").toString()).contains(address);
        assertThat(get("/queue").path("queues")).isEmpty();
        String metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        assertThat(metrics).containsPattern("chariots_controller_registrations_refused_total(\\{[^}]*\\})? [1-9]");
    }

    @Test
    void goChariotsStyleRegistrationIsCheckedTooAndNeverEvicts() throws Exception {
        startController();
        // Something listens at the controller's own HTTP port, but it is no queue: refused, saying so.
        HttpResponse<String> notAQueue = post("/queue?host=127.0.0.1:" + httpPort);
        assertThat(notAQueue.statusCode()).isEqualTo(400);
        assertThat(notAQueue.body()).contains("registration refused").contains("127.0.0.1:" + httpPort);
        assertThat(get("/queue").path("queues")).isEmpty();

        // A real filter that did not register itself (its controller is elsewhere): taken, with its gRPC address.
        RoleRuntime.Handle filter = role(Role.FILTER, FreePorts.freePort(), FreePorts.freePort());
        String address = "127.0.0.1:" + filter.runtime().config().port();
        HttpResponse<String> added = post("/filter?host=" + address);
        assertThat(added.statusCode()).as(added.body()).isEqualTo(200);
        assertThat(added.body()).isEqualTo(address + " added\n");
        JsonNode listed = get("/cluster").path("instances");
        boolean withGrpc = false;
        for (JsonNode i : listed) {
            withGrpc |= address.equals(i.path("address").asText()) && address.equals(i.path("grpc").asText());
        }
        assertThat(withGrpc).as("listed with its gRPC address: %s", listed).isTrue();
        assertThat(post("/filter?host=" + address).body()).isEqualTo(address + " already registered\n");
        // As a queue, the same address is refused.
        HttpResponse<String> asQueue = post("/queue?host=" + address);
        assertThat(asQueue.statusCode()).isEqualTo(400);
        assertThat(asQueue.body()).contains("is a filter, not a queue");
    }
}
