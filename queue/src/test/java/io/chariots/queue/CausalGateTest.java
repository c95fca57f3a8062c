package io.chariots.queue;

import io.chariots.common.testing.CpuBound;
import io.chariots.proto.RecordEnvelope;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** CausalGate through what it releases (with which local dependencies), expires, reports and asks to probe. */
class CausalGateTest {
    private static final long TIMEOUT = 5_000_000_000L;
    private static final long T0 = 7_000_000_000_000L;
    // The real clock runs ahead of the cause clock (an outage was subtracted from the latter).
    private static final long REAL = 9_000_000_000_000L;
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
    private static RecordEnvelope withLid(String id, long seed, long lid, long... tags) {
        RecordEnvelope.Builder b = RecordEnvelope.newBuilder().setId(id).setSeed(seed).setLid(lid);
        for (long t : tags) {
            b.addTagHash(t);
        }
        return b.build();
    }

    private void add(RecordEnvelope r, long causeNow) {
        gate.add(r, causeNow, REAL + causeNow - T0);
    }

    private List<String> drainReady() {
        List<String> out = new ArrayList<>();
        for (CausalGate.Ready r; (r = gate.pollReady()) != null; ) {
            out.add(r.record().getId());
        }
        return out;
    }

    private List<CausalGate.Ready> drain() {
        List<CausalGate.Ready> out = new ArrayList<>();
        for (CausalGate.Ready r; (r = gate.pollReady()) != null; ) {
            out.add(r);
        }
        return out;
    }

    @Test
    void aRecordWithoutCausesIsReadyAtOnceWithoutDependencies() {
        RecordEnvelope r = rec("r", SEED);
        add(r, T0);
        assertThat(gate.readyCount()).isEqualTo(1);
        assertThat(gate.heldCount()).isZero();
        assertThat(gate.unmet()).isEmpty();
        assertThat(gate.drainToProbe()).isEmpty();
        CausalGate.Ready ready = gate.pollReady();
        assertThat(ready.record()).isSameAs(r);
        assertThat(ready.localDeps()).isEmpty();
        assertThat(gate.pollReady()).isNull();
        assertThat(gate.readyCount()).isZero();
    }

    @Test
    void aPrehashOfZeroIsNoCause() {
        add(rec("zero", SEED, 0), T0);
        add(rec("zeroAndA", SEED, 0, A), T0);
        assertThat(drainReady()).containsExactly("zero");
        assertThat(gate.unmet()).containsExactly(new CauseKey(A, SEED));
        assertThat(gate.isUnmet(new CauseKey(0, SEED))).isFalse();
        assertThat(gate.drainToProbe()).containsExactly(new CauseKey(A, SEED));
    }

    @Test
    void aRecordWaitsUntilThisQueueAssignsItsCauseAndCarriesItsLid() {
        RecordEnvelope r = rec("r", SEED, A);
        add(r, T0);
        assertThat(gate.pollReady()).isNull();
        assertThat(gate.heldCount()).isEqualTo(1);
        assertThat(gate.unmet()).containsExactly(new CauseKey(A, SEED));
        assertThat(gate.isUnmet(new CauseKey(A, SEED))).isTrue();

        // A record carrying another tag changes nothing.
        gate.assigned(withLid("other", SEED, 9, C));
        assertThat(gate.pollReady()).isNull();

        gate.assigned(withLid("cause", SEED, 10, C, A));
        CausalGate.Ready ready = gate.pollReady();
        assertThat(ready.record()).isSameAs(r);
        assertThat(ready.localDeps()).containsExactly(10L);
        assertThat(gate.heldCount()).isZero();
        assertThat(gate.unmet()).isEmpty();
        assertThat(gate.isUnmet(new CauseKey(A, SEED))).isFalse();
    }

