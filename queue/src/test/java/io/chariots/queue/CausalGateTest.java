package io.chariots.queue;

import io.chariots.proto.RecordEnvelope;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** CausalGate through what it releases, expires, reports and asks to probe. */
class CausalGateTest {
    private static final long TIMEOUT = 5_000_000_000L;
    private static final long T0 = 7_000_000_000_000L;
    private static final long SEED = 0xABCDEF0123456789L;
    private static final long OTHER_SEED = 42;
    // Hashes are unsigned 64-bit: include ones with the top bit set.
    private static final long A = 0x8000_0000_0000_0001L;
    private static final long B = 0xFFFF_FFFF_FFFF_FFFFL;
    private static final long C = 3;

    private final CausalGate gate = new CausalGate(TIMEOUT, 100);

    /** A record from a filter waiting for {@code causes} (tag hashes of its causes). */
    private static RecordEnvelope rec(String id, long seed, long... causes) {
        RecordEnvelope.Builder b = RecordEnvelope.newBuilder().setId(id).setSeed(seed).addTagHash(id.hashCode());
        for (long c : causes) {
            b.addPrehash(c);
        }
        return b.build();
    }

    /** A record this queue gave {@code lid}, carrying {@code tags}. */
    private static RecordEnvelope assignedRec(String id, long seed, long lid, long... tags) {
        RecordEnvelope.Builder b = RecordEnvelope.newBuilder().setId(id).setSeed(seed).setLid(lid);
        for (long t : tags) {
            b.addTagHash(t);
        }
        return b.build();
    }

    private List<String> drainReady() {
        List<String> out = new ArrayList<>();
        for (RecordEnvelope r; (r = gate.pollReady()) != null; ) {
            out.add(r.getId());
        }
        return out;
    }

    @Test
    void aRecordWithoutCausesIsReadyAtOnce() {
        RecordEnvelope r = rec("r", SEED);
        gate.add(r, T0);
        assertThat(gate.readyCount()).isEqualTo(1);
        assertThat(gate.heldCount()).isZero();
        assertThat(gate.unmet()).isEmpty();
        assertThat(gate.drainToProbe()).isEmpty();
        assertThat(gate.pollReady()).isSameAs(r);
        assertThat(gate.pollReady()).isNull();
        assertThat(gate.readyCount()).isZero();
    }

    @Test
    void aRecordWaitsUntilThisQueueAssignsItsCause() {
        RecordEnvelope r = rec("r", SEED, A);
        gate.add(r, T0);
        assertThat(gate.pollReady()).isNull();
        assertThat(gate.readyCount()).isZero();
        assertThat(gate.heldCount()).isEqualTo(1);
        assertThat(gate.unmet()).containsExactly(new CauseKey(A, SEED));
        assertThat(gate.isUnmet(new CauseKey(A, SEED))).isTrue();

        // A record carrying another tag changes nothing.
        gate.assigned(assignedRec("other", SEED, 9, C));
        assertThat(gate.pollReady()).isNull();

        gate.assigned(assignedRec("cause", SEED, 10, C, A));
        assertThat(gate.pollReady()).isSameAs(r);
        assertThat(gate.heldCount()).isZero();
        assertThat(gate.unmet()).isEmpty();
        assertThat(gate.isUnmet(new CauseKey(A, SEED))).isFalse();
    }

    @Test
    void aRecordWaitsUntilItsCauseIsSatisfied() {
        RecordEnvelope r = rec("r", SEED, B);
        gate.add(r, T0);
        gate.satisfy(new CauseKey(A, SEED));
        assertThat(gate.pollReady()).isNull();

        gate.satisfy(new CauseKey(B, SEED));
        assertThat(drainReady()).containsExactly("r");
        assertThat(gate.heldCount()).isZero();
        // Satisfying again releases nothing twice.
        gate.satisfy(new CauseKey(B, SEED));
        assertThat(gate.pollReady()).isNull();
    }

