package io.chariots.queue;

import io.chariots.common.membership.Membership;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.Role;
import io.chariots.proto.Token;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class AvoidedMaintainersTest {
    private static final long RETRY = TimeUnit.SECONDS.toNanos(5);
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    private static Membership view(String... addressAndInstance) {
        MembershipView.Builder v = MembershipView.newBuilder().setEpoch(1).setVersion(1);
        for (int i = 0; i < addressAndInstance.length; i += 2) {
            v.addMembers(Member.newBuilder().setRole(Role.MAINTAINER).setGrpcAddress(addressAndInstance[i])
                    .setInstanceId(addressAndInstance[i + 1]).setJoinSeq(i + 1));
        }
        return new Membership(v.build());
    }

    private static java.util.Set<String> avoided(Token t) {
        return AvoidedMaintainers.addresses(t.getAvoidedMaintainersList());
    }

    @Test
    void aFailureOneQueueSawHoldsForEveryHolderUntilAProbeAnswersAfterTheRetryTime() {
        AvoidedMaintainers a = new AvoidedMaintainers(RETRY);
        AvoidedMaintainers b = new AvoidedMaintainers(RETRY);
        Membership both = view("m1", "i1", "m2", "i2");
        Token t = a.update(Token.getDefaultInstance(), both, Map.of("m1", "3 store calls failed"), 0);
        assertThat(avoided(t)).containsExactly("m1");
        assertThat(t.getAvoidedMaintainers(0).getInstanceId()).isEqualTo("i1");
        assertThat(t.getAvoidedMaintainers(0).getReason()).contains("store calls failed");

        // The next holder saw no failure of its own: it keeps m1 out all the same (no restripe back and forth).
        t = b.update(t, both, Map.of(), 10 * MS);
        assertThat(avoided(t)).containsExactly("m1");
        assertThat(b.toProbe()).isEmpty();

        // Each queue counts from when it first saw the entry: b from 10 ms. Due, it is probed (once), not put back.
        t = b.update(t, both, Map.of(), RETRY);
        assertThat(b.toProbe()).as("not yet due for b").isEmpty();
        t = b.update(t, both, Map.of(), RETRY + 10 * MS);
        assertThat(avoided(t)).containsExactly("m1");
        assertThat(b.toProbe()).containsExactly("m1");
        t = b.update(t, both, Map.of(), RETRY + 20 * MS);
        assertThat(b.toProbe()).as("one probe at a time").isEmpty();

        // The probe fails (cut off from the queues, though the controller hears it): still avoided, probed again
        // after a pause (a failing channel fails at once, and every hold looks).
        b.onProbe("m1", false, RETRY + 320 * MS);
        t = b.update(t, both, Map.of(), RETRY + 330 * MS);
        assertThat(avoided(t)).containsExactly("m1");
        assertThat(b.toProbe()).isEmpty();
        t = b.update(t, both, Map.of(), RETRY + 1010 * MS);
        assertThat(b.toProbe()).containsExactly("m1");
        b.onProbe("m1", true, RETRY + 1100 * MS);
        // Its stores failed here meanwhile: that answer no longer counts.
        t = b.update(t, both, Map.of("m1", "3 store calls failed"), RETRY + 1110 * MS);
        t = b.update(t, both, Map.of(), RETRY + 1120 * MS);
        assertThat(avoided(t)).as("the answer came before it failed again").containsExactly("m1");
        t = b.update(t, both, Map.of(), RETRY + 2200 * MS);
        assertThat(b.toProbe()).containsExactly("m1");
        b.onProbe("m1", true, RETRY + 2300 * MS);
        t = b.update(t, both, Map.of(), RETRY + 2310 * MS);
        assertThat(avoided(t)).as("it answers: new stripes may include it").isEmpty();
    }

    @Test
    void anUnlistedMaintainerLeavesTheListAndARestartIsTriedAtOnce() {
        AvoidedMaintainers a = new AvoidedMaintainers(RETRY);
        Token t = a.update(Token.getDefaultInstance(), view("m1", "i1", "m2", "i2"), Map.of("m1", "layout refused"), 0);
        assertThat(avoided(t)).containsExactly("m1");
        // Restarted: a new instance at its address is tried at once, with no probe.
        Token restarted = a.update(t, view("m1", "i1b", "m2", "i2"), Map.of(), MS);
        assertThat(avoided(restarted)).isEmpty();
        // Gone from the view: the view leaves it out of new stripes, so the list need not (it stays small).
        assertThat(avoided(a.update(t, view("m2", "i2"), Map.of(), 2 * MS))).isEmpty();
        // A failure of a maintainer the view does not list adds nothing.
        assertThat(avoided(a.update(Token.getDefaultInstance(), view("m2", "i2"), Map.of("m1", "refused"), 3 * MS))).isEmpty();
    }

    @Test
    void aMaintainerStillFailingHereIsNotProbedAndARestartIsNotAvoidedAgainInTheSameHold() {
        AvoidedMaintainers a = new AvoidedMaintainers(RETRY);
        Membership both = view("m1", "i1", "m2", "i2");
        Token t = a.update(Token.getDefaultInstance(), both, Map.of("m1", "3 store calls failed"), 0);
        t = a.update(t, both, Map.of("m1", "3 store calls failed"), 2 * RETRY);
        assertThat(avoided(t)).as("its stores still fail here").containsExactly("m1");
        assertThat(a.toProbe()).isEmpty();

        // Restarted while this queue's old failure count still stands: tried now, avoided again only if it fails.
        t = a.update(t, view("m1", "i1b", "m2", "i2"), Map.of("m1", "3 store calls failed"), 2 * RETRY + MS);
        assertThat(avoided(t)).isEmpty();
        assertThat(a.last()).isEmpty();
    }

    @Test
    void restartsAreNewInstancesAtAKnownAddress() {
        AvoidedMaintainers a = new AvoidedMaintainers(RETRY);
        assertThat(a.restartedIn(view("m1", "i1", "m2", "i2"))).isEmpty();
        assertThat(a.restartedIn(view("m1", "i1", "m2", "i2"))).isEmpty();
        assertThat(a.restartedIn(view("m1", "i1b", "m2", "i2", "m3", "i3"))).containsExactly("m1");
    }

    @Test
    void aTokenThatChangesNothingIsReturnedAsIs() {
        AvoidedMaintainers a = new AvoidedMaintainers(RETRY);
        Token t = Token.newBuilder().setHop(7).build();
        assertThat(a.update(t, view("m1", "i1"), Map.of(), 0)).isSameAs(t);
    }
}
