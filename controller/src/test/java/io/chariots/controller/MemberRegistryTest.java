package io.chariots.controller;

import io.chariots.common.config.HostPort;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.Role;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Registry logic with a hand-driven clock: no sockets, no sleeps. */
class MemberRegistryTest {
    static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    static final class Recorder implements MemberRegistry.Subscriber {
        final List<MembershipView> views = new ArrayList<>();
        String rejected;

        @Override
        public void push(MembershipView view) {
            views.add(view);
        }

        @Override
        public void reject(String reason) {
            rejected = reason;
        }

        MembershipView last() {
            return views.get(views.size() - 1);
        }

        List<String> lastAddresses(Role role) {
            return last().getMembersList().stream().filter(m -> m.getRole() == role).map(Member::getAddress).toList();
        }
    }

    final List<String> probes = new ArrayList<>();
    long now = 1_000 * MS;
    long wall = 1_700_000_000_000L;
    MemberRegistry reg;

    @BeforeEach
    void setUp() {
        ControllerConfig cfg = new ControllerConfig(Duration.ofMillis(3000), Duration.ofMillis(1500),
                Duration.ofMillis(1000), Duration.ofMinutes(10));
        reg = new MemberRegistry(cfg, 42, () -> wall, (id, addr) -> probes.add(addr.toString()));
    }

    static Member member(Role role, String id, String address) {
        return Member.newBuilder().setInstanceId(id).setRole(role).setAddress(address).setGrpcAddress(address).build();
    }

    void advance(long ms) {
        now += ms * MS;
        wall += ms;
        reg.poll(now);
    }

    @Test
    void pushesVersionedViewsOnlyToRolesThatNeedTheChange() {
        Recorder filter = new Recorder();
        Recorder indexer = new Recorder();
        Recorder batcher = new Recorder();
        reg.register(member(Role.FILTER, "f1", "127.0.0.1:9010"), filter, now);
        reg.register(member(Role.BATCHER, "b1", "127.0.0.1:9000"), batcher, now);
        reg.register(member(Role.INDEXER, "i1", "127.0.0.1:9040"), indexer, now);
        assertThat(batcher.lastAddresses(Role.FILTER)).containsExactly("127.0.0.1:9010");
        int batcherViews = batcher.views.size();
        int indexerViews = indexer.views.size();

        Recorder q1 = new Recorder();
        reg.register(member(Role.QUEUE, "q1", "127.0.0.1:9020"), q1, now);
        // The filter needs queues; batchers and indexers do not.
        assertThat(filter.lastAddresses(Role.QUEUE)).containsExactly("127.0.0.1:9020");
        assertThat(batcher.views).hasSize(batcherViews);
        assertThat(indexer.views).hasSize(indexerViews);
        // Versions only grow, and every view carries the epoch and the member itself.
        List<Long> versions = filter.views.stream().map(MembershipView::getVersion).toList();
        assertThat(versions).isSorted().doesNotHaveDuplicates();
        assertThat(filter.last().getEpoch()).isEqualTo(42);
        assertThat(q1.last().getSelf().getInstanceId()).isEqualTo("q1");
        assertThat(q1.last().getSelf().getJoinSeq()).isEqualTo(4);
    }

    @Test
    void aKilledMemberIsDroppedAfterTheGracePeriodAndComesBackOnRestart() {
        Recorder filter = new Recorder();
        reg.register(member(Role.FILTER, "f1", "127.0.0.1:9010"), filter, now);
        Recorder q1 = new Recorder();
        Recorder q2 = new Recorder();
        reg.register(member(Role.QUEUE, "q1", "127.0.0.1:9020"), q1, now);
        reg.register(member(Role.QUEUE, "q2", "127.0.0.1:9021"), q2, now);
        assertThat(filter.lastAddresses(Role.QUEUE)).containsExactly("127.0.0.1:9020", "127.0.0.1:9021");

        reg.streamClosed("q1", q1, now);          // SIGKILL: the kernel resets the stream
        advance(1000);
        assertThat(filter.lastAddresses(Role.QUEUE)).as("still within grace").contains("127.0.0.1:9020");
        reg.heartbeat("q2", now);
        reg.heartbeat("f1", now);
        advance(600);
        assertThat(filter.lastAddresses(Role.QUEUE)).containsExactly("127.0.0.1:9021");
        assertThat(reg.entries()).filteredOn(e -> e.member().getInstanceId().equals("q1"))
                .singleElement().satisfies(e -> assertThat(e.health()).isEqualTo(Health.DEAD));

        // Restarted at the same address: a new instance, but the same place in the ring.
        Recorder q1b = new Recorder();
        reg.register(member(Role.QUEUE, "q1-restarted", "127.0.0.1:9020"), q1b, now);
        assertThat(filter.lastAddresses(Role.QUEUE)).containsExactly("127.0.0.1:9020", "127.0.0.1:9021");
        assertThat(q1b.last().getSelf().getJoinSeq()).isEqualTo(2);
        assertThat(reg.entries()).extracting(e -> e.member().getInstanceId()).doesNotContain("q1");
    }

