package io.chariots.queue;

import io.chariots.common.membership.Membership;
import io.chariots.proto.Layout;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.RingMember;
import io.chariots.proto.Role;
import io.chariots.proto.TokenStatus;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** How a queue judges the ring members the controller dropped from its view: by what they answer the ring. */
class RingWatchTest {
    private static final RingMember SELF = ring("q1-a", "q1:7000");
    private static final RingMember Q2 = ring("q2-a", "q2:7000");
    private static final long SEC = TimeUnit.SECONDS.toNanos(1);

    private final List<List<String>> asked = new ArrayList<>();
    private final List<Long> probeIds = new ArrayList<>();
    private final RingWatch watch = new RingWatch(SELF, QueueConfig.defaults(false), (id, qs) -> {
        probeIds.add(id);
        asked.add(qs);
    });
    private final Layout layout = Layout.newBuilder().setEpoch(2).addRing(SELF).addRing(Q2).build();

    private static RingMember ring(String instance, String address) {
        return RingMember.newBuilder().setInstanceId(instance).setAddress(address).build();
    }

    private static Membership viewOf(RingMember... queues) {
        MembershipView.Builder v = MembershipView.newBuilder().setEpoch(1).setVersion(1);
        long seq = 1;
        for (RingMember q : queues) {
            v.addMembers(Member.newBuilder().setRole(Role.QUEUE).setInstanceId(q.getInstanceId())
                    .setGrpcAddress(q.getAddress()).setJoinSeq(seq++));
        }
        return new Membership(v.build());
    }

    @Test
    void aDroppedMemberStaysUntilSilentForTheSilenceTimeout() {
        watch.onMembership(viewOf(SELF)); // the controller missed q2's heartbeats
        long t0 = 10 * SEC;
        assertThat(watch.desiredRing(layout, t0)).containsExactly(SELF, Q2);
        assertThat(watch.desiredRing(layout, t0 + 5 * SEC)).containsExactly(SELF, Q2);
        assertThat(watch.desiredRing(layout, t0 + 6 * SEC)).containsExactly(SELF);
    }

    @Test
    void aDroppedMemberThatAnswersTheRingStays() {
        watch.onMembership(viewOf(SELF));
        long t0 = 10 * SEC;
        watch.desiredRing(layout, t0);
        watch.pollOutsiders(layout, t0);
        assertThat(asked).containsExactly(List.of("q2:7000")); // it is asked every second, though the view lacks it
        watch.onStatus(probeIds.get(0), "q2:7000", TokenStatus.newBuilder().setEpoch(2).setJoined(true).build(), 2, t0 + 7 * SEC);
        assertThat(watch.desiredRing(layout, t0 + 8 * SEC)).containsExactly(SELF, Q2);
    }

    @Test
    void aDroppedMemberThatRefusesIsGoneAtOnce() {
        watch.onMembership(viewOf(SELF));
        long t0 = 10 * SEC;
        watch.desiredRing(layout, t0);
        watch.pollOutsiders(layout, t0);
        watch.onNoAnswer(probeIds.get(0), "q2:7000", true, t0 + SEC / 10);
        assertThat(watch.desiredRing(layout, t0 + SEC / 5)).containsExactly(SELF);
    }

    @Test
    void aTokenLossProbeAsksTheDroppedMembersToo() {
        watch.onMembership(viewOf(SELF));
        watch.probeForToken(layout, SEC);
        assertThat(asked).containsExactly(List.of("q2:7000"));
        // q2 holds the token: no loss, whatever the controller thinks.
        watch.onStatus(probeIds.get(0), "q2:7000", TokenStatus.newBuilder().setEpoch(2).setHolding(true).setJoined(true).build(),
                2, SEC + 1000);
        assertThat(watch.onProbeDone(probeIds.get(0), SEC + 2000)).isEqualTo(RingWatch.Verdict.HOLDER_FOUND);
    }
}