    @Test
    void anAssignedCauseIsNotRememberedAsStored() {
        gate.assigned(withLid("cause", SEED, 10, A));
        assertThat(gate.recentLid(new CauseKey(A, SEED))).isZero();
        // A record arriving after its cause got an LId, but before it is stored, waits.
        add(rec("late", SEED, A), T0);
        assertThat(gate.pollReady()).isNull();
        assertThat(gate.heldCount()).isEqualTo(1);
        // The store releases it, with nothing left to wait for.
        gate.stored(withLid("cause", SEED, 10, A));
        List<CausalGate.Ready> ready = drain();
        assertThat(ready).hasSize(1);
        assertThat(ready.get(0).record().getId()).isEqualTo("late");
        assertThat(ready.get(0).localDeps()).isEmpty();
    }

    @Test
    void storingACauseReleasesWithoutDependenciesAndMakesThePairRecent() {
        add(rec("r1", SEED, A), T0);
        gate.stored(withLid("cause", SEED, 77, A, B));
        List<CausalGate.Ready> ready = drain();
        assertThat(ready).extracting(x -> x.record().getId()).containsExactly("r1");
        assertThat(ready.get(0).localDeps()).isEmpty();

        assertThat(gate.recentLid(new CauseKey(A, SEED))).isEqualTo(77);
        assertThat(gate.recentLid(new CauseKey(B, SEED))).isEqualTo(77);
        assertThat(gate.recentLid(new CauseKey(A, OTHER_SEED))).isZero();
        assertThat(gate.recentLid(new CauseKey(C, SEED))).isZero();

        // A later record whose causes are recent is ready at once, never probed.
        add(rec("effect", SEED, A, B), T0 + 1);
        assertThat(drainReady()).containsExactly("effect");
        assertThat(gate.drainToProbe()).isEmpty();

        // Only the causes not recently stored are waited for (and probed).
        add(rec("partly", SEED, A, C), T0 + 2);
        assertThat(gate.pollReady()).isNull();
        assertThat(gate.unmet()).containsExactly(new CauseKey(C, SEED));
        assertThat(gate.drainToProbe()).containsExactly(new CauseKey(C, SEED));

        // The same hash with another seed is not recent.
        add(rec("otherSeed", OTHER_SEED, A), T0 + 3);
        assertThat(gate.heldCount()).isEqualTo(2);
    }

    @Test
    void theFirstStoreOfAPairIsTheOneRemembered() {
        gate.stored(withLid("first", SEED, 5, A));
        gate.stored(withLid("second", SEED, 6, A));
        assertThat(gate.recentLid(new CauseKey(A, SEED))).isEqualTo(5);
    }

    @Test
    void aRecordPartlyReleasedByAnAssignmentKeepsThatDependencyWhenTheRestIsStored() {
        add(rec("r", SEED, A, B), T0);
        gate.assigned(withLid("a", SEED, 11, A));
        assertThat(gate.pollReady()).isNull();
        gate.stored(withLid("b", SEED, 5, B));
        List<CausalGate.Ready> ready = drain();
        assertThat(ready).hasSize(1);
        assertThat(ready.get(0).localDeps()).containsExactly(11L);
    }

    @Test
    void twoAssignedCausesAreBothDependencies() {
        add(rec("r", SEED, A, B), T0);
        gate.assigned(withLid("a", SEED, 11, A));
        gate.assigned(withLid("b", SEED, 12, B));
        List<CausalGate.Ready> ready = drain();
        assertThat(ready).hasSize(1);
        assertThat(ready.get(0).localDeps()).containsExactly(11L, 12L);
    }

    @Test
    void aRecordWaitsUntilItsCauseIsSatisfied() {
        add(rec("r", SEED, B), T0);
        gate.satisfy(new CauseKey(A, SEED));
        assertThat(gate.pollReady()).isNull();

        gate.satisfy(new CauseKey(B, SEED));
        List<CausalGate.Ready> ready = drain();
        assertThat(ready).extracting(x -> x.record().getId()).containsExactly("r");
        assertThat(ready.get(0).localDeps()).isEmpty();
        assertThat(gate.heldCount()).isZero();
        // Satisfying again releases nothing twice.
        gate.satisfy(new CauseKey(B, SEED));
        assertThat(gate.pollReady()).isNull();
    }

