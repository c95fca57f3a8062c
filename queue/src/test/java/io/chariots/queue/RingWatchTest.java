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
        assertThat(watch.desiredRing(layout, false, t0)).containsExactly(SELF, Q2);
        assertThat(watch.desiredRing(layout, false, t0 + 5 * SEC)).containsExactly(SELF, Q2);
        assertThat(watch.desiredRing(layout, false, t0 + 6 * SEC)).containsExactly(SELF);
    }

    private static TokenStatus answer(RingMember q) {
        return TokenStatus.newBuilder().setEpoch(2).setJoined(true).setInstanceId(q.getInstanceId()).build();
    }

    /** The controller drops q2 (late heartbeats) at {@code t0}; this queue then asks it whether it is alive. */
    private void dropQ2AndAsk(long t0) {
        watch.onMembership(viewOf(SELF));
        watch.desiredRing(layout, false, t0);
        watch.pollOutsiders(layout, t0);
    }

    @Test
    void aDroppedMemberThatAnswersTheRingStays() {
        long t0 = 10 * SEC;
        dropQ2AndAsk(t0);
        assertThat(asked).containsExactly(List.of("q2:7000")); // it is asked every second, though the view lacks it
        watch.onStatus(probeIds.get(0), "q2:7000", answer(Q2), 2, t0 + 5 * SEC);
        // Silence counts from its last answer, not from when the view dropped it.
        assertThat(watch.desiredRing(layout, false, t0 + 10 * SEC)).containsExactly(SELF, Q2);
        assertThat(watch.desiredRing(layout, false, t0 + 11 * SEC)).containsExactly(SELF);
    }

    @Test
    void aRefusalBeforeTheViewDroppedItDoesNotCount() {
        watch.onMembership(viewOf(SELF, Q2));
        watch.probeForToken(layout, SEC);
        watch.onNoAnswer(probeIds.get(0), "q2:7000", true, SEC + 1000); // a transient refusal while listed
        watch.onMembership(viewOf(SELF)); // much later, late heartbeats
        assertThat(watch.desiredRing(layout, false, 100 * SEC)).containsExactly(SELF, Q2);
    }

    @Test
    void anotherInstanceAnsweringAtItsAddressMeansItIsGone() {
        watch.onMembership(viewOf(SELF));
        long t0 = 10 * SEC;
        watch.pollOutsiders(layout, t0);
        watch.onStatus(probeIds.get(0), "q2:7000", answer(ring("q2-b", "q2:7000")), 2, t0 + SEC / 10);
        assertThat(watch.desiredRing(layout, false, t0 + SEC / 5)).containsExactly(SELF);
    }

    @Test
    void aNewEpochsRingHasADroppedMemberOnlyIfItAnsweredLately() {
        watch.onMembership(viewOf(SELF));
        long t0 = 10 * SEC;
        assertThat(watch.desiredRing(layout, false, t0)).containsExactly(SELF, Q2);
        assertThat(watch.desiredRing(layout, true, t0)).as("never heard since dropped").containsExactly(SELF);
        watch.pollOutsiders(layout, t0);
        watch.onStatus(probeIds.get(0), "q2:7000", answer(Q2), 2, t0 + SEC / 10);
        assertThat(watch.desiredRing(layout, true, t0 + SEC)).containsExactly(SELF, Q2);
        assertThat(watch.desiredRing(layout, true, t0 + 4 * SEC)).as("not lately").containsExactly(SELF);
    }

    @Test
    void aDroppedMemberThatRefusesIsGoneAtOnce() {
        long t0 = 10 * SEC;
        dropQ2AndAsk(t0);
        watch.onNoAnswer(probeIds.get(0), "q2:7000", true, t0 + SEC / 10);
        assertThat(watch.desiredRing(layout, false, t0 + SEC / 5)).containsExactly(SELF);
    }

    @Test
    void aTokenLossProbeAsksTheDroppedMembersToo() {
        watch.onMembership(viewOf(SELF));
        watch.probeForToken(layout, SEC);
        assertThat(asked).containsExactly(List.of("q2:7000"));
        // q2 holds the token: no loss, whatever the controller thinks.
        watch.onStatus(probeIds.get(0), "q2:7000", answer(Q2).toBuilder().setHolding(true).build(), 2, SEC + 1000);
        assertThat(watch.onProbeDone(probeIds.get(0), SEC + 2000)).isEqualTo(RingWatch.Verdict.HOLDER_FOUND);
    }
}
