package io.chariots.controller;

import io.chariots.common.config.HostPort;
import io.chariots.proto.ControllerState;
import io.chariots.proto.KnownMember;
import io.chariots.proto.Layout;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.RingMember;
import io.chariots.proto.Role;
import io.chariots.proto.Stripe;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
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
    final List<ControllerState> saved = new ArrayList<>();
    long now = 1_000 * MS;
    long wall = 1_700_000_000_000L;
    final ControllerConfig cfg = new ControllerConfig(Duration.ofMillis(3000), Duration.ofMillis(1500),
            Duration.ofMillis(1000), Duration.ofMinutes(10), true, Duration.ofMillis(3000));
    MemberRegistry reg;

    @BeforeEach
    void setUp() {
        reg = registry(42);
    }

    MemberRegistry registry(long epoch) {
        return new MemberRegistry(cfg, epoch, () -> wall, (id, addr) -> probes.add(addr.toString()), saved::add);
    }

    /** A new controller at {@code epoch} that restored the newest state the current one saved. */
    MemberRegistry restarted(long epoch) {
        ControllerState last = saved.get(saved.size() - 1);
        MemberRegistry r = registry(epoch);
        r.restore(last, now);
        return r;
    }

    static Layout layout(long epoch, long version) {
        return Layout.newBuilder().setEpoch(epoch).setVersion(version)
                .addStripes(Stripe.newBuilder().setFromLid(1).addMaintainers("127.0.0.1:9030"))
                .addRing(RingMember.newBuilder().setInstanceId("queue-1").setAddress("127.0.0.1:9020")).build();
    }

    MemberEntry entry(MemberRegistry r, String id) {
        List<MemberEntry> found = r.entries().stream().filter(e -> e.member().getInstanceId().equals(id)).toList();
        assertThat(found).as("entries of " + id).hasSize(1);
        return found.get(0);
    }

    static Member member(Role role, String id, String address) {
        return Member.newBuilder().setInstanceId(id).setRole(role).setAddress(address).setGrpcAddress(address).build();
    }

    /** Time goes by for a running controller: it polls at least every second, as its loop does. */
    void advance(long ms) {
        for (long left = ms; left > 0; left -= 500) {
            long step = Math.min(500, left);
            now += step * MS;
            wall += step;
            reg.poll(now);
        }
    }

    /** The controller itself does not run for {@code ms} (a GC pause, a starved machine), then polls. */
    void pauseController(long ms) {
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
        reg.heartbeat("q2", "", now);
        reg.heartbeat("f1", "", now);
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
            reg.heartbeat("a", "", now);
        }
        // b never heartbeated (paused with SIGSTOP): dead after 3 s.
        assertThat(app.lastAddresses(Role.BATCHER)).isEmpty();
        reg.heartbeat("b", "", now);
        assertThat(app.lastAddresses(Role.BATCHER)).containsExactly("127.0.0.1:9000");
    }

    @Test
    void theControllersOwnPauseIsNotHeldAgainstItsMembers() {
        Recorder app = new Recorder();
        reg.register(member(Role.APP, "a", "127.0.0.1:8080"), app, now);
        reg.register(member(Role.BATCHER, "b", "127.0.0.1:9000"), new Recorder(), now);
        advance(500);
        reg.heartbeat("a", "", now);
        reg.heartbeat("b", "", now);
        // The controller does not run for 5 s: nobody could be heard, so nobody is dead.
        pauseController(5000);
        assertThat(reg.pausesForgiven()).isEqualTo(1);
        assertThat(entry(reg, "b").health()).isEqualTo(Health.LIVE);
        assertThat(app.lastAddresses(Role.BATCHER)).containsExactly("127.0.0.1:9000");
        // b really is gone (it never heartbeats again). Its silence counts from the second before the pause (a
        // poll is due every second): 3 s after that, 2 s after the pause — neither forgiven for good nor forgotten.
        for (int i = 0; i < 3; i++) {
            advance(500);
            reg.heartbeat("a", "", now);
        }
        assertThat(entry(reg, "b").health()).as("1.5 s after the pause").isEqualTo(Health.LIVE);
        advance(500);
        reg.heartbeat("a", "", now);
        assertThat(entry(reg, "b").health()).as("2 s after the pause").isEqualTo(Health.DEAD);
        assertThat(entry(reg, "a").health()).isEqualTo(Health.LIVE);
    }

    @Test
    void repeatedPausesStillLetADeadMemberDie() {
        reg.register(member(Role.APP, "a", "127.0.0.1:8080"), new Recorder(), now);
        reg.register(member(Role.BATCHER, "b", "127.0.0.1:9000"), new Recorder(), now);
        advance(500);
        // A starved controller that runs only every 4 s; a keeps heartbeating, b never does again.
        for (int i = 0; i < 4; i++) {
            reg.heartbeat("a", "", now);
            pauseController(4000);
        }
        assertThat(reg.pausesForgiven()).isEqualTo(4);
        assertThat(entry(reg, "a").health()).isEqualTo(Health.LIVE);
        assertThat(entry(reg, "b").health()).as("each pause counts one second of its silence").isEqualTo(Health.DEAD);
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
        reg.heartbeat("f", "", now);
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
        assertThat(reg.registerByAddress(Role.BATCHER, HostPort.parse("10.0.0.5:9000"), null, 0, now)).isTrue();
        assertThat(reg.registerByAddress(Role.BATCHER, HostPort.parse("10.0.0.5:9000"), null, 0, now)).isFalse();
        assertThat(app.lastAddresses(Role.BATCHER)).containsExactly("10.0.0.5:9000");
        advance(1000);
        assertThat(probes).containsExactly("10.0.0.5:9000");
        reg.heartbeat("a", "", now);
        advance(1000);
        reg.heartbeat("a", "", now);
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
    void otherDatacentersBatchersAreNeverProbedNorDroppedAndFollowTheConfigAcrossRestarts() {
        Recorder maintainer = new Recorder();
        reg.register(member(Role.MAINTAINER, "m", "127.0.0.1:9030"), maintainer, now);
        reg.configureRemoteBatchers(List.of(remote(1, "dc1:9000", "dc1:10000"), remote(2, "dc2:9000", "dc2:9500")), now);
        assertThat(reg.registerByAddress(Role.REMOTE_BATCHER, HostPort.parse("dc1b:9000"), HostPort.parse("dc1b:10000"), 1, now))
                .isTrue();
        assertThat(maintainer.lastAddresses(Role.REMOTE_BATCHER)).containsExactly("dc1:9000", "dc2:9000", "dc1b:9000");
        for (int i = 0; i < 20; i++) {
            reg.heartbeat("m", "", now);
            advance(500);
        }
        assertThat(probes).as("another datacenter's batcher is reached by the maintainers' links, not probed").isEmpty();
        assertThat(maintainer.lastAddresses(Role.REMOTE_BATCHER)).containsExactly("dc1:9000", "dc2:9000", "dc1b:9000");

        // The next start's config drops datacenter 2 and moves datacenter 1's gRPC port; the HTTP one stays.
        reg = restarted(43);
        Recorder again = new Recorder();
        reg.register(member(Role.MAINTAINER, "m", "127.0.0.1:9030"), again, now);
        reg.configureRemoteBatchers(List.of(remote(1, "dc1:9000", "dc1:9100")), now);
        Member dc1 = again.last().getMembersList().stream().filter(m -> m.getAddress().equals("dc1:9000")).findFirst()
                .orElseThrow();
        assertThat(dc1.getGrpcAddress()).isEqualTo("dc1:9100");
        assertThat(dc1.getJoinSeq()).as("keeps its join order").isEqualTo(2);
        assertThat(again.lastAddresses(Role.REMOTE_BATCHER)).containsExactly("dc1:9000", "dc1b:9000");
        assertThat(entry(reg, "config-remote_batcher@dc1:9000").source()).isEqualTo(MemberEntry.Source.CONFIG);
        assertThat(reg.unregisterByAddress(Role.REMOTE_BATCHER, HostPort.parse("dc1:9000")))
                .as("a configured one is removed from the config only").isFalse();
        assertThat(reg.unregisterByAddress(Role.REMOTE_BATCHER, HostPort.parse("dc1b:9000"))).isTrue();
        assertThat(again.lastAddresses(Role.REMOTE_BATCHER)).containsExactly("dc1:9000");
    }

    static io.chariots.common.config.RemoteDatacenters.Remote remote(int dc, String address, String grpc) {
        return new io.chariots.common.config.RemoteDatacenters.Remote(dc, HostPort.parse(address), HostPort.parse(grpc), null);
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

    @Test
    void aRestartedRegistryListsEveryoneAtOnceKeepsWhoRejoinsAndDropsWhoDoesNot() {
        reg.register(member(Role.FILTER, "f", "127.0.0.1:9010"), new Recorder(), now);
        reg.register(member(Role.QUEUE, "q1", "127.0.0.1:9020"), new Recorder(), now);
        reg.register(member(Role.QUEUE, "q2", "127.0.0.1:9021"), new Recorder(), now);
        reg.registerByAddress(Role.BATCHER, HostPort.parse("10.0.0.5:9000"), null, 0, now);
        Recorder indexer = new Recorder();
        reg.register(member(Role.INDEXER, "i", "127.0.0.1:9040"), indexer, now);
        reg.streamClosed("i", indexer, now);
        advance(1600);
        assertThat(entry(reg, "i").health()).isEqualTo(Health.DEAD);

        reg = restarted(43);
        probes.clear();
        assertThat(reg.listed(EnumSet.of(Role.QUEUE))).extracting(Member::getInstanceId).containsExactly("q1", "q2");
        assertThat(reg.listed(EnumSet.allOf(Role.class))).extracting(Member::getJoinSeq).containsExactly(1L, 2L, 3L, 4L);
        assertThat(entry(reg, "q2").health()).isEqualTo(Health.SUSPECT);
        assertThat(entry(reg, "q2").awaitingRejoin()).isTrue();
        assertThat(entry(reg, "i").health()).as("the dead stay dead").isEqualTo(Health.DEAD);
        assertThat(entry(reg, "http-batcher@10.0.0.5:9000").awaitingRejoin()).as("nothing to rejoin: probed").isFalse();
        reg.poll(now);
        assertThat(probes).as("probed at once").containsExactly("10.0.0.5:9000");

        // The filter and q1 reconnect (MembershipClient: same instance id, the join_seq it had).
        Recorder filter = new Recorder();
        reg.register(member(Role.FILTER, "f", "127.0.0.1:9010").toBuilder().setJoinSeq(1).build(), filter, now);
        assertThat(filter.last().getEpoch()).isEqualTo(43);
        assertThat(filter.lastAddresses(Role.QUEUE)).as("q2 is listed while it may still rejoin")
                .containsExactly("127.0.0.1:9020", "127.0.0.1:9021");
        reg.register(member(Role.QUEUE, "q1", "127.0.0.1:9020").toBuilder().setJoinSeq(2).build(), new Recorder(), now);
        assertThat(entry(reg, "q1").health()).isEqualTo(Health.LIVE);
        assertThat(entry(reg, "q1").awaitingRejoin()).isFalse();
        assertThat(entry(reg, "q1").member().getJoinSeq()).isEqualTo(2);
        Recorder q3 = new Recorder();
        reg.register(member(Role.QUEUE, "q3", "127.0.0.1:9022"), q3, now);
        assertThat(q3.last().getSelf().getJoinSeq()).as("after the highest restored, the dead included").isEqualTo(6);

        for (int i = 0; i < 8; i++) {
            advance(500);
            reg.heartbeat("f", "", now);
            reg.heartbeat("q1", "", now);
            reg.heartbeat("q3", "", now);
            reg.probeResult("http-batcher@10.0.0.5:9000", true, now);
            if (i == 7) {
                assertThat(filter.lastAddresses(Role.QUEUE)).as("4 s: within member_timeout + grace")
                        .contains("127.0.0.1:9021");
            }
        }
        advance(600);
        assertThat(filter.lastAddresses(Role.QUEUE)).containsExactly("127.0.0.1:9020", "127.0.0.1:9022");
        assertThat(entry(reg, "q2").health()).isEqualTo(Health.DEAD);
        assertThat(entry(reg, "http-batcher@10.0.0.5:9000").health()).isEqualTo(Health.LIVE);
    }

    @Test
    void savesEveryDurableChangeButNotHeartbeats() {
        Recorder q = new Recorder();
        reg.register(member(Role.QUEUE, "q", "127.0.0.1:9020"), q, now);
        int writes = saved.size();
        assertThat(writes).isPositive();
        for (int i = 0; i < 10; i++) {
            advance(100);
            reg.heartbeat("q", "", now);
        }
        assertThat(saved).hasSize(writes);
        reg.streamClosed("q", q, now);
        assertThat(saved).hasSize(writes + 1);
        assertThat(saved.get(writes).getMembers(0).getHealth()).isEqualTo(KnownMember.Health.SUSPECT);
        assertThat(saved.get(writes).getViewEpoch()).isEqualTo(42);
        assertThat(saved.get(writes).getNextJoinSeq()).isEqualTo(2);
    }

    @Test
    void layoutsOnlyMoveForwardAndArePushedToTheRolesThatRouteByThem() {
        Map<Role, Recorder> subs = new EnumMap<>(Role.class);
        int port = 9000;
        for (Role r : EnumSet.of(Role.APP, Role.BATCHER, Role.FILTER, Role.QUEUE, Role.MAINTAINER, Role.INDEXER)) {
            subs.put(r, new Recorder());
            reg.register(member(r, r.name(), "127.0.0.1:" + port++), subs.get(r), now);
        }
        assertThat(subs.get(Role.FILTER).last().hasLayout()).as("no layout yet").isFalse();
        Map<Role, Integer> before = new EnumMap<>(Role.class);
        subs.forEach((r, rec) -> before.put(r, rec.views.size()));

        assertThat(reg.reportLayout(layout(2, 1))).isTrue();
        for (Role r : EnumSet.of(Role.QUEUE, Role.FILTER, Role.APP)) {
            assertThat(subs.get(r).views).as(r + " is pushed the layout").hasSize(before.get(r) + 1);
            assertThat(subs.get(r).last().getLayout()).isEqualTo(layout(2, 1));
        }
        for (Role r : EnumSet.of(Role.BATCHER, Role.MAINTAINER, Role.INDEXER)) {
            assertThat(subs.get(r).views).as(r + " does not need it").hasSize(before.get(r));
        }
        int filterViews = subs.get(Role.FILTER).views.size();
        assertThat(reg.reportLayout(layout(1, 9))).as("older epoch").isFalse();
        assertThat(reg.reportLayout(layout(2, 1))).as("the same again").isFalse();
        assertThat(reg.reportLayout(layout(2, 0))).as("older version").isFalse();
        assertThat(subs.get(Role.FILTER).views).hasSize(filterViews);
        assertThat(reg.reportLayout(layout(2, 2))).isTrue();
        assertThat(reg.reportLayout(layout(-1L, 0))).as("epochs compare unsigned: 2^64-1 is the newest").isTrue();
        assertThat(reg.reportLayout(layout(3, 0))).isFalse();
        assertThat(reg.layout()).isEqualTo(layout(-1L, 0));
        assertThat(saved.get(saved.size() - 1).getLayout()).isEqualTo(layout(-1L, 0));
        assertThat(subs.get(Role.QUEUE).last().getVersion()).as("a layout change is a new version")
                .isGreaterThan(subs.get(Role.QUEUE).views.get(before.get(Role.QUEUE) - 1).getVersion());

        // Whatever a member is pushed later carries the layout, whether or not its role asked for it.
        reg.register(member(Role.INDEXER, "i2", "127.0.0.1:9041"), new Recorder(), now);
        assertThat(subs.get(Role.BATCHER).last().getLayout()).isEqualTo(layout(-1L, 0));

        reg = restarted(43);
        assertThat(reg.layout()).isEqualTo(layout(-1L, 0));
        Recorder filter = new Recorder();
        reg.register(member(Role.FILTER, Role.FILTER.name(), "127.0.0.1:9002"), filter, now);
        assertThat(filter.last().getLayout()).isEqualTo(layout(-1L, 0));
    }
}