    @Test
    void satisfyingACauseDoesNotMakeItRecent() {
        gate.satisfy(new CauseKey(A, SEED));
        assertThat(gate.recentLid(new CauseKey(A, SEED))).isZero();
        add(rec("r", SEED, A), T0);
        assertThat(gate.heldCount()).isEqualTo(1);
    }

    @Test
    void theSameHashWithAnotherSeedIsAnotherCause() {
        add(rec("r", SEED, A), T0);
        gate.assigned(withLid("x", OTHER_SEED, 5, A));
        gate.stored(withLid("x", OTHER_SEED, 5, A));
        gate.satisfy(new CauseKey(A, OTHER_SEED));
        gate.satisfy(new CauseKey(SEED, A)); // hash and seed swapped
        assertThat(gate.pollReady()).isNull();
        assertThat(gate.heldCount()).isEqualTo(1);
        // And the record stored with the other seed does not count for later records either.
        add(rec("s", SEED, A), T0);
        assertThat(gate.heldCount()).isEqualTo(2);

        gate.satisfy(new CauseKey(A, SEED));
        assertThat(drainReady()).containsExactly("r", "s");
    }

    @Test
    void aRecordWithSeveralCausesIsReadyOnlyWhenAllAreMet() {
        add(rec("r", SEED, A, B, C), T0);
        assertThat(gate.unmet()).containsExactlyInAnyOrder(new CauseKey(A, SEED), new CauseKey(B, SEED),
                new CauseKey(C, SEED));

        gate.satisfy(new CauseKey(B, SEED));
        assertThat(gate.pollReady()).isNull();
        assertThat(gate.unmet()).containsExactlyInAnyOrder(new CauseKey(A, SEED), new CauseKey(C, SEED));
        gate.assigned(withLid("c", SEED, 3, C));
        assertThat(gate.pollReady()).isNull();
        assertThat(gate.heldCount()).isEqualTo(1);

        gate.satisfy(new CauseKey(A, SEED));
        List<CausalGate.Ready> ready = drain();
        assertThat(ready).extracting(x -> x.record().getId()).containsExactly("r");
        assertThat(ready.get(0).localDeps()).containsExactly(3L);
        assertThat(gate.unmet()).isEmpty();
    }

    @Test
    void aCauseListedTwiceIsWaitedForOnceAndReleasesTheRecordOnce() {
        add(rec("r", SEED, A, A), T0);
        assertThat(gate.unmet()).containsExactly(new CauseKey(A, SEED));
        assertThat(gate.drainToProbe()).containsExactly(new CauseKey(A, SEED));
        gate.satisfy(new CauseKey(A, SEED));
        assertThat(drainReady()).containsExactly("r");
    }

    @Test
    void recordsReleasedTogetherKeepTheirArrivalOrder() {
        add(rec("r1", SEED, A), T0);
        add(rec("r2", SEED, B, A), T0 + 1);
        add(rec("r3", SEED, A), T0 + 2);
        add(rec("r4", SEED, B), T0 + 3);
        add(rec("r5", SEED, A), T0 + 4);

        gate.satisfy(new CauseKey(B, SEED));
        assertThat(drainReady()).containsExactly("r4");
        gate.satisfy(new CauseKey(A, SEED));
        assertThat(drainReady()).containsExactly("r1", "r2", "r3", "r5");
    }

    @Test
    void readyRecordsLeaveInTheOrderTheyBecameReady() {
        add(rec("waits", SEED, A), T0);
        add(rec("free1", SEED), T0 + 1);
        gate.satisfy(new CauseKey(A, SEED));
        add(rec("free2", SEED), T0 + 2);
        assertThat(gate.readyCount()).isEqualTo(3);
        assertThat(drainReady()).containsExactly("free1", "waits", "free2");
    }

