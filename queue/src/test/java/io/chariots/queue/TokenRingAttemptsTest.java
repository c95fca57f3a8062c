package io.chariots.queue;

import io.chariots.common.membership.Membership;
import io.chariots.proto.Layout;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.RingMember;
import io.chariots.proto.Role;
import io.chariots.proto.SealReply;
import io.chariots.proto.StoreReply;
import io.chariots.proto.Stripe;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A queue's attempts at a new epoch, driven through {@link TokenRing} with
 * links that record every call: an attempt that aborted without learning a
 * newer epoch is followed by another at the same epoch, which does not take
 * the answers to the first one's calls as its own.
 */
class TokenRingAttemptsTest {
    private record Call(String method, List<Object> args) {
    }

    private static final RingMember SELF = RingMember.newBuilder().setInstanceId("q1#0").setAddress("q1:7000").build();
    private static final String M1 = "m1:7000";
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    // The log before: epoch 0's layout, every LId on m1.
    private static final Layout BEFORE = Layout.newBuilder().setEpoch(0).setVersion(1)
            .addStripes(Stripe.newBuilder().setFromLid(1).addMaintainers(M1)).addRing(SELF).build();

    private final List<Call> calls = new ArrayList<>();
    private final Set<Long> probesAnswered = new HashSet<>();
    private final TokenRing.Links links = (TokenRing.Links) Proxy.newProxyInstance(TokenRing.Links.class.getClassLoader(),
            new Class<?>[] {TokenRing.Links.class}, (proxy, method, args) -> {
                if (method.getDeclaringClass() == Object.class) {
                    return method.getName().equals("equals") ? proxy == args[0] : method.getName().equals("hashCode") ? 0 : "links";
                }
                calls.add(new Call(method.getName(), args == null ? List.of() : Arrays.asList(args)));
                return null;
            });
    private final TokenRing ring;
    private long now = 1_000 * MS;

    TokenRingAttemptsTest() {
        ring = new TokenRing(QueueConfig.defaults(true), SELF, links, new QueueMetrics(new SimpleMeterRegistry()),
                new Random(1), now);
        MembershipView.Builder v = MembershipView.newBuilder().setEpoch(1).setVersion(1);
        v.addMembers(Member.newBuilder().setRole(Role.QUEUE).setInstanceId(SELF.getInstanceId()).setAddress(SELF.getAddress())
                .setGrpcAddress(SELF.getAddress()).setJoinSeq(1));
        v.addMembers(Member.newBuilder().setRole(Role.MAINTAINER).setInstanceId("m1#0").setAddress(M1).setGrpcAddress(M1)
                .setJoinSeq(2));
        ring.onMembership(new Membership(v.build()), now);
    }

    /** Polls (answering token-loss probes: no other queue) until the ring seals m1; returns that seal call. */
    private Call awaitSeal() {
        for (int i = 0; i < 100; i++) {
            now += 50 * MS;
            ring.poll(now);
            for (Call c : List.copyOf(calls)) {
                if (c.method().equals("probeRing") && probesAnswered.add((Long) c.args().get(0))) {
                    ring.onProbeDone((Long) c.args().get(0), now);
                }
                if (c.method().equals("seal")) {
                    calls.clear();
                    return c;
                }
            }
        }
        throw new AssertionError("no seal within 5 s: " + calls);
    }

    private static long attempt(Call c) {
        return (Long) c.args().get(1);
    }

    private static long epoch(Call c) {
        return (Long) c.args().get(2);
    }

    private static SealReply sealedAt(long epoch, long... lids) {
        SealReply.Builder b = SealReply.newBuilder().setSealed(true).setEpoch(epoch).setBy(SELF.getInstanceId())
                .setLayout(BEFORE).setFloor(0);
        for (long l : lids) {
            b.addLids(l).addIds("id-" + l);
        }
        return b.setMaxLid(lids[lids.length - 1]).build();
    }

    private static StoreReply stored() {
        return StoreReply.newBuilder().setStatus(StoreReply.Status.STORED).build();
    }

    @Test
    void anAttemptAbortedWithoutANewerEpochIsFollowedByOneThatIgnoresItsAnswers() {
        Call first = awaitSeal();
        assertThat(epoch(first)).isEqualTo(1);
        ring.onSealed(M1, attempt(first), sealedAt(1, 1, 3), now);
        assertThat(calls).extracting(Call::method, c -> c.args().get(2), c -> c.args().get(3))
                .containsExactly(org.assertj.core.groups.Tuple.tuple("fillHoles", 1L, List.of(2L)));
        calls.clear();
        // LId 2 turns out to be stored after all (a conflict): the attempt ends, having learnt no newer epoch.
        ring.onHolesFilled(M1, attempt(first), StoreReply.newBuilder().setStatus(StoreReply.Status.CONFLICT).addConflicts(2).build(), now);
        assertThat(ring.state()).isEqualTo(TokenRing.State.IDLE);
        assertThat(ring.epoch()).isZero();

        Call second = awaitSeal();
        assertThat(epoch(second)).as("the next attempt starts the same epoch").isEqualTo(1);
        assertThat(attempt(second)).isNotEqualTo(attempt(first));
        // The first attempt's seal, answered again late: not the second's (which would go on to the holes).
        ring.onSealed(M1, attempt(first), sealedAt(1, 1, 2, 3, 5), now);
        assertThat(calls).as("the second attempt still waits for its seal").isEmpty();
        assertThat(ring.state()).isEqualTo(TokenRing.State.RECOVERING);

        ring.onSealed(M1, attempt(second), sealedAt(1, 1, 2, 3, 5), now);
        assertThat(calls).extracting(Call::method, c -> c.args().get(1), c -> c.args().get(3))
                .containsExactly(org.assertj.core.groups.Tuple.tuple("fillHoles", attempt(second), List.of(4L)));
        calls.clear();
        // The first attempt's holes (LId 2), answered late: not the second's (LId 4).
        ring.onHolesFilled(M1, attempt(first), stored(), now);
        assertThat(calls).as("LId 4 has no hole marker yet").isEmpty();

        ring.onHolesFilled(M1, attempt(second), stored(), now);
        assertThat(calls).as("every LId up to 5 is stored: on to the layout").extracting(Call::method)
                .containsExactly("setLayout");
        Layout published = (Layout) calls.get(0).args().get(1);
        assertThat(published.getEpoch()).isEqualTo(1);
        assertThat(published.getStartLid()).isEqualTo(5);
    }
}