    @Test
    void theSameHashWithAnotherSeedIsAnotherCause() {
        gate.add(rec("r", SEED, A), T0);
        gate.assigned(assignedRec("x", OTHER_SEED, 5, A));
        gate.satisfy(new CauseKey(A, OTHER_SEED));
        gate.satisfy(new CauseKey(SEED, A)); // hash and seed swapped
        assertThat(gate.pollReady()).isNull();
        assertThat(gate.heldCount()).isEqualTo(1);
        // And the record that came with the other seed does not count for later records either.
        gate.add(rec("s", SEED, A), T0);
        assertThat(gate.heldCount()).isEqualTo(2);

        gate.satisfy(new CauseKey(A, SEED));
        assertThat(drainReady()).containsExactly("r", "s");
    }

    @Test
    void aRecordWithSeveralCausesIsReadyOnlyWhenAllAreMet() {
        gate.add(rec("r", SEED, A, B, C), T0);
        assertThat(gate.unmet()).containsExactlyInAnyOrder(new CauseKey(A, SEED), new CauseKey(B, SEED),
                new CauseKey(C, SEED));

        gate.satisfy(new CauseKey(B, SEED));
        assertThat(gate.pollReady()).isNull();
        assertThat(gate.unmet()).containsExactlyInAnyOrder(new CauseKey(A, SEED), new CauseKey(C, SEED));
        gate.assigned(assignedRec("c", SEED, 3, C));
        assertThat(gate.pollReady()).isNull();
        assertThat(gate.heldCount()).isEqualTo(1);

        gate.satisfy(new CauseKey(A, SEED));
        assertThat(drainReady()).containsExactly("r");
        assertThat(gate.unmet()).isEmpty();
    }

    @Test
    void aCauseListedTwiceIsWaitedForOnceAndReleasesTheRecordOnce() {
        gate.add(rec("r", SEED, A, A), T0);
        assertThat(gate.unmet()).containsExactly(new CauseKey(A, SEED));
        assertThat(gate.drainToProbe()).containsExactly(new CauseKey(A, SEED));
        gate.satisfy(new CauseKey(A, SEED));
        assertThat(drainReady()).containsExactly("r");
    }

    @Test
    void recordsReleasedTogetherKeepTheirArrivalOrder() {
        gate.add(rec("r1", SEED, A), T0);
        gate.add(rec("r2", SEED, B, A), T0 + 1);
        gate.add(rec("r3", SEED, A), T0 + 2);
        gate.add(rec("r4", SEED, B), T0 + 3);
        gate.add(rec("r5", SEED, A), T0 + 4);

        gate.satisfy(new CauseKey(B, SEED));
        assertThat(drainReady()).containsExactly("r4");
        gate.satisfy(new CauseKey(A, SEED));
        assertThat(drainReady()).containsExactly("r1", "r2", "r3", "r5");
    }

    @Test
    void readyRecordsLeaveInTheOrderTheyBecameReady() {
        gate.add(rec("waits", SEED, A), T0);
        gate.add(rec("free1", SEED), T0 + 1);
        gate.satisfy(new CauseKey(A, SEED));
        gate.add(rec("free2", SEED), T0 + 2);
        assertThat(gate.readyCount()).isEqualTo(3);
        assertThat(drainReady()).containsExactly("free1", "waits", "free2");
    }

    @Test
    void assigningARecordReleasesTheRecordsThatWaitedForIt() {
        // A chain c1 <- c2 <- c3 that arrived in one burst, c1 waiting for A.
        long t1 = 101;
        long t2 = 102;
        gate.add(rec("c1", SEED, A), T0);
        gate.add(rec("c2", SEED, t1), T0);
        gate.add(rec("c3", SEED, t2), T0);
        gate.satisfy(new CauseKey(A, SEED));
        assertThat(drainReady()).containsExactly("c1");
        gate.assigned(assignedRec("c1", SEED, 1, t1));
        assertThat(drainReady()).containsExactly("c2");
        gate.assigned(assignedRec("c2", SEED, 2, t2));
        assertThat(drainReady()).containsExactly("c3");
        assertThat(gate.heldCount()).isZero();
    }