    @Test
    void aChainThatArrivedInOneBurstCompletesThroughLocalDependencies() {
        // c1 <- c2 <- c3, c1 waiting for A.
        long t1 = 101;
        long t2 = 102;
        add(rec("c1", SEED, A), T0);
        add(rec("c2", SEED, t1), T0);
        add(rec("c3", SEED, t2), T0);
        gate.satisfy(new CauseKey(A, SEED));
        List<CausalGate.Ready> first = drain();
        assertThat(first).extracting(x -> x.record().getId()).containsExactly("c1");
        assertThat(first.get(0).localDeps()).isEmpty();
        gate.assigned(withLid("c1", SEED, 1, t1));
        List<CausalGate.Ready> second = drain();
        assertThat(second).extracting(x -> x.record().getId()).containsExactly("c2");
        assertThat(second.get(0).localDeps()).containsExactly(1L);
        gate.assigned(withLid("c2", SEED, 2, t2));
        List<CausalGate.Ready> third = drain();
        assertThat(third).extracting(x -> x.record().getId()).containsExactly("c3");
        assertThat(third.get(0).localDeps()).containsExactly(2L);
        assertThat(gate.heldCount()).isZero();
    }

    @Test
    void theRecentMemoryForgetsTheOldestStoresFirst() {
        CausalGate small = new CausalGate(TIMEOUT, 2);
        small.stored(withLid("x1", SEED, 1, A));
        small.stored(withLid("x2", SEED, 2, B));
        small.stored(withLid("x3", SEED, 3, C)); // forgets A
        assertThat(small.recentLid(new CauseKey(A, SEED))).isZero();
        assertThat(small.recentLid(new CauseKey(B, SEED))).isEqualTo(2);
        assertThat(small.recentLid(new CauseKey(C, SEED))).isEqualTo(3);

        small.add(rec("needsC", SEED, C), T0, REAL);
        small.add(rec("needsB", SEED, B), T0, REAL);
        small.add(rec("needsA", SEED, A), T0, REAL);
        assertThat(small.readyCount()).isEqualTo(2);
        assertThat(small.heldCount()).isEqualTo(1);
        assertThat(small.unmet()).containsExactly(new CauseKey(A, SEED));
    }

    @Test
    void drainToProbeReturnsEachNewCauseOnceAlsoWhenSeveralRecordsWaitForIt() {
        add(rec("r1", SEED, A), T0);
        add(rec("r2", SEED, A, B), T0);
        add(rec("r3", OTHER_SEED, A), T0);
        add(rec("r4", SEED, A), T0);
        List<CauseKey> probe = gate.drainToProbe();
        assertThat(probe).containsExactlyInAnyOrder(new CauseKey(A, SEED), new CauseKey(B, SEED),
                new CauseKey(A, OTHER_SEED));
        assertThat(gate.drainToProbe()).isEmpty();

        // More records waiting for a cause already probed: not probed again.
        add(rec("r5", SEED, A), T0);
        add(rec("r6", SEED, C, B), T0);
        assertThat(gate.drainToProbe()).containsExactly(new CauseKey(C, SEED));
        assertThat(gate.drainToProbe()).isEmpty();
        // Still unmet although no longer to be probed.
        assertThat(gate.unmet()).hasSize(4);
    }

    @Test
    void aCauseMetBeforeItWasProbedIsNotProbed() {
        add(rec("r1", SEED, A), T0);
        add(rec("r2", SEED, B), T0);
        add(rec("r3", SEED, C), T0);
        gate.satisfy(new CauseKey(A, SEED));
        gate.assigned(withLid("b", SEED, 5, B));
        gate.stored(withLid("c", SEED, 6, C));
        assertThat(gate.drainToProbe()).isEmpty();
    }

