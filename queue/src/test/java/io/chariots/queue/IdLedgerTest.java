package io.chariots.queue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

import io.chariots.common.layout.RingOwners;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.RingMember;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

import static io.chariots.queue.IdLedger.Admission.JOINED;
import static io.chariots.queue.IdLedger.Admission.NEW;
import static io.chariots.queue.IdLedger.Admission.PARKED;
import static io.chariots.queue.IdLedger.Admission.SETTLED;
import static io.chariots.queue.IdLedger.Admission.VERIFYING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** IdLedger through its admissions, the batches it settles (and returns) and what it hands back to verify or admit. */
class IdLedgerTest {
    private static final long SECOND = 1_000_000_000L;
    private static final long T0 = 4_000_000_000_000L;
    private static final long WINDOW = 60 * SECOND;
    private static final String SELF = "q1:7000";
    private static final String OTHER = "q2:7000";
    private static final String M1 = "m1:8000";
    private static final String M2 = "m2:8000";
    private static final Predicate<String> OWNS_ALL = id -> true;
    private static final Predicate<String> OWNS_NONE = id -> false;

    private final List<IdLedger.Batch> settled = new ArrayList<>();
    private IdLedger ledger = new IdLedger(SELF, settled::add, WINDOW, 1000, 1 << 16, T0);

    private static RecordEnvelope rec(String id) {
        return RecordEnvelope.newBuilder().setId(id).setSeed(id.hashCode()).addTagHash(id.length()).build();
    }

    private static IdLedger.Batch batch(int size) {
        return new IdLedger.Batch(new Object(), 1, size);
    }

    private static RingMember member(String address) {
        return RingMember.newBuilder().setAddress(address).setInstanceId("i-" + address).build();
    }

