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
    void aFailureOneQueueSawHoldsForEveryHolderUntilTheRetryIsDue() {
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
        t = a.update(t, both, Map.of(), 20 * MS);
        assertThat(avoided(t)).containsExactly("m1");

        // Each queue counts from when it first saw the entry: b from 10 ms.
        t = b.update(t, both, Map.of(), RETRY);
        assertThat(avoided(t)).as("not yet due for b").containsExactly("m1");
        t = b.update(t, both, Map.of(), RETRY + 10 * MS);
        assertThat(avoided(t)).as("due: the view lists it, so it is tried again").isEmpty();
        assertThat(a.update(t, both, Map.of(), RETRY + 20 * MS).getAvoidedMaintainersList()).isEmpty();
    }

    @Test
    void aRestartIsTriedAtOnceAndAnUnlistedMaintainerIsNot() {
        AvoidedMaintainers a = new AvoidedMaintainers(RETRY);
        Token t = a.update(Token.getDefaultInstance(), view("m1", "i1", "m2", "i2"), Map.of("m1", "layout refused"), 0);
        // Gone from the view: however long, it stays avoided (desired maintainers leave it out anyway).
        t = a.update(t, view("m2", "i2"), Map.of(), 10 * RETRY);
        assertThat(avoided(t)).containsExactly("m1");
        // Back as a new process: tried at once.
        t = a.update(t, view("m1", "i1-restarted", "m2", "i2"), Map.of(), 10 * RETRY + MS);
        assertThat(avoided(t)).isEmpty();
    }

    @Test
    void aMaintainerStillFailingHereIsNotRetriedAndARestartIsNotAvoidedAgainInTheSameHold() {
        AvoidedMaintainers a = new AvoidedMaintainers(RETRY);
        Membership both = view("m1", "i1", "m2", "i2");
        Token t = a.update(Token.getDefaultInstance(), both, Map.of("m1", "3 store calls failed"), 0);
        t = a.update(t, both, Map.of("m1", "3 store calls failed"), 2 * RETRY);
        assertThat(avoided(t)).as("its stores still fail here").containsExactly("m1");

        // Restarted while this queue's old failure count still stands: tried now, avoided again only if it fails.
        t = a.update(t, view("m1", "i1b", "m2", "i2"), Map.of("m1", "3 store calls failed"), 2 * RETRY + MS);
        assertThat(avoided(t)).isEmpty();
        assertThat(a.last()).isEmpty();
    }

    @Test
    void aTokenThatChangesNothingIsReturnedAsIs() {
        AvoidedMaintainers a = new AvoidedMaintainers(RETRY);
        Token t = Token.newBuilder().setHop(7).build();
        assertThat(a.update(t, view("m1", "i1"), Map.of(), 0)).isSameAs(t);
    }
}