    @Test
    void aCauseOnlyExpiredRecordsWaitedForIsNotProbed() {
        add(rec("r", SEED, A), T0);
        gate.expire(T0 + TIMEOUT);
        assertThat(gate.drainToProbe()).isEmpty();
        // Waited for again later: a new cause, probed again.
        add(rec("r2", SEED, A), T0 + TIMEOUT);
        assertThat(gate.drainToProbe()).containsExactly(new CauseKey(A, SEED));
    }

    @Test
    void recordsThatWaitedLongerThanTheTimeoutOnTheCauseClockExpireInArrivalOrder() {
        add(rec("r1", SEED, A), T0);
        add(rec("r2", SEED, B, C), T0 + 100);
        add(rec("r3", SEED, A), T0 + 200);
        add(rec("free", SEED), T0 + 250);
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
    void aboveMaxWaitingTheLongestWaitingAreCrowdedOutAndAnotherDatacentersRecordsNever() {
        RecordEnvelope remote = rec("remote", SEED, C).toBuilder().setToid(5).build();
        add(remote, T0);
        add(rec("r1", SEED, A), T0 + 100);
        add(rec("r2", SEED, A), T0 + 200);
        add(rec("r3", SEED, B), T0 + 300);
        add(rec("r4", SEED, B), T0 + 400);
        assertThat(gate.expire(T0 + 500, 5, Long.MAX_VALUE)).isEmpty();

        List<CausalGate.Expired> out = gate.expire(T0 + 500, 3, Long.MAX_VALUE);
        assertThat(out).extracting(e -> e.record().getId()).containsExactly("r1", "r2");
        assertThat(out).allMatch(CausalGate.Expired::crowdedOut);
        assertThat(out.get(0).waitedNanos()).isEqualTo(400);
        assertThat(gate.heldCount()).isEqualTo(3);
        assertThat(gate.unmet()).containsExactlyInAnyOrder(new CauseKey(B, SEED), new CauseKey(C, SEED));
        // What was crowded out is never released later.
        gate.satisfy(new CauseKey(A, SEED));
        assertThat(drainReady()).isEmpty();

        // Timed out and crowded out in one pass: each named for what it was.
        add(rec("r5", SEED, A), T0 + TIMEOUT);
        out = gate.expire(T0 + TIMEOUT + 350, 2, Long.MAX_VALUE);
        assertThat(out).extracting(e -> e.record().getId() + ":" + e.crowdedOut())
                .containsExactly("r3:false", "r4:true");
        assertThat(gate.heldCount()).as("the remote record and r5").isEqualTo(2);
        // Another datacenter's record alone over the bound waits on.
        assertThat(gate.expire(T0 + TIMEOUT + 400, 0, Long.MAX_VALUE)).extracting(e -> e.record().getId()).containsExactly("r5");
        assertThat(gate.heldCount()).isEqualTo(1);
    }

    /**
     * Records of megabytes whose causes never come: past {@code maxBytes} of
     * them the longest-waiting are crowded out, whatever their count, and the
     * bytes held follow every way out (released, crowded out, dropped).
     */
    @Test
    void aboveMaxWaitingBytesTheLongestWaitingAreCrowdedOut() {
        com.google.protobuf.ByteString mib = com.google.protobuf.ByteString.copyFrom(new byte[1 << 20]);
        for (int i = 1; i <= 5; i++) {
            add(rec("big" + i, SEED, A + i).toBuilder().setBody(mib).build(), T0 + i);
        }
        long each = gate.heldBytes() / 5;
        assertThat(each).isGreaterThan(1 << 20);
        assertThat(gate.expire(T0 + 10, 100, 5 * each)).isEmpty();

        List<CausalGate.Expired> out = gate.expire(T0 + 10, 100, 3 * each + each / 2);
        assertThat(out).extracting(e -> e.record().getId()).containsExactly("big1", "big2");
        assertThat(out).allMatch(CausalGate.Expired::crowdedOut);
        assertThat(gate.heldBytes()).isEqualTo(3 * each);

        gate.satisfy(new CauseKey(A + 3, SEED));
        assertThat(drainReady()).containsExactly("big3");
        assertThat(gate.heldBytes()).as("released").isEqualTo(2 * each);
        assertThat(gate.dropAll()).hasSize(2);
        assertThat(gate.heldBytes()).as("dropped").isZero();
    }

    @Test
    void expiryFollowsTheCauseClockNotTheRealOne() {
        // Arrived at cause time T0, real time far later: only the cause clock counts.
        gate.add(rec("r", SEED, A), T0, T0 + 100 * TIMEOUT);
        assertThat(gate.nextExpiry()).isEqualTo(T0 + TIMEOUT);
        assertThat(gate.expire(T0 + TIMEOUT - 1)).isEmpty();
        assertThat(gate.expire(T0 + TIMEOUT)).hasSize(1);
    }

    @Test
    void anExpiredRecordNamesOnlyTheCausesStillMissing() {
        add(rec("r", SEED, A, B, C), T0);
        gate.satisfy(new CauseKey(B, SEED));
        List<CausalGate.Expired> expired = gate.expire(T0 + TIMEOUT);
        assertThat(expired).hasSize(1);
        assertThat(expired.get(0).record().getId()).isEqualTo("r");
        assertThat(expired.get(0).missing()).containsExactlyInAnyOrder(new CauseKey(A, SEED), new CauseKey(C, SEED));
        assertThat(expired.get(0).waitedNanos()).isEqualTo(TIMEOUT);
    }

    @Test
    void anExpiredRecordIsNotReleasedWhenItsCauseComesLater() {
        add(rec("old", SEED, A), T0);
        add(rec("alsoOld", SEED, B), T0 + 1);
        add(rec("young", SEED, A), T0 + TIMEOUT);
        assertThat(gate.expire(T0 + TIMEOUT + 1)).extracting(e -> e.record().getId())
                .containsExactly("old", "alsoOld");

        gate.assigned(withLid("a", SEED, 9, A));
        gate.satisfy(new CauseKey(B, SEED));
        assertThat(drainReady()).containsExactly("young");
        assertThat(gate.heldCount()).isZero();
        assertThat(gate.unmet()).isEmpty();
        assertThat(gate.nextExpiry()).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void expiringAtTheReportedDeadlineExpiresTheOldest() {
        add(rec("r1", SEED, A), T0 + 10);
        add(rec("r2", SEED, A), T0 + 20);
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
        add(rec("free", SEED), T0);
        assertThat(gate.nextExpiry()).isEqualTo(Long.MAX_VALUE);
        add(rec("r1", SEED, A), T0 + 10);
        add(rec("r2", SEED, B), T0 + 20);
        assertThat(gate.nextExpiry()).isEqualTo(T0 + 10 + TIMEOUT);
        gate.satisfy(new CauseKey(A, SEED)); // r1 leaves: r2 is the oldest
        assertThat(gate.nextExpiry()).isEqualTo(T0 + 20 + TIMEOUT);
        gate.satisfy(new CauseKey(B, SEED));
        assertThat(gate.nextExpiry()).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void heldWithIdsFindsOnlyRecordsStillWaiting() {
        gate.add(rec("a", SEED, A, B), T0, REAL);
        gate.add(rec("b", SEED, C), T0 + 5, REAL + 5);
        gate.add(rec("c", SEED), T0 + 6, REAL + 6); // ready, not held
        gate.satisfy(new CauseKey(B, SEED));

        List<CausalGate.Held> found = gate.heldWithIds(Set.of("a", "c", "nope"));
        assertThat(found).hasSize(1);
        assertThat(found.get(0).record.getId()).isEqualTo("a");
        assertThat(found.get(0).arrivedNanos).as("the real arrival time").isEqualTo(REAL);
        assertThat(found.get(0).unmet).containsExactly(new CauseKey(A, SEED));

        assertThat(gate.heldWithIds(Set.of("a", "b"))).extracting(h -> h.record.getId()).containsExactly("a", "b");
        assertThat(gate.heldWithIds(Set.of())).isEmpty();

        gate.satisfy(new CauseKey(A, SEED));
        assertThat(gate.heldWithIds(Set.of("a", "b"))).extracting(h -> h.record.getId()).containsExactly("b");
        gate.expire(T0 + 5 + TIMEOUT);
        assertThat(gate.heldWithIds(Set.of("a", "b"))).isEmpty();
    }

    @Test
    void dropAllEmptiesWaitingAndReadyButKeepsTheStoredMemory() {
        gate.stored(withLid("stored", SEED, 40, A));
        add(rec("free", SEED), T0);
        add(rec("waitsB", SEED, B), T0 + 1);
        add(rec("waitsC", SEED, C, B), T0 + 2);

        List<RecordEnvelope> dropped = gate.dropAll();
        assertThat(dropped).extracting(RecordEnvelope::getId).containsExactlyInAnyOrder("free", "waitsB", "waitsC");
        assertThat(gate.readyCount()).isZero();
        assertThat(gate.heldCount()).isZero();
        assertThat(gate.unmet()).isEmpty();
        assertThat(gate.drainToProbe()).as("nothing waits: nothing to probe").isEmpty();
        assertThat(gate.nextExpiry()).isEqualTo(Long.MAX_VALUE);
        assertThat(gate.expire(T0 + 10 * TIMEOUT)).isEmpty();
        assertThat(gate.pollReady()).isNull();
        // Causes of dropped records release nothing.
        gate.satisfy(new CauseKey(B, SEED));
        gate.assigned(withLid("c", SEED, 41, C));
        assertThat(gate.pollReady()).isNull();

        // What was stored is still in the log.
        assertThat(gate.recentLid(new CauseKey(A, SEED))).isEqualTo(40);
        add(rec("effect", SEED, A), T0 + 3);
        assertThat(drainReady()).containsExactly("effect");
        // A cause waited for again after the drop is probed again.
        add(rec("waitsB2", SEED, B), T0 + 4);
        assertThat(gate.drainToProbe()).containsExactly(new CauseKey(B, SEED));
        assertThat(gate.dropAll()).extracting(RecordEnvelope::getId).containsExactly("waitsB2");
        assertThat(gate.dropAll()).isEmpty();
    }

    @Test
    void countsFollowRecordsThroughTheGate() {
        add(rec("r1", SEED, A), T0);
        add(rec("r2", SEED, A, B), T0);
        add(rec("r3", SEED), T0);
        assertThat(gate.readyCount()).isEqualTo(1);
        assertThat(gate.heldCount()).isEqualTo(2);
        assertThat(gate.unmet()).hasSize(2);

        gate.satisfy(new CauseKey(A, SEED));
        assertThat(gate.readyCount()).isEqualTo(2);
        assertThat(gate.heldCount()).isEqualTo(1);
        assertThat(gate.unmet()).containsExactly(new CauseKey(B, SEED));

        assertThat(gate.pollReady().record().getId()).isEqualTo("r3");
        assertThat(gate.readyCount()).isEqualTo(1);
        gate.satisfy(new CauseKey(B, SEED));
        assertThat(gate.readyCount()).isEqualTo(2);
        assertThat(gate.heldCount()).isZero();
        assertThat(gate.unmet()).isEmpty();
        assertThat(drainReady()).containsExactly("r1", "r2");
        assertThat(gate.readyCount()).isZero();
    }
    @Test
    void recordsWaitingPastTheGraceAreHandedOutOnceOldestFirstAndReleasedOnesNever() {
        long grace = 100_000_000L;
        assertThat(gate.add(rec("e1", SEED, A), T0, REAL)).as("waits for its cause").isTrue();
        assertThat(gate.add(rec("e2", SEED, B), T0, REAL + 10_000_000L)).isTrue();
        assertThat(gate.add(rec("e3", OTHER_SEED, C), T0, REAL + 20_000_000L)).isTrue();
        assertThat(gate.add(rec("free", SEED), T0, REAL)).as("no cause: ready").isFalse();
        assertThat(gate.overdue(REAL + grace - 1, grace)).isNull();
        assertThat(gate.nextOverdue(grace)).isEqualTo(REAL + grace);
        // e2's cause comes: it is released, and never handed out.
        gate.stored(withLid("cause-b", SEED, 1, B));
        assertThat(gate.overdue(REAL + grace, grace).record.getId()).isEqualTo("e1");
        assertThat(gate.overdue(REAL + grace, grace)).as("e3 is not overdue yet").isNull();
        assertThat(gate.overdue(REAL + 30 * grace, grace).record.getId()).isEqualTo("e3");
        assertThat(gate.overdue(REAL + 30 * grace, grace)).as("each once").isNull();
        assertThat(gate.nextOverdue(grace)).isEqualTo(Long.MAX_VALUE);
        assertThat(drainReady()).containsExactly("free", "e2");
    }

    /**
     * The gate runs on the queue's loop, which the whole ring waits for: a
     * record's causes (up to {@code RecordJson.MAX_CAUSES} from an edge, any
     * number built inside), released one by one as the records that carry
     * them are given LIds here, must cost time linear in their number.
     * Copying the record's local dependencies whole at each one made it
     * quadratic: 9 s of CPU for 200,000, about 25 times that for a million,
     * over 20 times the bound (this thread's CPU time), which lies about ten
     * times above the linear cost.
     */
    @Test
    void aRecordWithManyCausesAssignedHereOneByOneIsReleasedInLinearTime() {
        long[] causes = manyCauses();
        add(rec("effect", SEED, causes), T0);

        CpuBound.within(10_000, () -> {
            for (int i = 0; i < causes.length; i++) {
                gate.assigned(withLid("cause", SEED, 1_000 + i, causes[i]));
            }
            return null;
        });

        List<CausalGate.Ready> ready = drain();
        assertThat(ready).extracting(r -> r.record().getId()).containsExactly("effect");
        long[] deps = ready.get(0).localDeps();
        assertThat(deps).hasSize(causes.length);
        for (int i = 0; i < deps.length; i++) {
            assertThat(deps[i]).isEqualTo(1_000 + i);
        }
    }

    /**
     * One record given an LId here that carries every cause of a waiting one:
     * that LId is its one dependency, not one copy of it per cause (each
     * checked again whenever the store outbox looks at the record), and
     * adding them is not quadratic either.
     */
    @Test
    void oneAssignedRecordCarryingManyCausesIsOneDependency() {
        long[] causes = manyCauses();
        add(rec("effect", SEED, causes), T0);
        RecordEnvelope cause = withLid("cause", SEED, 77, causes);

        CpuBound.within(10_000, () -> {
            gate.assigned(cause);
            return null;
        });

        List<CausalGate.Ready> ready = drain();
        assertThat(ready).extracting(r -> r.record().getId()).containsExactly("effect");
        assertThat(ready.get(0).localDeps()).containsExactly(77L);
    }

    /** Dependencies given with the record come first, and the caller's array is not written to. */
    @Test
    void dependenciesGivenWithTheRecordAreKeptAndTheCallersArrayIsNotChanged() {
        long[] given = {5};
        gate.add(rec("effect", SEED, 1, 2), null, given, T0, REAL);
        gate.assigned(withLid("c1", SEED, 11, 1));
        gate.assigned(withLid("c2", SEED, 12, 2));

        List<CausalGate.Ready> ready = drain();
        assertThat(ready).extracting(r -> r.record().getId()).containsExactly("effect");
        assertThat(ready.get(0).localDeps()).containsExactly(5L, 11L, 12L);
        assertThat(given).as("the caller's array").containsExactly(5L);
    }

    /** A million distinct cause hashes. */
    private static long[] manyCauses() {
        long[] causes = new long[1_000_000];
        for (int i = 0; i < causes.length; i++) {
            causes[i] = i + 1;
        }
        return causes;
    }
}
