package io.chariots.common.acks;

import io.chariots.common.acks.AppendWaiters.Appended;
import io.chariots.common.acks.AppendWaiters.Outcome;
import io.chariots.common.acks.AppendWaiters.Rejected;
import io.chariots.common.acks.AppendWaiters.TimedOut;
import io.chariots.common.loop.EventLoop;
import io.chariots.proto.AppendedId;
import io.chariots.proto.AppendedIds;
import io.chariots.proto.IdStatus;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/** The waiters alone: lookups completed by hand, time handed to poll. */
class AppendWaitersTest {
    static final long MS = 1_000_000;
    static final String IX1 = "10.0.0.1:9040";
    static final String IX2 = "10.0.0.2:9040";

    /** A lookup call waiting for the test to answer it. */
    record Call(String indexer, List<String> ids, Consumer<List<IdStatus>> reply, Consumer<Throwable> failed) {
        void answer(IdStatus... statuses) {
            reply.accept(List.of(statuses));
        }
    }

    final List<Call> calls = new ArrayList<>();
    final List<List<Outcome>> results = new ArrayList<>();
    long now = 5_000 * MS; // any origin: only differences count

    AppendWaiters waiters(int maxWaiting) {
        AppendWaiters w = new AppendWaiters((ix, ids, reply, failed) -> calls.add(new Call(ix, ids, reply, failed)),
                new AppendWaiters.Limits(maxWaiting, Duration.ofMillis(200), Duration.ofMillis(500), 3), 0);
        w.onIndexers(List.of(IX1, IX2));
        return w;
    }

    AppendWaiters.Wait await(AppendWaiters w, long timeoutMs, String... ids) {
        return w.await(List.of(ids), now + timeoutMs * MS, now, results::add);
    }

    static AppendedIds notice(String id, long lid, int host) {
        return AppendedIds.newBuilder().addIds(AppendedId.newBuilder().setId(id).setLid(lid).setHost(host)).build();
    }

    static IdStatus appended(String id, long lid) {
        return IdStatus.newBuilder().setId(id).setLid(lid).build();
    }

    static IdStatus unknown(String id) {
        return IdStatus.newBuilder().setId(id).build();
    }

    @Test
    void pushedNoticesCompleteAWaitOnceEveryIdIsInTheLogWithoutAnyLookup() {
        AppendWaiters w = waiters(100);
        await(w, 10_000, "a", "b");
        assertThat(w.poll(now)).as("next: the first lookup, 200 ms on").isEqualTo(now + 200 * MS);
        w.onAppended(notice("b", 8, 1));
        assertThat(results).isEmpty();
        w.onAppended(notice("a", 7, 1));
        w.onAppended(notice("zzz", 9, 1)); // nobody waits: ignored
        assertThat(results).containsExactly(List.of(new Appended(7, 1), new Appended(8, 1)));
        assertThat(w.waitingIds()).isZero();
        now += 300 * MS;
        assertThat(w.poll(now)).isEqualTo(EventLoop.Ticker.NO_DEADLINE);
        assertThat(calls).isEmpty();
        assertThat(w.appendedByNotice()).isEqualTo(2);
    }

    @Test
    void anIdWithoutANoticeIsLookedUpAtEveryIndexerAfter200MsThenEvery500Ms() {
        AppendWaiters w = waiters(100);
        await(w, 10_000, "dup"); // say: a retry the filter dropped as a duplicate; no notice will come
        now += 199 * MS;
        w.poll(now);
        assertThat(calls).isEmpty();
        now += MS;
        w.poll(now);
        assertThat(calls).extracting(Call::indexer).containsExactly(IX1, IX2);
        assertThat(calls.get(0).ids()).containsExactly("dup");
        assertThat(w.poll(now)).as("one round in flight at a time; only the timeout is due")
                .isEqualTo(now - 200 * MS + 10_000 * MS);
        calls.get(0).answer(unknown("dup"));
        calls.get(1).failed().accept(Status.UNAVAILABLE.asRuntimeException());
        assertThat(w.poll(now)).isEqualTo(now + 500 * MS);
        now += 500 * MS;
        w.poll(now);
        assertThat(calls).hasSize(4);
        calls.get(2).answer(unknown("dup"));
        calls.get(3).answer(appended("dup", 42));
        assertThat(results).containsExactly(List.of(new Appended(42, 0)));
        assertThat(w.appendedByLookup()).isEqualTo(1);
    }

    @Test
    void lookupsAreBatchedAndCappedAndTheRestFollowInTheNextRound() {
        AppendWaiters w = waiters(100);
        await(w, 10_000, "a", "b");
        await(w, 10_000, "c", "d");
        now += 200 * MS;
        w.poll(now);
        assertThat(calls).hasSize(2);
        assertThat(calls.get(0).ids()).containsExactly("a", "b", "c");
        calls.get(0).answer(appended("a", 1), appended("b", 2), appended("c", 3));
        calls.get(1).answer();
        w.poll(now);
        assertThat(calls).as("d was due already: the next round starts at once").hasSize(4);
        assertThat(calls.get(2).ids()).containsExactly("d");
        assertThat(results).containsExactly(List.of(new Appended(1, 0), new Appended(2, 0)));
    }