    @Test
    void aCauseAssignedRecentlyMakesALaterRecordReadyAtOnce() {
        gate.assigned(assignedRec("cause", SEED, 77, A, B));
        assertThat(gate.recentLid(new CauseKey(A, SEED))).isEqualTo(77);
        assertThat(gate.recentLid(new CauseKey(B, SEED))).isEqualTo(77);
        assertThat(gate.recentLid(new CauseKey(A, OTHER_SEED))).isZero();
        assertThat(gate.recentLid(new CauseKey(C, SEED))).isZero();

        gate.add(rec("effect", SEED, A, B), T0);
        assertThat(drainReady()).containsExactly("effect");
        assertThat(gate.heldCount()).isZero();
        assertThat(gate.drainToProbe()).isEmpty();

        // Only the causes not recently assigned are waited for (and probed).
        gate.add(rec("partly", SEED, A, C), T0);
        assertThat(gate.pollReady()).isNull();
        assertThat(gate.unmet()).containsExactly(new CauseKey(C, SEED));
        assertThat(gate.drainToProbe()).containsExactly(new CauseKey(C, SEED));

        // The same hash with another seed is not recent.
        gate.add(rec("otherSeed", OTHER_SEED, A), T0);
        assertThat(gate.heldCount()).isEqualTo(2);
    }

    @Test
    void satisfyingACauseDoesNotMakeItRecent() {
        gate.satisfy(new CauseKey(A, SEED));
        assertThat(gate.recentLid(new CauseKey(A, SEED))).isZero();
        gate.add(rec("r", SEED, A), T0);
        assertThat(gate.heldCount()).isEqualTo(1);
    }

    @Test
    void theRecentMemoryForgetsTheOldestAssignmentsFirst() {
        CausalGate small = new CausalGate(TIMEOUT, 2);
        small.assigned(assignedRec("x1", SEED, 1, A));
        small.assigned(assignedRec("x2", SEED, 2, B));
        small.assigned(assignedRec("x3", SEED, 3, C)); // forgets A
        assertThat(small.recentLid(new CauseKey(A, SEED))).isZero();
        assertThat(small.recentLid(new CauseKey(B, SEED))).isEqualTo(2);
        assertThat(small.recentLid(new CauseKey(C, SEED))).isEqualTo(3);

        small.add(rec("needsC", SEED, C), T0);
        small.add(rec("needsB", SEED, B), T0);
        small.add(rec("needsA", SEED, A), T0);
        assertThat(small.readyCount()).isEqualTo(2);
        assertThat(small.heldCount()).isEqualTo(1);
        assertThat(small.unmet()).containsExactly(new CauseKey(A, SEED));
    }

    @Test
    void drainToProbeReturnsEachNewUnmetCauseOnce() {
        gate.add(rec("r1", SEED, A), T0);
        gate.add(rec("r2", SEED, A, B), T0);
        gate.add(rec("r3", OTHER_SEED, A), T0);
        assertThat(gate.drainToProbe()).containsExactlyInAnyOrder(new CauseKey(A, SEED), new CauseKey(B, SEED),
                new CauseKey(A, OTHER_SEED));
        assertThat(gate.drainToProbe()).isEmpty();

        gate.add(rec("r4", SEED, C), T0);
        assertThat(gate.drainToProbe()).containsExactly(new CauseKey(C, SEED));
        assertThat(gate.drainToProbe()).isEmpty();
        // Still unmet although no longer to be probed.
        assertThat(gate.unmet()).hasSize(4);
    }

