package io.chariots.controller;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.chariots.common.config.HostPort;
import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;
import io.chariots.common.membership.MembershipClient;
import io.chariots.common.net.NettyTransport;
import io.chariots.proto.ControllerGrpc;
import io.chariots.proto.Layout;
import io.chariots.proto.Member;
import io.chariots.proto.RingMember;
import io.chariots.proto.Role;
import io.chariots.proto.Stripe;
import io.chariots.testkit.FreePorts;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Real controllers restarted on one data directory, with real membership clients, HTTP and gRPC on loopback. */
class ControllerRestartTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final long MEMBER_TIMEOUT_MS = 2500;
    static final long GRACE_MS = 300;

    final NettyTransport transport = new NettyTransport("test", 2);
    final HttpClient http = HttpClient.newHttpClient();
    final List<AutoCloseable> open = new CopyOnWriteArrayList<>();
    final int httpPort = FreePorts.freePort();
    final int grpcPort = FreePorts.freePort();
    @TempDir
    Path dataDir;

    @AfterEach
    void tearDown() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        transport.close();
    }

    Controller start(LongSupplier wallMillis) throws Exception {
        Controller c = Controller.start(RoleConfig.resolve(Role.CONTROLLER, Settings.of(Map.of("port", httpPort,
                "grpc_port", grpcPort, "bind", "127.0.0.1", "data_dir", dataDir.toString(),
                "controller.member_timeout_ms", MEMBER_TIMEOUT_MS, "controller.grace_ms", GRACE_MS,
                "controller.probe_interval_ms", 200,
                // These members are streams without a server behind them: nothing would answer the identity check.
                "controller.verify_members", false), "test")), wallMillis);
        open.add(c);
        return c;
    }

    Controller start() throws Exception {
        return start(System::currentTimeMillis);
    }

    void stop(AutoCloseable c) throws Exception {
        c.close();
        open.remove(c);
    }

    MembershipClient client(Role role, String address) {
        Member self = Member.newBuilder().setInstanceId(role + "-" + address).setRole(role).setAddress(address)
                .setGrpcAddress(address).build();
        MembershipClient mc = new MembershipClient(new HostPort("127.0.0.1", grpcPort), self, Duration.ofMillis(100),
                transport, m -> { }).start();
        open.add(mc);
        return mc;
    }

    JsonNode get(String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("GET " + path + ": " + r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    void post(String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path)).timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("POST " + path + ": " + r.body()).isEqualTo(200);
    }

    /** The instances of {@code GET /cluster} but the controller itself, by id. */
    Map<String, JsonNode> instances() throws Exception {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (JsonNode i : get("/cluster").get("instances")) {
            if (!i.get("role").asText().equals("controller")) {
                assertThat(out.put(i.get("id").asText(), i)).as("listed once: " + i.get("id")).isNull();
            }
        }
        return out;
    }

    /** The value of a gauge on {@code /metrics}. */
    double metric(String name) throws Exception {
        String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/metrics")).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        for (String line : body.split("\n")) {
            if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError(name + " not on /metrics");
    }

    static void await(String what, Check cond) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!cond.holds()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    interface Check {
        boolean holds() throws Exception;
    }

    static Check lists(MembershipClient mc, Role role, String... addresses) {
        // As a set: the join order of members registering at once is theirs to race for.
        return () -> mc.current().members(role).stream().map(Member::getAddress).sorted().toList()
                .equals(java.util.Arrays.stream(addresses).sorted().toList());
    }

    static Layout layout(long epoch, long version) {
        return Layout.newBuilder().setEpoch(epoch).setVersion(version).setStartLid(1500)
                .addStripes(Stripe.newBuilder().setFromLid(1).addMaintainers("127.0.0.1:9030").addMaintainers("127.0.0.1:9031"))
                .addStripes(Stripe.newBuilder().setFromLid(1501).addMaintainers("127.0.0.1:9031"))
                .addRing(RingMember.newBuilder().setInstanceId("queue-a").setAddress("127.0.0.1:9020"))
                .addRing(RingMember.newBuilder().setInstanceId("queue-b").setAddress("127.0.0.1:9021")).build();
    }

    ControllerGrpc.ControllerBlockingStub controllerStub() {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext().build();
        open.add(() -> ch.shutdownNow().awaitTermination(2, TimeUnit.SECONDS));
        return ControllerGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    @Test
    void aRestartedControllerShowsTheSameClusterAtOnceKeepsWhoRejoinsAndDropsWhoDoesNot() throws Exception {
        Controller c = start();
        ServerSocket batcher = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        open.add(batcher);
        String batcherAddress = "127.0.0.1:" + batcher.getLocalPort();
        post("/batcher?host=" + batcherAddress);
        MembershipClient filter = client(Role.FILTER, "127.0.0.1:9010");
        MembershipClient q1 = client(Role.QUEUE, "127.0.0.1:9020");
        MembershipClient q2 = client(Role.QUEUE, "127.0.0.1:9021");
        await("both queues in the filter's view", lists(filter, Role.QUEUE, "127.0.0.1:9020", "127.0.0.1:9021"));
        JsonNode listedBefore = get("/");
        List<String> orderBefore = new ArrayList<>();
        instances().forEach((id, i) -> orderBefore.add(id + "#" + i.get("joinSeq").asLong()));
        long epochBefore = filter.current().epoch();

        stop(c);
        stop(q2);       // gone while the controller is down: it never says goodbye
        start();

        assertThat(get("/")).as("GET / at once").isEqualTo(listedBefore);
        List<String> orderAfter = new ArrayList<>();
        Map<String, JsonNode> restored = instances();
        restored.forEach((id, i) -> orderAfter.add(id + "#" + i.get("joinSeq").asLong()));
        assertThat(orderAfter).as("the same members in the same join order").isEqualTo(orderBefore);
        JsonNode q2Entry = restored.get("QUEUE-127.0.0.1:9021");
        assertThat(q2Entry.get("health").asText()).isEqualTo("suspect");
        assertThat(q2Entry.path("awaitingRejoin").asBoolean()).isTrue();

        await("q1 and the filter re-registered under the new epoch", () -> filter.current().epoch() > epochBefore
                && q1.current().epoch() > epochBefore
                && instances().get("QUEUE-127.0.0.1:9020").get("health").asText().equals("live"));
        assertThat(instances().get("QUEUE-127.0.0.1:9020").has("awaitingRejoin")).isFalse();

        await("q2 declared dead", () -> instances().get("QUEUE-127.0.0.1:9021").get("health").asText().equals("dead"));
        await("the filter told", lists(filter, Role.QUEUE, "127.0.0.1:9020"));
        JsonNode listedAfter = get("/");
        assertThat(listedAfter.get("queues")).extracting(JsonNode::asText).containsExactly("127.0.0.1:9020");
        assertThat(listedAfter.get("batchers")).as("still reachable, so probed live well past grace + probe interval")
                .extracting(JsonNode::asText).containsExactly(batcherAddress);
        assertThat(instances()).containsOnlyKeys("http-batcher@" + batcherAddress, "FILTER-127.0.0.1:9010",
                "QUEUE-127.0.0.1:9020", "QUEUE-127.0.0.1:9021");
    }

    @Test
    void theViewEpochGrowsWithEveryStartEvenWhenTheClockGoesBack() throws Exception {
        AtomicLong wall = new AtomicLong(System.currentTimeMillis());
        Controller c = start(wall::get);
        MembershipClient filter = client(Role.FILTER, "127.0.0.1:9010");
        await("registered", () -> filter.current().epoch() != 0);
        long first = filter.current().epoch();
        assertThat(first).as("a first start has only the clock").isEqualTo(wall.get());

        // A day back, then back to 1970.
        for (long clock : new long[] {wall.get() - TimeUnit.DAYS.toMillis(1), 0}) {
            stop(c);
            wall.set(clock);
            long before = filter.current().epoch();
            c = start(wall::get);
            await("the filter's views supersede", () -> filter.current().epoch() > before);
            assertThat(filter.current().epoch()).isEqualTo(before + 1);
            assertThat(get("/cluster").get("epoch").asLong()).isEqualTo(before + 1);
        }
        assertThat(filter.state()).isEqualTo(MembershipClient.State.REGISTERED);
    }

    @Test
    void reportedLayoutsAreKeptPushedShownAndSurviveARestart() throws Exception {
        Controller c = start();
        MembershipClient filter = client(Role.FILTER, "127.0.0.1:9010");
        MembershipClient queue = client(Role.QUEUE, "127.0.0.1:9020");
        MembershipClient batcher = client(Role.BATCHER, "127.0.0.1:9000");
        await("registered", () -> filter.current().epoch() != 0 && queue.current().epoch() != 0
                && batcher.current().epoch() != 0);
        ControllerGrpc.ControllerBlockingStub stub = controllerStub();

        assertThat(stub.reportLayout(layout(2, 1)).getAccepted()).isEqualTo(1);
        await("pushed to the filter and the queue", () -> layout(2, 1).equals(filter.current().proto().getLayout())
                && layout(2, 1).equals(queue.current().proto().getLayout()));
        assertThat(batcher.current().proto().hasLayout()).as("batchers are not pushed a layout change").isFalse();
        assertThat(stub.reportLayout(layout(1, 7)).getAccepted()).as("older epoch").isZero();
        assertThat(stub.reportLayout(layout(2, 1)).getAccepted()).as("the same").isZero();
        assertThat(stub.reportLayout(layout(2, 2)).getAccepted()).isEqualTo(1);
        assertThatThrownBy(() -> stub.reportLayout(layout(0, 3))).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
        await("the newer version pushed", () -> layout(2, 2).equals(filter.current().proto().getLayout()));

        JsonNode shown = get("/cluster").get("layout");
        assertThat(shown).isEqualTo(JSON.readTree("""
                {"epoch": 2, "version": 2, "start_lid": 1500,
                 "stripes": [{"from_lid": 1, "maintainers": ["127.0.0.1:9030", "127.0.0.1:9031"]},
                             {"from_lid": 1501, "maintainers": ["127.0.0.1:9031"]}],
                 "ring": [{"instance": "queue-a", "address": "127.0.0.1:9020"},
                          {"instance": "queue-b", "address": "127.0.0.1:9021"}]}"""));
        assertThat(get("/health").get("layoutEpoch").asLong()).isEqualTo(2);
        assertThat(metric("chariots_controller_layout_epoch")).isEqualTo(2);
        assertThat(metric("chariots_controller_view_epoch")).isEqualTo(filter.current().epoch());

        long epochBefore = filter.current().epoch();
        stop(c);
        start();
        assertThat(get("/cluster").get("layout")).as("at once after the restart").isEqualTo(shown);
        await("a re-registered filter gets it under the new epoch", () -> filter.current().epoch() > epochBefore
                && layout(2, 2).equals(filter.current().proto().getLayout()));
        assertThat(controllerStub().reportLayout(layout(2, 2)).getAccepted()).as("already kept").isZero();
    }

    @Test
    void aCorruptOrMissingStateFileStartsEmptyUnderAnEpochThatStillSupersedes() throws Exception {
        Controller c = start();
        MembershipClient filter = client(Role.FILTER, "127.0.0.1:9010");
        MembershipClient queue = client(Role.QUEUE, "127.0.0.1:9020");
        await("registered", () -> filter.current().epoch() != 0 && queue.current().epoch() != 0);
        stop(queue);
        Path state = dataDir.resolve(StateFile.NAME);

        for (String damage : List.of("corrupt", "missing")) {
            long before = filter.current().epoch();
            stop(c);
            if (damage.equals("corrupt")) {
                Files.writeString(state, "not a state file");
            } else {
                Files.delete(state);
            }
            c = start();
            JsonNode listed = get("/");
            assertThat(listed.get("queues")).as(damage + ": the queue is forgotten").isEmpty();
            assertThat(get("/cluster").get("epoch").asLong()).as(damage + ": the clock still supersedes").isGreaterThan(before);
            await(damage + ": the filter takes the new views", () -> filter.current().epoch() > before
                    && filter.state() == MembershipClient.State.REGISTERED);
            await(damage + ": and is listed again", () -> get("/").get("filters").size() == 1);
        }
        assertThat(dataDir.resolve(StateFile.NAME + ".corrupt")).hasContent("not a state file");
    }
}