    /** Ids that {@code owner} owns in {@code ring}. */
    private static List<String> idsOwnedBy(String owner, List<RingMember> ring, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; out.size() < n; i++) {
            String id = "id-" + i;
            if (owner.equals(RingOwners.ownerAddress(id, ring))) {
                out.add(id);
            }
        }
        return out;
    }

    /** Admits {@code id} as new, gives it an LId at M1, stores it and sees it indexed. */
    private void appendThrough(String id, IdLedger.Batch b, long lid, long now) {
        assertThat(ledger.admit(rec(id), b, now)).isEqualTo(NEW);
        ledger.assigned(id, lid, M1);
        ledger.stored(id);
        ledger.indexed(M1, lid, now);
    }

    @Test
    void aRecordWaitingForACauseIsAnsweredParkedAndHoldsNoBatch() {
        ledger.logWasEmpty();
        IdLedger.Batch b = batch(3);
        assertThat(ledger.admit(rec("cause"), b, T0)).isEqualTo(NEW);
        assertThat(ledger.admit(rec("effect"), b, T0)).isEqualTo(NEW);
        ledger.parked(ledger.admitted(rec("effect")), "effect");
        assertThat(ledger.admit(rec("effect"), b, T0)).as("a copy in the same batch").isEqualTo(PARKED);
        assertThat(settled).isEmpty();
        ledger.assigned("cause", 1, M1);
        ledger.stored("cause");
        ledger.indexed(M1, 1, T0);
        assertThat(settled).as("answered once the cause settled: the effect does not hold it").containsExactly(b);
        assertThat(b.appended).isEqualTo(1);
        assertThat(b.parkedIds).containsExactly("effect", "effect");

        // A copy sent again while it still waits is answered parked at once.
        IdLedger.Batch again = batch(1);
        assertThat(ledger.admit(rec("effect"), again, T0)).isEqualTo(PARKED);
        assertThat(settled).containsExactly(b, again);
        assertThat(again.parkedIds).containsExactly("effect");

        // Released and given an LId: a copy now waits for its outcome, and the answered batches are not counted twice.
        ledger.assigned(ledger.admitted(rec("effect")), "effect", 2, M1);
        IdLedger.Batch third = batch(1);
        assertThat(ledger.admit(rec("effect"), third, T0)).isEqualTo(JOINED);
        ledger.stored("effect");
        ledger.indexed(M1, 2, T0);
        assertThat(settled).containsExactly(b, again, third);
        assertThat(third.appended).isEqualTo(1);
        assertThat(third.parkedIds).isNull();
        assertThat(b.appended).isEqualTo(1);
        assertThat(ledger.admit(rec("effect"), batch(1), T0)).isEqualTo(SETTLED);
    }

    @Test
    void storesAnsweredOutOfOrderSettleExactlyWhenIndexedThroughTheirLid() {
        ledger.logWasEmpty();
        int n = 10_000; // past the waiting list's compaction
        List<IdLedger.Batch> batches = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            IdLedger.Batch b = batch(1);
            batches.add(b);
            String id = "r" + i;
            assertThat(ledger.admit(rec(id), b, T0)).isEqualTo(NEW);
            // The tag handed back by admitted() finds the copy without a lookup by id.
            ledger.assigned(ledger.admitted(id), id, i, M1);
        }
        // Stored in windows of four batches of 25 answered in reverse order, as a windowed sender may see.
        for (int w = 0; w < n; w += 100) {
            for (int k = 75; k >= 0; k -= 25) {
                for (int i = w + k + 1; i <= w + k + 25; i++) {
                    ledger.stored("r" + i);
                }
            }
        }
        assertThat(ledger.lowestAwaitingIndex(M1)).isEqualTo(1);
        ledger.indexed(M1, 4_999, T0);
        assertThat(settled).hasSize(4_999).containsExactlyElementsOf(batches.subList(0, 4_999));
        assertThat(ledger.lowestAwaitingIndex(M1)).isEqualTo(5_000);
        ledger.indexed(M1, n, T0);
        assertThat(settled).hasSize(n);
        assertThat(ledger.lowestAwaitingIndex(M1)).isZero();
        assertThat(ledger.liveCount()).isZero();
    }

    @Test
    void aTagOfACopyNoLongerLiveChangesNothing() {
        ledger.logWasEmpty();
        IdLedger.Batch b = batch(1);
        assertThat(ledger.admit(rec("a"), b, T0)).isEqualTo(NEW);
        Object tag = ledger.admitted("a");
        ledger.epochChanged(2); // forgotten: it had no LId yet
        assertThat(ledger.admit(rec("a"), batch(1), T0)).isEqualTo(NEW); // the filter's resend: a new copy
        ledger.assigned(tag, "a", 7, M1); // the stale copy's LId must not touch the new one
        ledger.stored(tag, "a");
        ledger.indexed(M1, 7, T0);
        assertThat(ledger.liveCount()).isEqualTo(1);
    }

    // ------------------------------------------------------------ memory kept across a clean stop

    private static final long WALL = 1_700_000_000_000L;
    private static final long UPTIME = 86_400_000L;

    /** {@code afterMillis} after the stop, by the wall clock and the time since boot alike. */
    private static DedupMemory.Stamp stamp(long afterMillis) {
        return new DedupMemory.Stamp(WALL + afterMillis, "boot-1", UPTIME + afterMillis);
    }

    /** What {@code from} keeps at {@code now} (stamped {@code stamp(0)}) with the log ending at {@code logEnd}. */
    private static byte[] kept(IdLedger from, long now, long logEnd, List<String> ring) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        from.keep(new DataOutputStream(bytes), now, stamp(0), logEnd, ring);
        return bytes.toByteArray();
    }

    private static IdLedger.Memory read(IdLedger into, byte[] memory) throws IOException {
        return into.readMemory(new DataInputStream(new ByteArrayInputStream(memory)));
    }

    /** A new process's ledger (its clock starts anywhere) that took {@code memory} {@code afterMillis} after the stop. */
    private IdLedger restored(byte[] memory, long now, long afterMillis) throws IOException {
        return restored(memory, now, stamp(afterMillis));
    }

    private IdLedger restored(byte[] memory, long now, DedupMemory.Stamp at) throws IOException {
        IdLedger l = new IdLedger(SELF, settled::add, WINDOW, 1000, 1 << 16, now);
        l.restore(read(l, memory), now, at);
        return l;
    }

    @Test
    void aMemoryKeptAtACleanStopIsWholeOnceTheLogEndsWhereItEnded() throws IOException {
        ledger.logWasEmpty();
        appendThrough("settled", batch(1), 1, T0);
        assertThat(ledger.admit(rec("given"), batch(1), T0)).isEqualTo(NEW);
        ledger.assigned("given", 2, M1); // given an LId, not yet known stored: it may be in the log
        byte[] memory = kept(ledger, T0 + SECOND, 2, List.of(SELF));

        long t1 = 5 * SECOND; // another process's clock
        IdLedger l = restored(memory, t1, 3_000);
        assertThat(l.keptLogEnd()).isEqualTo(2);
        // Before the first epoch says whether anyone appended since, every new id is checked.
        assertThat(l.admit(rec("before"), batch(1), t1)).isEqualTo(VERIFYING);
        assertThat(l.logEndsAt(2, List.of(member(SELF)), t1)).isTrue();
        assertThat(l.keptLogEnd()).as("answered once").isEqualTo(-1);
        assertThat(l.admit(rec("new"), batch(1), t1)).as("a new id, no gap: not checked").isEqualTo(NEW);
        assertThat(l.admit(rec("settled"), batch(1), t1)).as("settled before the stop: may be in the log").isEqualTo(VERIFYING);
        assertThat(l.admit(rec("given"), batch(1), t1)).as("live at the stop: may be in the log").isEqualTo(VERIFYING);
        assertThat(l.verifications()).isEqualTo(3);
    }

    @Test
    void aLogThatWentOnSinceTheStopLeavesTheGapOfAnyStart() throws IOException {
        ledger.logWasEmpty();
        appendThrough("a", batch(1), 1, T0);
        byte[] memory = kept(ledger, T0, 1, List.of(SELF));
        IdLedger l = restored(memory, T0, 1_000);
        assertThat(l.logEndsAt(5, List.of(member(SELF)), T0)).isFalse();
        assertThat(l.admit(rec("new"), batch(1), T0)).isEqualTo(VERIFYING);
        assertThat(l.admit(rec("a"), batch(1), T0)).isEqualTo(VERIFYING);
        assertThat(l.admit(rec("later"), batch(1), T0 + WINDOW)).as("after the window, as after any start").isEqualTo(NEW);
    }

    @Test
    void idsThatMovedToThisQueueSinceItsMemoryWasKeptAreChecked() throws IOException {
        List<RingMember> two = List.of(member(SELF), member(OTHER));
        ledger.logWasEmpty();
        byte[] memory = kept(ledger, T0, 10, List.of(SELF, OTHER));
        IdLedger l = restored(memory, T0, 1_000);
        assertThat(l.logEndsAt(10, List.of(member(SELF)), T0)).isTrue(); // alone now: it owns the other's ids too
        String mine = idsOwnedBy(SELF, two, 1).get(0);
        String theirs = idsOwnedBy(OTHER, two, 1).get(0);
        assertThat(l.admit(rec(mine), batch(1), T0)).isEqualTo(NEW);
        assertThat(l.admit(rec(theirs), batch(1), T0)).as("the other queue's until now").isEqualTo(VERIFYING);
        assertThat(l.admit(rec(idsOwnedBy(OTHER, two, 2).get(1)), batch(1), T0 + WINDOW + 1)).isEqualTo(NEW);

        // Kept under the same ring in another order: nothing moved.
        IdLedger same = restored(kept(ledger, T0, 10, List.of(OTHER, SELF)), T0, 0);
        assertThat(same.logEndsAt(10, two, T0)).isTrue();
        assertThat(same.admit(rec(theirs), batch(1), T0)).isEqualTo(NEW);
    }

    @Test
    void aGapAndHandoversOfItsOwnGoOnFromWhereTheyStoodLessTheTimeBetween() throws IOException {
        List<RingMember> two = List.of(member(SELF), member(OTHER));
        // Started 10 s before the stop on a log that was not empty: its gap had 50 s to run.
        IdLedger cold = new IdLedger(SELF, settled::add, WINDOW, 1000, 1 << 16, T0);
        IdLedger l = restored(kept(cold, T0 + 10 * SECOND, 3, List.of(SELF)), 0, 20_000);
        assertThat(l.logEndsAt(3, List.of(member(SELF)), 0)).isTrue();
        assertThat(l.admit(rec("x"), batch(1), 29 * SECOND)).isEqualTo(VERIFYING);
        assertThat(l.admit(rec("y"), batch(1), 30 * SECOND)).isEqualTo(NEW);

        // Took over the other queue's ids 40 s before the stop; stopped for 15 s.
        ledger.logWasEmpty();
        ledger.ringChanged(two, T0);
        IdLedger h = restored(kept(ledger, T0 + 40 * SECOND, 3, List.of(SELF)), 0, 15_000);
        assertThat(h.logEndsAt(3, List.of(member(SELF)), 0)).isTrue();
        String theirs = idsOwnedBy(OTHER, two, 2).get(0);
        String mine = idsOwnedBy(SELF, two, 1).get(0);
        assertThat(h.admit(rec(mine), batch(1), 0)).isEqualTo(NEW);
        assertThat(h.admit(rec(theirs), batch(1), WINDOW - 55 * SECOND)).isEqualTo(VERIFYING);
        assertThat(h.admit(rec(idsOwnedBy(OTHER, two, 2).get(1)), batch(1), WINDOW - 55 * SECOND + 1)).isEqualTo(NEW);
    }

    @Test
    void aMemoryKeptLongerAgoThanTheWindowHoldsNoId() throws IOException {
        ledger.logWasEmpty();
        appendThrough("a", batch(1), 1, T0);
        IdLedger l = restored(kept(ledger, T0, 1, List.of(SELF)), T0, WINDOW / 1_000_000 + 10_000);
        assertThat(l.logEndsAt(1, List.of(member(SELF)), T0)).isTrue();
        assertThat(l.admit(rec("a"), batch(1), T0)).as("older than the window: a retry this late may append twice")
                .isEqualTo(NEW);
    }

    @Test
    void anotherQueuesMemoryIsRefused() throws IOException {
        ledger.logWasEmpty();
        appendThrough("a", batch(1), 1, T0);
        byte[] memory = kept(ledger, T0, 1, List.of(SELF, OTHER));
        IdLedger other = new IdLedger(OTHER, settled::add, WINDOW, 1000, 1 << 16, T0);
        assertThatThrownBy(() -> other.restore(read(other, memory), T0, stamp(0)))
                .isInstanceOf(IOException.class).hasMessageContaining("kept by the queue at " + SELF);
        assertThat(other.logEndsAt(1, List.of(member(SELF), member(OTHER)), T0)).isFalse();
        assertThat(other.admit(rec("b"), batch(1), T0)).isEqualTo(VERIFYING);
    }

    @Test
    void aWallClockSetForwardWhileStoppedDoesNotAgeTheMemory() throws IOException {
        ledger.logWasEmpty();
        appendThrough("a", batch(1), 1, T0);
        byte[] memory = kept(ledger, T0, 1, List.of(SELF));
        // An hour by the wall clock, 10 s by the time since boot: the memory is 10 s older, not an hour.
        IdLedger l = restored(memory, T0, new DedupMemory.Stamp(WALL + 3_600_000, "boot-1", UPTIME + 10_000));
        assertThat(l.logEndsAt(1, List.of(member(SELF)), T0)).isTrue();
        assertThat(l.admit(rec("a"), batch(1), T0)).isEqualTo(VERIFYING);
        // Another boot, or a host without a boot id: no time is known to have passed.
        IdLedger rebooted = restored(memory, T0, new DedupMemory.Stamp(WALL + 3_600_000, "boot-2", UPTIME + 3_600_000));
        assertThat(rebooted.logEndsAt(1, List.of(member(SELF)), T0)).isTrue();
        assertThat(rebooted.admit(rec("a"), batch(1), T0)).isEqualTo(VERIFYING);
        assertThat(new DedupMemory.Stamp(WALL + 3_600_000, "", -1).nanosSince(new DedupMemory.Stamp(WALL, "", -1))).isZero();
        assertThat(stamp(0).nanosSince(stamp(-5_000))).isEqualTo(5 * SECOND);
        assertThat(new DedupMemory.Stamp(WALL - 1_000, "boot-1", UPTIME + 7_000).nanosSince(stamp(0)))
                .as("a wall clock set back").isZero();
    }

    @Test
    void aStartThatFindsNoWholeMemoryChecksEveryIdForAWindowFromWhenItJoins() {
        // The others let in its ids until it joined: the gap runs from the join, not from the process's start.
        assertThat(ledger.logEndsAt(9, List.of(member(SELF)), T0 + WINDOW / 2)).isFalse();
        assertThat(ledger.admit(rec("a"), batch(1), T0 + WINDOW + WINDOW / 4)).isEqualTo(VERIFYING);
        assertThat(ledger.admit(rec("b"), batch(1), T0 + WINDOW + WINDOW / 2)).isEqualTo(NEW);
    }

    @Test
    void anEmptyLogNeedsNoMemory() throws IOException {
        IdLedger l = restored(kept(ledger, T0, 0, List.of()), T0, 0);
        assertThat(l.logEndsAt(0, List.of(member(SELF)), T0)).isTrue();
        assertThat(l.admit(rec("a"), batch(1), T0)).isEqualTo(NEW);
        IdLedger none = new IdLedger(SELF, settled::add, WINDOW, 1000, 1 << 16, T0);
        assertThat(none.logEndsAt(7, List.of(member(SELF)), T0)).as("no memory kept").isFalse();
        assertThat(none.admit(rec("a"), batch(1), T0)).isEqualTo(VERIFYING);
    }

    // ------------------------------------------------------------ admission

    @Test
    void aQueueThatJustStartedVerifiesEveryNewIdForAWindow() {
        IdLedger.Batch b = batch(1);
        assertThat(ledger.admit(rec("a"), b, T0)).isEqualTo(VERIFYING);
        assertThat(ledger.verifying()).isEqualTo(1);
        assertThat(ledger.liveCount()).isEqualTo(1);
        assertThat(ledger.verifications()).isEqualTo(1);
        assertThat(ledger.admit(rec("b"), batch(1), T0 + WINDOW - 1)).isEqualTo(VERIFYING);
        assertThat(ledger.admit(rec("c"), batch(1), T0 + WINDOW)).isEqualTo(NEW);
        assertThat(settled).isEmpty();
    }

    @Test
    void whenTheLogWasEmptyAMissIsCertain() {
        ledger.logWasEmpty();
        assertThat(ledger.admit(rec("a"), batch(1), T0)).isEqualTo(NEW);
        assertThat(ledger.verifying()).isZero();
        assertThat(ledger.verifications()).isZero();
    }

    @Test
    void aSecondCopyWhileOneIsLiveJoinsItAndBothBatchesSettleTogether() {
        ledger.logWasEmpty();
        IdLedger.Batch first = batch(1);
        IdLedger.Batch second = batch(2);
        assertThat(ledger.admit(rec("a"), first, T0)).isEqualTo(NEW);
        assertThat(ledger.admit(rec("a"), second, T0)).isEqualTo(JOINED);
        assertThat(ledger.admit(rec("b"), second, T0)).isEqualTo(NEW);
        assertThat(ledger.duplicates()).isEqualTo(1);
        assertThat(ledger.liveCount()).isEqualTo(2);

        ledger.assigned("a", 1, M1);
        ledger.stored("a");
        // A copy still joins while the first waits to be indexed.
        IdLedger.Batch third = batch(1);
        assertThat(ledger.admit(rec("a"), third, T0)).isEqualTo(JOINED);
        ledger.indexed(M1, 1, T0);
        assertThat(settled).containsExactly(first, third);
        assertThat(first.appended).isEqualTo(1);
        assertThat(second.left).isEqualTo(1);

        ledger.assigned("b", 2, M1);
        ledger.stored("b");
        ledger.indexed(M1, 2, T0);
        assertThat(settled).containsExactly(first, third, second);
        assertThat(second.appended).isEqualTo(2);
        assertThat(second.rejected).isZero();
        assertThat(ledger.liveCount()).isZero();
    }

    @Test
    void aCopyOfASettledIdIsCountedAtOnce() {
        ledger.logWasEmpty();
        appendThrough("a", batch(1), 1, T0);
        IdLedger.Batch again = batch(1);
        assertThat(ledger.admit(rec("a"), again, T0 + 1)).isEqualTo(SETTLED);
        assertThat(settled).endsWith(again);
        assertThat(again.appended).isEqualTo(1);
        assertThat(ledger.liveCount()).isZero();
        assertThat(ledger.duplicates()).isEqualTo(1);
    }

    @Test
    void aCopyOfARejectedIdIsCountedRejected() {
        ledger.logWasEmpty();
        IdLedger.Batch b = batch(1);
        ledger.admit(rec("a"), b, T0);
        ledger.rejected("a", T0);
        assertThat(settled).containsExactly(b);
        assertThat(b.rejected).isEqualTo(1);
        assertThat(b.appended).isZero();

        IdLedger.Batch again = batch(2);
        assertThat(ledger.admit(rec("a"), again, T0 + 1)).isEqualTo(SETTLED);
        assertThat(again.rejected).isEqualTo(1);
        assertThat(again.left).isEqualTo(1);
        assertThat(settled).containsExactly(b); // not complete yet
    }

    @Test
    void anIdBeyondTheExactMemoryButInTheFilterIsVerified() {
        ledger = new IdLedger(SELF, settled::add, WINDOW, 2, 1 << 16, T0);
        ledger.logWasEmpty();
        appendThrough("a", batch(1), 1, T0);
        appendThrough("b", batch(1), 2, T0);
        appendThrough("c", batch(1), 3, T0); // "a" leaves the exact memory
        assertThat(ledger.admit(rec("c"), batch(1), T0)).isEqualTo(SETTLED);
        assertThat(ledger.admit(rec("a"), batch(1), T0)).isEqualTo(VERIFYING);
        assertThat(ledger.verifying()).isEqualTo(1);
        assertThat(ledger.admit(rec("never-seen"), batch(1), T0)).isEqualTo(NEW);
    }

    @Test
    void aMemoryGapVerifiesNewIdsForAWindow() {
        ledger.logWasEmpty();
        ledger.memoryGap(T0 + 10 * SECOND);
        assertThat(ledger.admit(rec("a"), batch(1), T0 + 10 * SECOND)).isEqualTo(VERIFYING);
        assertThat(ledger.admit(rec("b"), batch(1), T0 + 10 * SECOND + WINDOW - 1)).isEqualTo(VERIFYING);
        assertThat(ledger.admit(rec("c"), batch(1), T0 + 10 * SECOND + WINDOW)).isEqualTo(NEW);
    }

    @Test
    void afterARingChangeIdsAnotherQueueOwnedAreVerifiedForAWindow() {
        ledger.logWasEmpty();
        List<RingMember> previous = List.of(member(SELF), member(OTHER));
        List<String> wereOthers = idsOwnedBy(OTHER, previous, 3);
        List<String> wereMine = idsOwnedBy(SELF, previous, 3);
        ledger.ringChanged(previous, T0);

        assertThat(ledger.admit(rec(wereOthers.get(0)), batch(1), T0)).isEqualTo(VERIFYING);
        assertThat(ledger.admit(rec(wereMine.get(0)), batch(1), T0)).isEqualTo(NEW);
        assertThat(ledger.admit(rec(wereOthers.get(1)), batch(1), T0 + WINDOW)).isEqualTo(VERIFYING);
        assertThat(ledger.admit(rec(wereMine.get(1)), batch(1), T0 + WINDOW)).isEqualTo(NEW);
        // The handover is a window old: its ids are new again.
        assertThat(ledger.admit(rec(wereOthers.get(2)), batch(1), T0 + WINDOW + 1)).isEqualTo(NEW);
    }

    @Test
    void everyRingOfTheWindowCounts() {
        ledger.logWasEmpty();
        String third = "q3:7000";
        List<RingMember> first = List.of(member(SELF), member(OTHER));
        List<RingMember> second = List.of(member(SELF), member(third));
        ledger.ringChanged(first, T0);
        ledger.ringChanged(second, T0 + WINDOW / 2);
        // Mine in the second ring but the other's in the first: still verified.
        String id = null;
        for (String c : idsOwnedBy(OTHER, first, 200)) {
            if (SELF.equals(RingOwners.ownerAddress(c, second))) {
                id = c;
                break;
            }
        }
        assertThat(id).isNotNull();
        assertThat(ledger.admit(rec(id), batch(1), T0 + WINDOW)).isEqualTo(VERIFYING);
    }

    @Test
    void anEmptyPreviousRingIsNoHandover() {
        ledger.logWasEmpty();
        ledger.ringChanged(List.of(), T0);
        assertThat(ledger.admit(rec("a"), batch(1), T0)).isEqualTo(NEW);
    }

    // ------------------------------------------------------------ settlement

    @Test
    void aBatchSettlesOnlyWhenEveryRecordIsDurableOrRejected() {
        ledger.logWasEmpty();
        IdLedger.Batch b = batch(3);
        ledger.admit(rec("a"), b, T0);
        ledger.admit(rec("b"), b, T0);
        ledger.admit(rec("c"), b, T0);
        ledger.assigned("a", 10, M1);
        ledger.assigned("b", 11, M2);
        ledger.stored("a");
        ledger.stored("b");
        ledger.indexed(M1, 10, T0);
        assertThat(settled).isEmpty();
        assertThat(b.left).isEqualTo(2);
        ledger.rejected("c", T0);
        assertThat(settled).isEmpty();
        ledger.indexed(M2, 11, T0);
        assertThat(settled).containsExactly(b);
        assertThat(b.appended).isEqualTo(2);
        assertThat(b.rejected).isEqualTo(1);
        assertThat(b.answered).isTrue();
    }

    @Test
    void assignedOrStoredIsNotYetDurable() {
        ledger.logWasEmpty();
        IdLedger.Batch b = batch(1);
        ledger.admit(rec("a"), b, T0);
        // Indexed before it was stored: means nothing for it.
        ledger.indexed(M1, 1000, T0);
        ledger.assigned("a", 5, M1);
        ledger.indexed(M1, 1000, T0);
        assertThat(settled).isEmpty();
        assertThat(ledger.lowestAwaitingIndex(M1)).isZero();

        ledger.stored("a");
        assertThat(ledger.maintainersAwaitingIndex()).containsExactly(M1);
        assertThat(ledger.lowestAwaitingIndex(M1)).isEqualTo(5);
        // Another maintainer's progress, or this one's below the LId: not yet.
        ledger.indexed(M2, 1000, T0);
        ledger.indexed(M1, 4, T0);
        assertThat(settled).isEmpty();
        ledger.indexed(M1, 5, T0);
        assertThat(settled).containsExactly(b);
        assertThat(ledger.maintainersAwaitingIndex()).isEmpty();
        assertThat(ledger.lowestAwaitingIndex(M1)).isZero();
        assertThat(ledger.liveCount()).isZero();
    }

    @Test
    void storedBeforeAssignedIsIgnored() {
        ledger.logWasEmpty();
        ledger.admit(rec("a"), batch(1), T0);
        ledger.stored("a");
        assertThat(ledger.maintainersAwaitingIndex()).isEmpty();
        ledger.stored("unknown");
        ledger.assigned("unknown", 3, M1);
        ledger.rejected("unknown", T0);
        assertThat(ledger.liveCount()).isEqualTo(1);
        assertThat(settled).isEmpty();
    }

    @Test
    void indexedSettlesEverythingUpToThroughInLidOrder() {
        ledger.logWasEmpty();
        IdLedger.Batch b = batch(3);
        for (String id : List.of("c", "a", "b")) {
            ledger.admit(rec(id), b, T0);
        }
        ledger.assigned("a", 7, M1);
        ledger.assigned("b", 3, M1);
        ledger.assigned("c", 12, M1);
        ledger.stored("a");
        ledger.stored("b");
        ledger.stored("c");
        assertThat(ledger.lowestAwaitingIndex(M1)).isEqualTo(3);
        ledger.indexed(M1, 7, T0);
        assertThat(b.left).isEqualTo(1);
        assertThat(ledger.lowestAwaitingIndex(M1)).isEqualTo(12);
        ledger.indexed(M1, 12, T0);
        assertThat(settled).containsExactly(b);
    }

    @Test
    void aBatchIsSettledOnce() {
        ledger.logWasEmpty();
        IdLedger.Batch b = batch(1);
        ledger.admit(rec("a"), b, T0);
        ledger.admit(rec("a"), b, T0); // the same id twice in one batch... of size one
        ledger.assigned("a", 1, M1);
        ledger.stored("a");
        ledger.indexed(M1, 1, T0);
        assertThat(settled).containsExactly(b);
    }

    // ------------------------------------------------------------ epochs

    @Test
    void anEpochChangeAnswersEveryWaitingBatchOnce() {
        ledger.logWasEmpty();
        IdLedger.Batch b1 = batch(2);
        IdLedger.Batch b2 = batch(2);
        ledger.admit(rec("admitted"), b1, T0);
        ledger.admit(rec("assigned"), b1, T0);
        ledger.admit(rec("assigned"), b2, T0);
        ledger.admit(rec("stored"), b2, T0);
        ledger.assigned("assigned", 1, M1);
        ledger.assigned("stored", 2, M1);
        ledger.stored("stored");

        List<IdLedger.Batch> dropped = ledger.epochChanged(5);
        assertThat(dropped).containsExactlyInAnyOrder(b1, b2);
        assertThat(b1.answered).isTrue();
        assertThat(ledger.epochChanged(6)).as("answered already").isEmpty();

        // Later outcomes answer nobody.
        ledger.indexed(M1, 2, T0);
        assertThat(settled).isEmpty();
    }

    @Test
    void anEpochChangeForgetsAdmittedRecords() {
        ledger.logWasEmpty();
        ledger.admit(rec("a"), batch(1), T0);
        ledger.epochChanged(5);
        assertThat(ledger.liveCount()).isZero();
        assertThat(ledger.verifying()).isZero();
        // Not in the log, not remembered: the resent copy is new.
        assertThat(ledger.admit(rec("a"), batch(1), T0 + 1)).isEqualTo(NEW);
    }

    @Test
    void anEpochChangeVerifiesAssignedRecordsOnlyOnceEveryMaintainerIsSealedAtIt() {
        ledger.logWasEmpty();
        ledger.admit(rec("a"), batch(1), T0);
        ledger.assigned("a", 9, M1);
        ledger.epochChanged(5);
        assertThat(ledger.liveCount()).isEqualTo(1);
        assertThat(ledger.verifying()).isEqualTo(1);
        assertThat(ledger.nextToVerify(10, 4)).as("a late store may still land").isEmpty();
        assertThat(ledger.verifying()).isEqualTo(1);
        assertThat(ledger.nextToVerify(10, 5)).containsExactly("a");
        assertThat(ledger.verifying()).isZero();

        // The resent copy joins the one being verified.
        IdLedger.Batch resent = batch(1);
        assertThat(ledger.admit(rec("a"), resent, T0 + 1)).isEqualTo(JOINED);
        ledger.verified(List.of(new IdLedger.Found("a", 9, null, null)), OWNS_ALL, T0 + 2);
        assertThat(settled).containsExactly(resent);
        assertThat(resent.appended).isEqualTo(1);
    }

    @Test
    void anEpochChangeKeepsStoredRecordsWaitingForTheirIndex() {
        ledger.logWasEmpty();
        ledger.admit(rec("a"), batch(1), T0);
        ledger.assigned("a", 9, M1);
        ledger.stored("a");
        ledger.epochChanged(5);
        assertThat(ledger.liveCount()).isEqualTo(1);
        assertThat(ledger.verifying()).isZero();
        assertThat(ledger.lowestAwaitingIndex(M1)).isEqualTo(9);

        IdLedger.Batch resent = batch(1);
        assertThat(ledger.admit(rec("a"), resent, T0 + 1)).isEqualTo(JOINED);
        ledger.indexed(M1, 9, T0 + 2);
        assertThat(settled).containsExactly(resent);
        assertThat(ledger.admit(rec("a"), batch(1), T0 + 3)).isEqualTo(SETTLED);
    }

    // ------------------------------------------------------------ verification

    @Test
    void nextToVerifyHandsOutAtMostMaxIdsInArrivalOrder() {
        for (String id : List.of("a", "b", "c", "d", "e")) {
            ledger.admit(rec(id), batch(1), T0);
        }
        assertThat(ledger.nextToVerify(2, 0)).containsExactly("a", "b");
        assertThat(ledger.nextToVerify(2, 0)).containsExactly("c", "d");
        assertThat(ledger.verifying()).isEqualTo(1);
        assertThat(ledger.nextToVerify(2, 0)).containsExactly("e");
        assertThat(ledger.nextToVerify(2, 0)).isEmpty();
    }

    @Test
    void aFailedVerificationIsAskedAgain() {
        ledger.admit(rec("a"), batch(1), T0);
        ledger.admit(rec("b"), batch(1), T0);
        List<String> ids = ledger.nextToVerify(10, 0);
        assertThat(ledger.verifying()).isZero();
        ledger.verifyFailed(ids);
        ledger.verifyFailed(List.of("unknown"));
        assertThat(ledger.verifying()).isEqualTo(2);
        assertThat(ledger.nextToVerify(10, 0)).containsExactly("a", "b");
    }

    @Test
    void foundIndexedSettles() {
        IdLedger.Batch b = batch(1);
        ledger.admit(rec("a"), b, T0);
        assertThat(ledger.nextToVerify(10, 0)).containsExactly("a");
        assertThat(ledger.verified(List.of(new IdLedger.Found("a", 42, null, null)), OWNS_ALL, T0)).isEmpty();
        assertThat(settled).containsExactly(b);
        assertThat(b.appended).isEqualTo(1);
        assertThat(ledger.liveCount()).isZero();
        assertThat(ledger.admit(rec("a"), batch(1), T0)).isEqualTo(SETTLED);
    }

    @Test
    void foundUnindexedWaitsForItsMaintainersIndex() {
        IdLedger.Batch b = batch(1);
        ledger.admit(rec("a"), b, T0);
        assertThat(ledger.nextToVerify(10, 0)).containsExactly("a");
        assertThat(ledger.verified(List.of(new IdLedger.Found("a", 42, M2, null)), OWNS_ALL, T0)).isEmpty();
        assertThat(settled).isEmpty();
        assertThat(ledger.maintainersAwaitingIndex()).containsExactly(M2);
        assertThat(ledger.lowestAwaitingIndex(M2)).isEqualTo(42);
        ledger.indexed(M2, 41, T0);
        assertThat(settled).isEmpty();
        ledger.indexed(M2, 42, T0);
        assertThat(settled).containsExactly(b);
        assertThat(b.appended).isEqualTo(1);
    }

    @Test
    void foundRejectedIsRejected() {
        IdLedger.Batch b = batch(1);
        ledger.admit(rec("a"), b, T0);
        assertThat(ledger.nextToVerify(10, 0)).containsExactly("a");
        ledger.verified(List.of(new IdLedger.Found("a", 0, null, "cause timeout")), OWNS_ALL, T0);
        assertThat(settled).containsExactly(b);
        assertThat(b.rejected).isEqualTo(1);
        assertThat(ledger.admit(rec("a"), batch(1), T0)).isEqualTo(SETTLED);
    }

    @Test
    void absentAndOwnedIsHandedBackToAdmit() {
        IdLedger.Batch b = batch(1);
        RecordEnvelope r = rec("a");
        ledger.admit(r, b, T0);
        assertThat(ledger.nextToVerify(10, 0)).containsExactly("a");
        List<RecordEnvelope> admit = ledger.verified(List.of(IdLedger.Found.absent("a")), OWNS_ALL, T0);
        assertThat(admit).containsExactly(r);
        assertThat(ledger.liveCount()).isEqualTo(1);
        assertThat(ledger.verifying()).isZero();
        // From here on it is an admitted record like any other.
        assertThat(ledger.admit(rec("a"), batch(1), T0)).isEqualTo(JOINED);
        ledger.assigned("a", 3, M1);
        ledger.stored("a");
        ledger.indexed(M1, 3, T0);
        assertThat(settled).contains(b);
    }

    @Test
    void anAssignedRecordFoundAbsentAfterAnEpochChangeIsAdmittedAgain() {
        ledger.logWasEmpty();
        RecordEnvelope r = rec("a");
        ledger.admit(r, batch(1), T0);
        ledger.assigned("a", 9, M1);
        ledger.epochChanged(5);
        assertThat(ledger.nextToVerify(10, 5)).containsExactly("a");
        assertThat(ledger.verified(List.of(IdLedger.Found.absent("a")), OWNS_ALL, T0)).containsExactly(r);
    }

    @Test
    void absentAndNoLongerOwnedIsDropped() {
        ledger.admit(rec("a"), batch(1), T0);
        assertThat(ledger.nextToVerify(10, 0)).containsExactly("a");
        assertThat(ledger.verified(List.of(IdLedger.Found.absent("a")), OWNS_NONE, T0)).isEmpty();
        assertThat(ledger.liveCount()).isZero();
        assertThat(settled).isEmpty();
        // Forgotten, not settled: a later copy is admitted again (verified, the queue being young).
        assertThat(ledger.admit(rec("a"), batch(1), T0)).isEqualTo(VERIFYING);
    }

    @Test
    void findingsForIdsNotBeingVerifiedAreIgnored() {
        ledger.logWasEmpty();
        IdLedger.Batch b = batch(1);
        ledger.admit(rec("a"), b, T0);
        List<RecordEnvelope> admit = ledger.verified(List.of(new IdLedger.Found("a", 5, null, null),
                IdLedger.Found.absent("a"), new IdLedger.Found("nobody", 6, null, null)), OWNS_ALL, T0);
        assertThat(admit).isEmpty();
        assertThat(settled).isEmpty();
        assertThat(ledger.liveCount()).isEqualTo(1);
    }

    @Test
    void theWindowCoveredIsReported() {
        assertThat(ledger.windowCoveredNanos(T0 + 10 * SECOND)).isEqualTo(10 * SECOND);
        assertThat(ledger.windowCoveredNanos(T0 + 10 * WINDOW)).isEqualTo(WINDOW);
    }
}