    @Test
    void aCauseMetBeforeItWasProbedIsNotProbed() {
        gate.add(rec("r1", SEED, A), T0);
        gate.add(rec("r2", SEED, B), T0);
        gate.satisfy(new CauseKey(A, SEED));
        gate.assigned(assignedRec("b", SEED, 5, B));
        assertThat(gate.drainToProbe()).isEmpty();
    }

    @Test
    void recordsThatWaitedLongerThanTheTimeoutExpireInArrivalOrder() {
        gate.add(rec("r1", SEED, A), T0);
        gate.add(rec("r2", SEED, B, C), T0 + 100);
        gate.add(rec("r3", SEED, A), T0 + 200);
        gate.add(rec("free", SEED), T0 + 250);
        assertThat(gate.nextExpiry()).isEqualTo(T0 + TIMEOUT);

        assertThat(gate.expire(T0 + TIMEOUT - 1)).isEmpty();
        assertThat(gate.heldCount()).isEqualTo(3);

        List<CausalGate.Expired> expired = gate.expire(T0 + TIMEOUT + 150);
        assertThat(expired).extracting(e -> e.record().getId()).containsExactly("r1", "r2");
        assertThat(expired.get(0).missing()).containsExactly(new CauseKey(A, SEED));
        assertThat(expired.get(0).waitedNanos()).isEqualTo(TIMEOUT + 150);
        assertThat(expired.get(1).missing()).containsExactlyInAnyOrder(new CauseKey(B, SEED), new CauseKey(C, SEED));
        assertThat(expired.get(1).waitedNanos()).isEqualTo(TIMEOUT + 50);

        assertThat(gate.heldCount()).isEqualTo(1);
        assertThat(gate.nextExpiry()).isEqualTo(T0 + 200 + TIMEOUT);
        // A is still waited for by r3; B and C by nobody.
        assertThat(gate.unmet()).containsExactly(new CauseKey(A, SEED));
        assertThat(gate.isUnmet(new CauseKey(B, SEED))).isFalse();
        // Nothing expires twice.
        assertThat(gate.expire(T0 + TIMEOUT + 150)).isEmpty();
        // The ready record never expires.
        assertThat(gate.readyCount()).isEqualTo(1);
    }

    @Test
    void anExpiredRecordNamesOnlyTheCausesStillMissing() {
        gate.add(rec("r", SEED, A, B, C), T0);
        gate.satisfy(new CauseKey(B, SEED));
        List<CausalGate.Expired> expired = gate.expire(T0 + TIMEOUT);
        assertThat(expired).hasSize(1);
        assertThat(expired.get(0).record().getId()).isEqualTo("r");
        assertThat(expired.get(0).missing()).containsExactlyInAnyOrder(new CauseKey(A, SEED), new CauseKey(C, SEED));
        assertThat(expired.get(0).waitedNanos()).isEqualTo(TIMEOUT);
    }

