package io.chariots.controller;

import io.chariots.common.config.HostPort;
import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;
import io.chariots.common.membership.Membership;
import io.chariots.common.membership.MembershipClient;
import io.chariots.common.net.NettyTransport;
import io.chariots.proto.Member;
import io.chariots.proto.Role;
import io.chariots.testkit.FreePorts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/** The real Join stream: a controller and membership clients over gRPC on loopback. */
class MembershipStreamTest {
    final NettyTransport transport = new NettyTransport("test", 2);
    final List<AutoCloseable> open = new CopyOnWriteArrayList<>();
    @TempDir
    Path dataDir;

    @AfterEach
    void tearDown() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        transport.close();
    }

    Controller controller(int http, int grpc) throws Exception {
        Controller c = Controller.start(RoleConfig.resolve(Role.CONTROLLER, Settings.of(Map.of("port", http,
                "grpc_port", grpc, "bind", "127.0.0.1", "data_dir", dataDir.toString(), "controller.grace_ms", 300,
                // These members are streams without a server behind them: nothing would answer the identity check.
                "controller.verify_members", false), "test")));
        open.add(c);
        return c;
    }

    MembershipClient client(Role role, String address, int grpc, List<Membership> seen) {
        Member self = Member.newBuilder().setInstanceId(role + "-" + address).setRole(role).setAddress(address)
                .setGrpcAddress(address).build();
        MembershipClient mc = new MembershipClient(new HostPort("127.0.0.1", grpc), self, Duration.ofMillis(100),
                transport, seen::add).start();
        open.add(mc);
        return mc;
    }

    static void await(String what, java.util.function.BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    static Predicate<Membership> lists(Role role, String... addresses) {
        return m -> m.members(role).stream().map(Member::getAddress).toList().equals(List.of(addresses));
    }

    @Test
    void pushesChangesInVersionOrderAndSurvivesAControllerRestart() throws Exception {
        int http = FreePorts.freePort();
        int grpc = FreePorts.freePort();
        Controller c = controller(http, grpc);
        List<Membership> filterViews = new CopyOnWriteArrayList<>();
        MembershipClient filter = client(Role.FILTER, "127.0.0.1:9010", grpc, filterViews);
        MembershipClient q1 = client(Role.QUEUE, "127.0.0.1:9020", grpc, new CopyOnWriteArrayList<>());
        await("q1 in the filter's view", () -> lists(Role.QUEUE, "127.0.0.1:9020").test(filter.current()));
        MembershipClient q2 = client(Role.QUEUE, "127.0.0.1:9021", grpc, new CopyOnWriteArrayList<>());
        await("both queues", () -> lists(Role.QUEUE, "127.0.0.1:9020", "127.0.0.1:9021").test(filter.current()));
        for (int i = 1; i < filterViews.size(); i++) {
            assertThat(filterViews.get(i).isNewerThan(filterViews.get(i - 1))).as("views arrive in version order").isTrue();
        }
        await("q2's own view", () -> q2.current().self().getJoinSeq() != 0);
        long joinSeqOfQ2 = q2.current().self().getJoinSeq();

        q1.close();
        open.remove(q1);
        await("q1 dropped after grace", () -> lists(Role.QUEUE, "127.0.0.1:9021").test(filter.current()));

        // The controller restarts on its data directory: members reconnect and re-register; the new epoch supersedes.
        long oldEpoch = filter.current().epoch();
        c.close();
        open.remove(c);
        Thread.sleep(50);
        controller(http, grpc);
        await("re-registered under a new epoch", () -> filter.current().epoch() > oldEpoch
                && lists(Role.QUEUE, "127.0.0.1:9021").test(filter.current()));
        assertThat(q2.current().self().getJoinSeq()).as("join order kept across the restart").isEqualTo(joinSeqOfQ2);
        assertThat(filter.state()).isEqualTo(MembershipClient.State.REGISTERED);
    }
}
