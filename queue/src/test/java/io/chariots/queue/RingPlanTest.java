package io.chariots.queue;

import io.chariots.common.membership.Membership;
import io.chariots.proto.Layout;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.RingMember;
import io.chariots.proto.Role;
import io.chariots.proto.Stripe;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class RingPlanTest {
    private static final RingMember SELF = ring("q1-a", "q1:7000");

    private static RingMember ring(String instance, String address) {
        return RingMember.newBuilder().setInstanceId(instance).setAddress(address).build();
    }

    private static Member member(Role role, String instance, String grpc, long joinSeq) {
        return Member.newBuilder().setRole(role).setInstanceId(instance).setGrpcAddress(grpc)
                .setAddress("main-" + grpc).setJoinSeq(joinSeq).build();
    }

    /** A view of these members, listed in reverse: ring order comes from the join order, not the list. */
    private static Membership view(Member... members) {
        MembershipView.Builder v = MembershipView.newBuilder().setEpoch(1).setVersion(3);
        for (int i = members.length - 1; i >= 0; i--) {
            v.addMembers(members[i]);
        }
        return new Membership(v.build());
    }

    private static Layout withRing(RingMember... ring) {
        return Layout.newBuilder().setEpoch(4).addAllRing(List.of(ring)).build();
    }

    private static final Member Q1 = member(Role.QUEUE, "q1-a", "q1:7000", 1);
    private static final Member Q2 = member(Role.QUEUE, "q2-a", "q2:7000", 2);
    private static final Member Q3 = member(Role.QUEUE, "q3-a", "q3:7000", 3);
    private static final Member Q4 = member(Role.QUEUE, "q4-a", "q4:7000", 4);

    private static RingMember asRing(Member m) {
        return ring(m.getInstanceId(), m.getGrpcAddress());
    }

    // ------------------------------------------------------------ desiredRing

    @Test
    void ringMembersStillListedStayInJoinOrder() {
        Layout l = withRing(asRing(Q3), SELF, asRing(Q2));
        List<RingMember> d = RingPlan.desiredRing(view(Q2, Q3, Q1), l, Set.of(), Set.of(), SELF, q -> false);
        assertThat(d).containsExactly(SELF, asRing(Q2), asRing(Q3));
    }

    @Test
    void aRingMemberNoLongerListedIsLeftOutOnceTheRingTakesItForGone() {
        Layout l = withRing(SELF, asRing(Q2), asRing(Q3));
        List<RingMember> d = RingPlan.desiredRing(view(Q1, Q3), l, Set.of(), Set.of(), SELF, q -> false);
        assertThat(d).containsExactly(SELF, asRing(Q3));
    }

    @Test
    void aRingMemberTheControllerDroppedStaysWhileItAnswersTheRing() {
        // The controller missed q2's heartbeats (q2 starved, or the controller paused): q2 still answers the ring.
        Layout l = withRing(SELF, asRing(Q2), asRing(Q3));
        List<RingMember> d = RingPlan.desiredRing(view(Q1, Q3), l, Set.of(), Set.of(), SELF, "q2:7000"::equals);
        assertThat(d).as("in its place: the ring's order does not change").containsExactly(SELF, asRing(Q2), asRing(Q3));
        assertThat(RingPlan.removed(l, d)).isEmpty();
        // Unless it failed to take the token.
        d = RingPlan.desiredRing(view(Q1, Q3), l, Set.of("q2:7000"), Set.of(), SELF, "q2:7000"::equals);
        assertThat(RingPlan.removed(l, d)).containsExactly(asRing(Q2));
    }

    @Test
    void suspectsAreLeftOutEvenIfListedAndAnswering() {
        Layout l = withRing(SELF, asRing(Q2), asRing(Q3));
        List<RingMember> d = RingPlan.desiredRing(view(Q1, Q2, Q3), l, Set.of("q2:7000"), Set.of("q2:7000"), SELF, q -> false);
        assertThat(d).containsExactly(SELF, asRing(Q3));
    }

    @Test
    void outsidersJoinOnlyIfTheyAnswered() {
        Layout l = withRing(SELF, asRing(Q2));
        Membership v = view(Q1, Q2, Q3, Q4);
        assertThat(RingPlan.desiredRing(v, l, Set.of(), Set.of(), SELF, q -> false)).containsExactly(SELF, asRing(Q2));
        assertThat(RingPlan.desiredRing(v, l, Set.of(), Set.of("q4:7000"), SELF, q -> false))
                .containsExactly(SELF, asRing(Q2), asRing(Q4));
        assertThat(RingPlan.desiredRing(v, l, Set.of(), Set.of("q3:7000", "q4:7000"), SELF, q -> false))
                .containsExactly(SELF, asRing(Q2), asRing(Q3), asRing(Q4));
    }

    @Test
    void aRestartedQueueIsAnOutsiderUntilItAnswers() {
        // q2 restarted: same address, new instance.
        Member q2b = member(Role.QUEUE, "q2-b", "q2:7000", 5);
        Layout l = withRing(SELF, asRing(Q2));
        assertThat(RingPlan.desiredRing(view(Q1, q2b), l, Set.of(), Set.of(), SELF, q -> false)).containsExactly(SELF);
        assertThat(RingPlan.desiredRing(view(Q1, q2b), l, Set.of(), Set.of("q2:7000"), SELF, q -> false))
                .containsExactly(SELF, asRing(q2b));
    }

    @Test
    void selfIsAlwaysInTheRing() {
        // Not listed (the view is late): self comes last.
        Layout l = withRing(asRing(Q2));
        assertThat(RingPlan.desiredRing(view(Q2, Q3), l, Set.of(), Set.of("q3:7000"), SELF, q -> false))
                .containsExactly(asRing(Q2), asRing(Q3), SELF);
        // Listed: in its join place, as itself even if the view names another instance at its address.
        Member oldSelf = member(Role.QUEUE, "q1-old", "q1:7000", 1);
        assertThat(RingPlan.desiredRing(view(oldSelf, Q2), l, Set.of("q1:7000"), Set.of(), SELF, q -> false))
                .containsExactly(SELF, asRing(Q2));
        // An empty view and layout: a ring of one.
        assertThat(RingPlan.desiredRing(Membership.NONE, Layout.getDefaultInstance(), Set.of(), Set.of(), SELF, q -> false))
                .containsExactly(SELF);
    }

    @Test
    void queuesWithoutAGrpcAddressAndOtherRolesAreIgnored() {
        Member noGrpc = member(Role.QUEUE, "q9", "", 6);
        Member maintainer = member(Role.MAINTAINER, "m1", "m1:8000", 0);
        Layout l = withRing(SELF);
        assertThat(RingPlan.desiredRing(view(noGrpc, maintainer, Q1), l, Set.of(), Set.of("", "m1:8000"), SELF, q -> false))
                .containsExactly(SELF);
    }

    // ------------------------------------------------------------ removed, added

    @Test
    void removedAndAddedCompareByInstance() {
        Layout l = withRing(SELF, asRing(Q2), asRing(Q3));
        RingMember q2b = ring("q2-b", "q2:7000");
        List<RingMember> desired = List.of(SELF, q2b, asRing(Q4));
        assertThat(RingPlan.removed(l, desired)).containsExactly(asRing(Q2), asRing(Q3));
        assertThat(RingPlan.added(l, desired)).containsExactly(q2b, asRing(Q4));
        assertThat(RingPlan.removed(l, List.of(SELF, asRing(Q2), asRing(Q3)))).isEmpty();
        assertThat(RingPlan.added(l, List.of(SELF, asRing(Q3)))).isEmpty();
        // Only the order differs: nothing to do.
        assertThat(RingPlan.removed(l, List.of(asRing(Q3), SELF, asRing(Q2)))).isEmpty();
        assertThat(RingPlan.added(l, List.of(asRing(Q3), SELF, asRing(Q2)))).isEmpty();
    }

    // ------------------------------------------------------------ maintainers

    @Test
    void desiredMaintainersAreTheViewsInJoinOrderButThoseFailing() {
        Member m1 = member(Role.MAINTAINER, "m1", "m1:8000", 7);
        Member m2 = member(Role.MAINTAINER, "m2", "m2:8000", 3);
        Member m3 = member(Role.MAINTAINER, "m3", "m3:8000", 9);
        Member noGrpc = member(Role.MAINTAINER, "m4", "", 1);
        Membership v = view(m1, m2, m3, noGrpc, Q1);
        assertThat(RingPlan.desiredMaintainers(v, Set.of())).containsExactly("m2:8000", "m1:8000", "m3:8000");
        assertThat(RingPlan.desiredMaintainers(v, Set.of("m1:8000"))).containsExactly("m2:8000", "m3:8000");
        assertThat(RingPlan.desiredMaintainers(Membership.NONE, Set.of())).isEmpty();
    }

    @Test
    void currentMaintainersAreTheNewestStripes() {
        assertThat(RingPlan.currentMaintainers(Layout.getDefaultInstance())).isEmpty();
        Layout l = Layout.newBuilder()
                .addStripes(Stripe.newBuilder().setFromLid(1).addMaintainers("a").addMaintainers("b"))
                .addStripes(Stripe.newBuilder().setFromLid(2001).addMaintainers("c")).build();
        assertThat(RingPlan.currentMaintainers(l)).containsExactly("c");
    }

    // ------------------------------------------------------------ successor

    @Test
    void theSuccessorIsTheNextInRingOrderWrappingAround() {
        List<RingMember> r = List.of(SELF, asRing(Q2), asRing(Q3));
        assertThat(RingPlan.successor(r, "q1:7000")).isEqualTo("q2:7000");
        assertThat(RingPlan.successor(r, "q2:7000")).isEqualTo("q3:7000");
        assertThat(RingPlan.successor(r, "q3:7000")).isEqualTo("q1:7000");
        assertThat(RingPlan.successor(r, "q9:7000")).isNull();
        assertThat(RingPlan.successor(List.of(SELF), "q1:7000")).isNull();
        assertThat(RingPlan.successor(List.of(), "q1:7000")).isNull();
    }
}