    @Test
    void anExpiredRecordIsNotReleasedWhenItsCauseComesLater() {
        gate.add(rec("old", SEED, A), T0);
        gate.add(rec("alsoOld", SEED, B), T0 + 1);
        gate.add(rec("young", SEED, A), T0 + TIMEOUT);
        assertThat(gate.expire(T0 + TIMEOUT + 1)).extracting(e -> e.record().getId())
                .containsExactly("old", "alsoOld");

        gate.assigned(assignedRec("a", SEED, 9, A));
        gate.satisfy(new CauseKey(B, SEED));
        assertThat(drainReady()).containsExactly("young");
        assertThat(gate.heldCount()).isZero();
        assertThat(gate.unmet()).isEmpty();
        assertThat(gate.nextExpiry()).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void expiringAtTheReportedDeadlineExpiresTheOldest() {
        gate.add(rec("r1", SEED, A), T0 + 10);
        gate.add(rec("r2", SEED, A), T0 + 20);
        long deadline = gate.nextExpiry();
        assertThat(gate.expire(deadline - 1)).isEmpty();
        assertThat(gate.expire(deadline)).extracting(e -> e.record().getId()).containsExactly("r1");
        assertThat(gate.nextExpiry()).isGreaterThan(deadline);
        assertThat(gate.expire(gate.nextExpiry())).extracting(e -> e.record().getId()).containsExactly("r2");
        assertThat(gate.nextExpiry()).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void theNextExpiryFollowsTheOldestHeldRecord() {
        assertThat(gate.nextExpiry()).isEqualTo(Long.MAX_VALUE);
        gate.add(rec("free", SEED), T0);
        assertThat(gate.nextExpiry()).isEqualTo(Long.MAX_VALUE);
        gate.add(rec("r1", SEED, A), T0 + 10);
        gate.add(rec("r2", SEED, B), T0 + 20);
        assertThat(gate.nextExpiry()).isEqualTo(T0 + 10 + TIMEOUT);
        gate.satisfy(new CauseKey(A, SEED)); // r1 leaves: r2 is the oldest
        assertThat(gate.nextExpiry()).isEqualTo(T0 + 20 + TIMEOUT);
        gate.satisfy(new CauseKey(B, SEED));
        assertThat(gate.nextExpiry()).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void aCauseOnlyExpiredRecordsWaitedForIsNotProbed() {
        gate.add(rec("r", SEED, A), T0);
        gate.expire(T0 + TIMEOUT);
        assertThat(gate.drainToProbe()).isEmpty();
    }

    @Test
    void heldWithIdsFindsOnlyRecordsStillWaiting() {
        gate.add(rec("a", SEED, A, B), T0);
        gate.add(rec("b", SEED, C), T0 + 5);
        gate.add(rec("c", SEED), T0 + 6); // ready, not held
        gate.satisfy(new CauseKey(B, SEED));

        List<CausalGate.Held> found = gate.heldWithIds(Set.of("a", "c", "nope"));
        assertThat(found).hasSize(1);
        assertThat(found.get(0).record.getId()).isEqualTo("a");
        assertThat(found.get(0).arrivedNanos).isEqualTo(T0);
        assertThat(found.get(0).unmet).containsExactly(new CauseKey(A, SEED));

        assertThat(gate.heldWithIds(Set.of("a", "b"))).extracting(h -> h.record.getId()).containsExactly("a", "b");
        assertThat(gate.heldWithIds(Set.of())).isEmpty();

        gate.satisfy(new CauseKey(A, SEED));
        assertThat(gate.heldWithIds(Set.of("a", "b"))).extracting(h -> h.record.getId()).containsExactly("b");
        gate.expire(T0 + 5 + TIMEOUT);
        assertThat(gate.heldWithIds(Set.of("a", "b"))).isEmpty();
    }

    @Test
    void countsFollowRecordsThroughTheGate() {
        gate.add(rec("r1", SEED, A), T0);
        gate.add(rec("r2", SEED, A, B), T0);
        gate.add(rec("r3", SEED), T0);
        assertThat(gate.readyCount()).isEqualTo(1);
        assertThat(gate.heldCount()).isEqualTo(2);
        assertThat(gate.unmet()).hasSize(2);

        gate.satisfy(new CauseKey(A, SEED));
        assertThat(gate.readyCount()).isEqualTo(2);
        assertThat(gate.heldCount()).isEqualTo(1);
        assertThat(gate.unmet()).containsExactly(new CauseKey(B, SEED));

        assertThat(gate.pollReady().getId()).isEqualTo("r3");
        assertThat(gate.readyCount()).isEqualTo(1);
        gate.satisfy(new CauseKey(B, SEED));
        assertThat(gate.readyCount()).isEqualTo(2);
        assertThat(gate.heldCount()).isZero();
        assertThat(gate.unmet()).isEmpty();
        assertThat(drainReady()).containsExactly("r1", "r2");
        assertThat(gate.readyCount()).isZero();
    }
}