    @Test
    void aRejectedRecordIsReportedWithItsReason() {
        AppendWaiters w = waiters(100);
        await(w, 60_000, "effect", "other");
        w.onAppended(notice("other", 3, 0));
        now += 200 * MS;
        w.poll(now);
        calls.get(0).answer(IdStatus.newBuilder().setId("effect").setRejected("cause never came within 30000 ms").build());
        calls.get(1).answer(unknown("effect"));
        assertThat(results).containsExactly(List.of(new Rejected("cause never came within 30000 ms"), new Appended(3, 0)));
    }

    @Test
    void whatIsNotResolvedByTheDeadlineTimesOutAndLateNewsIsIgnored() {
        AppendWaiters w = waiters(100);
        await(w, 100, "a", "b");
        w.onAppended(notice("a", 1, 0));
        assertThat(w.poll(now)).isEqualTo(now + 100 * MS);
        now += 99 * MS;
        w.poll(now);
        assertThat(results).isEmpty();
        now += MS;
        w.poll(now);
        assertThat(results).containsExactly(List.of(new Appended(1, 0), new TimedOut()));
        assertThat(w.waitingIds()).isZero();
        w.onAppended(notice("b", 2, 0));
        assertThat(results).hasSize(1);
        assertThat(w.timedOut()).isEqualTo(1);
        assertThat(w.poll(now)).isEqualTo(EventLoop.Ticker.NO_DEADLINE);
    }

    @Test
    void twoWaitsForTheSameIdBothLearnTheOutcomeAndEachKeepsItsOwnDeadline() {
        AppendWaiters w = waiters(100);
        await(w, 100, "x");
        await(w, 1000, "x", "x"); // a retry of a request that timed out, and an array naming x twice
        now += 100 * MS;
        w.poll(now);
        assertThat(results).containsExactly(List.of(new TimedOut()));
        w.onAppended(notice("x", 5, 0));
        assertThat(results).hasSize(2);
        assertThat(results.get(1)).containsExactly(new Appended(5, 0), new Appended(5, 0));
    }

    @Test
    void beyondTheBoundAnAwaitIsRefusedAndRoomReturnsAsIdsResolve() {
        AppendWaiters w = waiters(3);
        assertThat(await(w, 1000, "a", "b")).isNotNull();
        assertThat(await(w, 1000, "c", "d")).as("4 > 3 waiting").isNull();
        assertThat(w.refused()).isEqualTo(1);
        assertThat(await(w, 1000, "c")).isNotNull();
        assertThat(w.hasRoomFor(1)).isFalse();
        w.onAppended(notice("a", 1, 0));
        assertThat(w.hasRoomFor(1)).isTrue();
        assertThat(results).isEmpty();
    }

    @Test
    void aCancelledWaitNeverCallsBackAndFreesItsRoom() {
        AppendWaiters w = waiters(2);
        AppendWaiters.Wait wait = await(w, 1000, "a", "b");
        w.cancel(wait);
        assertThat(w.waitingIds()).isZero();
        assertThat(w.hasRoomFor(2)).isTrue();
        w.onAppended(notice("a", 1, 0));
        now += 2000 * MS;
        w.poll(now);
        assertThat(results).isEmpty();
        assertThat(calls).as("nothing left to look up").isEmpty();
    }

    @Test
    void withoutIndexersNothingIsLookedUpAndOnlyTimeoutsAreDue() {
        AppendWaiters w = waiters(10);
        w.onIndexers(List.of());
        await(w, 1000, "a");
        now += 500 * MS;
        assertThat(w.poll(now)).isEqualTo(now + 500 * MS);
        assertThat(calls).isEmpty();
        w.onIndexers(List.of(IX1));
        w.poll(now);
        assertThat(calls).hasSize(1);
    }

    @Test
    void metersReportWhatTheWaitersSaw() {
        io.micrometer.core.instrument.simple.SimpleMeterRegistry meters = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        AppendWaiters w = waiters(2);
        w.registerMeters(meters, "app");
        await(w, 10_000, "a", "b");
        assertThat(await(w, 10_000, "c")).as("a third id does not fit").isNull();
        assertThat(meters.get("chariots_app_append_waiting").gauge().value()).isEqualTo(2);
        w.onAppended(notice("a", 7, 0));
        now += 250 * MS;
        w.poll(now); // b is due for lookup at both indexers
        calls.get(0).failed().accept(new RuntimeException("down"));
        calls.get(1).answer(appended("b", 8));
        assertThat(meters.get("chariots_app_append_acks_total").tag("via", "notice").functionCounter().count()).isEqualTo(1);
        assertThat(meters.get("chariots_app_append_acks_total").tag("via", "lookup").functionCounter().count()).isEqualTo(1);
        assertThat(meters.get("chariots_app_append_waits_refused_total").functionCounter().count()).isEqualTo(1);
        assertThat(meters.get("chariots_app_append_lookups_total").functionCounter().count()).isEqualTo(2);
        assertThat(meters.get("chariots_app_append_lookup_failures_total").functionCounter().count()).isEqualTo(1);
        assertThat(meters.get("chariots_app_append_waiting").gauge().value()).isZero();
        assertThat(meters.get("chariots_app_append_waits_timed_out_total").functionCounter().count()).isZero();
        assertThat(meters.get("chariots_app_append_waits_rejected_total").functionCounter().count()).isZero();
    }
}