    @Test
    void aSilentMemberIsDeclaredDeadAndRevivesWithItsNextHeartbeat() {
        Recorder app = new Recorder();
        Recorder b = new Recorder();
        reg.register(member(Role.APP, "a", "127.0.0.1:8080"), app, now);
        reg.register(member(Role.BATCHER, "b", "127.0.0.1:9000"), b, now);
        for (int i = 0; i < 7; i++) {
            advance(500);
            reg.heartbeat("a", now);
        }
        // b never heartbeated (paused with SIGSTOP): dead after 3 s.
        assertThat(app.lastAddresses(Role.BATCHER)).isEmpty();
        reg.heartbeat("b", now);
        assertThat(app.lastAddresses(Role.BATCHER)).containsExactly("127.0.0.1:9000");
    }

    @Test
    void aRejoinWithinGraceKeepsTheMemberListed() {
        Recorder filter = new Recorder();
        reg.register(member(Role.FILTER, "f", "127.0.0.1:9010"), filter, now);
        Recorder q = new Recorder();
        reg.register(member(Role.QUEUE, "q", "127.0.0.1:9020"), q, now);
        int views = filter.views.size();
        reg.streamClosed("q", q, now);
        advance(200);
        Recorder q2 = new Recorder();
        reg.register(member(Role.QUEUE, "q", "127.0.0.1:9020"), q2, now);
        advance(2000);
        reg.heartbeat("f", now);
        assertThat(filter.views).as("the filter saw no change").hasSize(views);
        assertThat(filter.lastAddresses(Role.QUEUE)).containsExactly("127.0.0.1:9020");
    }

    @Test
    void rejectsGarbageRegistrationsAndKeepsServing() {
        Recorder bad = new Recorder();
        reg.register(Member.newBuilder().setInstanceId("x").setRole(Role.BATCHER).setAddress("not-an-address").build(), bad, now);
        assertThat(bad.rejected).contains("host:port");
        Recorder bad2 = new Recorder();
        reg.register(Member.newBuilder().setRole(Role.BATCHER).setAddress("h:1").build(), bad2, now);
        assertThat(bad2.rejected).contains("instance_id");
        Recorder bad3 = new Recorder();
        reg.register(Member.newBuilder().setInstanceId("c").setRole(Role.CONTROLLER).setAddress("h:1").build(), bad3, now);
        assertThat(bad3.rejected).contains("cannot register");
        assertThat(reg.entries()).isEmpty();
        Recorder ok = new Recorder();
        reg.register(member(Role.FILTER, "f", "h:9010"), ok, now);
        assertThat(ok.views).hasSize(1);
    }

    @Test
    void membersRegisteredByAddressAreProbedAndDroppedWhenUnreachable() {
        Recorder app = new Recorder();
        reg.register(member(Role.APP, "a", "127.0.0.1:8080"), app, now);
        assertThat(reg.registerByAddress(Role.BATCHER, HostPort.parse("10.0.0.5:9000"), 0, now)).isTrue();
        assertThat(reg.registerByAddress(Role.BATCHER, HostPort.parse("10.0.0.5:9000"), 0, now)).isFalse();
        assertThat(app.lastAddresses(Role.BATCHER)).containsExactly("10.0.0.5:9000");
        advance(1000);
        assertThat(probes).containsExactly("10.0.0.5:9000");
        reg.heartbeat("a", now);
        advance(1000);
        reg.heartbeat("a", now);
        advance(600);
        assertThat(app.lastAddresses(Role.BATCHER)).as("no successful probe for grace + interval").isEmpty();
        String id = reg.entries().stream().filter(e -> e.member().getRole() == Role.BATCHER).findFirst().orElseThrow()
                .member().getInstanceId();
        reg.probeResult(id, true, now);
        assertThat(app.lastAddresses(Role.BATCHER)).containsExactly("10.0.0.5:9000");
        assertThat(reg.unregisterByAddress(Role.BATCHER, HostPort.parse("10.0.0.5:9000"))).isTrue();
        assertThat(reg.listed(EnumSet.of(Role.BATCHER))).isEmpty();
    }

    @Test
    void askedForJoinOrderIsKeptAfterAControllerRestart() {
        Recorder a = new Recorder();
        reg.register(member(Role.QUEUE, "q2", "h:9021").toBuilder().setJoinSeq(7).build(), a, now);
        Recorder b = new Recorder();
        reg.register(member(Role.QUEUE, "q1", "h:9020").toBuilder().setJoinSeq(3).build(), b, now);
        assertThat(b.lastAddresses(Role.QUEUE)).containsExactly("h:9020", "h:9021");
        Recorder c = new Recorder();
        reg.register(member(Role.QUEUE, "q3", "h:9022"), c, now);
        assertThat(c.last().getSelf().getJoinSeq()).isEqualTo(8);
    }
}
