package io.chariots.queue;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/** CauseProbes through the queries it sends, the keys it returns and its cause clock. */
class CauseProbesTest {
    private static final long MS = 1_000_000L;
    private static final long T0 = 3_000_000_000_000L;
    private static final long MIN = 10 * MS;
    private static final long MAX = 80 * MS;
    private static final List<String> INDEXERS = List.of("ix1", "ix2");

    private record Query(List<String> indexers, long id, List<CauseKey> keys) {
    }

    private final List<Query> sent = new ArrayList<>();
    private final CauseProbes probes = new CauseProbes((ix, id, keys) -> sent.add(new Query(List.copyOf(ix), id,
            List.copyOf(keys))), 3, MIN, MAX);
    // The causes some record still waits for.
    private final Set<CauseKey> unmet = new HashSet<>();
    private final Predicate<CauseKey> stillUnmet = unmet::contains;

    private static CauseKey key(int i) {
        return new CauseKey(0x8000_0000_0000_0000L | i, 77);
    }

    private List<CauseKey> keys(int... is) {
        List<CauseKey> out = new ArrayList<>();
        for (int i : is) {
            out.add(key(i));
            unmet.add(key(i));
        }
        return out;
    }

    private Query last() {
        return sent.get(sent.size() - 1);
    }

    /** Answers the last query: nothing found, every indexer answered. */
    private List<CauseKey> missLast(long now) {
        return probes.onAnswered(last().id(), new long[last().keys().size()], true, stillUnmet, now);
    }

    @Test
    void newCausesAreAskedInBatchesOfMaxBatch() {
        probes.probe(keys(1, 2, 3, 4, 5, 6, 7), INDEXERS, stillUnmet, T0);
        assertThat(sent).extracting(Query::keys).containsExactly(List.of(key(1), key(2), key(3)),
                List.of(key(4), key(5), key(6)), List.of(key(7)));
        assertThat(sent).allSatisfy(q -> assertThat(q.indexers()).isEqualTo(INDEXERS));
        assertThat(sent).extracting(Query::id).doesNotHaveDuplicates();
        assertThat(probes.nextDue()).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void nothingToAskSendsNothing() {
        probes.probe(List.of(), INDEXERS, stillUnmet, T0);
        probes.probe(List.of(), List.of(), stillUnmet, T0);
        assertThat(sent).isEmpty();
        assertThat(probes.stopped()).isFalse();
        assertThat(probes.causeClock(T0 + 5)).isEqualTo(T0 + 5);
    }

    @Test
    void foundKeysAreReturnedAndTheOthersAskedAgainAfterABackoff() {
        probes.probe(keys(1, 2, 3), INDEXERS, stillUnmet, T0);
        List<CauseKey> found = probes.onAnswered(sent.get(0).id(), new long[]{0, 55, 0}, true, stillUnmet, T0 + MS);
        assertThat(found).containsExactly(key(2));
        unmet.remove(key(2));
        assertThat(probes.nextDue()).isEqualTo(T0 + MS + MIN);

        probes.probe(List.of(), INDEXERS, stillUnmet, T0 + MS + MIN - 1);
        assertThat(sent).hasSize(1);
        probes.probe(List.of(), INDEXERS, stillUnmet, T0 + MS + MIN);
        assertThat(sent).hasSize(2);
        assertThat(last().keys()).containsExactly(key(1), key(3));
        // The same answer twice, or an answer nobody asked for: nothing.
        assertThat(probes.onAnswered(sent.get(0).id(), new long[]{1, 1, 1}, true, stillUnmet, T0 + 20 * MS)).isEmpty();
        assertThat(probes.onAnswered(12345, new long[]{1}, true, stillUnmet, T0 + 20 * MS)).isEmpty();
    }

    @Test
    void aShortAnswerCountsAsNotFound() {
        probes.probe(keys(1, 2), INDEXERS, stillUnmet, T0);
        assertThat(probes.onAnswered(last().id(), new long[]{9}, true, stillUnmet, T0)).containsExactly(key(1));
        probes.probe(List.of(), INDEXERS, stillUnmet, T0 + MIN);
        assertThat(last().keys()).containsExactly(key(2));
    }

    @Test
    void theBackoffDoublesPerMissUpToTheMaximum() {
        probes.probe(keys(1), INDEXERS, stillUnmet, T0);
        long now = T0;
        List<Long> waits = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            missLast(now);
            long due = probes.nextDue();
            waits.add(due - now);
            int before = sent.size();
            probes.probe(List.of(), INDEXERS, stillUnmet, due);
            assertThat(sent).hasSize(before + 1);
            assertThat(last().keys()).containsExactly(key(1));
            now = due;
        }
        assertThat(waits).containsExactly(MIN, 2 * MIN, 4 * MIN, MAX, MAX, MAX);
    }

    @Test
    void aKeyNoLongerWaitedForIsNotAskedAgainAndStartsAfreshLater() {
        probes.probe(keys(1), INDEXERS, stillUnmet, T0);
        missLast(T0);
        probes.probe(List.of(), INDEXERS, stillUnmet, T0 + MIN);
        missLast(T0 + MIN); // second miss: due in 2 * MIN
        unmet.remove(key(1));
        probes.probe(List.of(), INDEXERS, stillUnmet, T0 + 3 * MIN);
        assertThat(sent).hasSize(2);
        assertThat(probes.nextDue()).isEqualTo(Long.MAX_VALUE);

        // Waited for again: asked at once, and its first miss backs off by the minimum again.
        probes.probe(keys(1), INDEXERS, stillUnmet, T0 + 4 * MIN);
        assertThat(sent).hasSize(3);
        missLast(T0 + 4 * MIN);
        assertThat(probes.nextDue()).isEqualTo(T0 + 5 * MIN);
    }

    @Test
    void aMissForAKeyNobodyWaitsForIsNotScheduled() {
        probes.probe(keys(1, 2), INDEXERS, stillUnmet, T0);
        unmet.remove(key(1));
        missLast(T0);
        probes.probe(List.of(), INDEXERS, stillUnmet, T0 + MIN);
        assertThat(last().keys()).containsExactly(key(2));
    }

    @Test
    void eachKeyIsAskedAgainAfterItsOwnBackoff() {
        // Key 1 misses four times in a row: its next ask is 8 * MIN away.
        probes.probe(keys(1), INDEXERS, stillUnmet, T0);
        long now = T0;
        for (int i = 0; i < 3; i++) {
            missLast(now);
            now = probes.nextDue();
            probes.probe(List.of(), INDEXERS, stillUnmet, now);
        }
        Query askKey1 = last();
        // Key 2 is new, asked in its own query.
        probes.probe(keys(2), INDEXERS, stillUnmet, now + 1);
        Query askKey2 = last();
        probes.onAnswered(askKey1.id(), new long[1], true, stillUnmet, now + 2);  // key 1: again in 8 * MIN
        probes.onAnswered(askKey2.id(), new long[1], true, stillUnmet, now + 3);  // key 2: again in MIN
        assertThat(probes.nextDue()).isEqualTo(now + 3 + MIN);
        probes.probe(List.of(), INDEXERS, stillUnmet, now + 3 + MIN);
        assertThat(last().keys()).containsExactly(key(2));
        assertThat(probes.nextDue()).isEqualTo(now + 2 + 8 * MIN);
        probes.probe(List.of(), INDEXERS, stillUnmet, now + 2 + 8 * MIN);
        assertThat(last().keys()).containsExactly(key(1));
    }

    @Test
    void theCauseClockRunsWithRealTimeWhileTheIndexersAnswer() {
        assertThat(probes.causeClock(T0)).isEqualTo(T0);
        probes.probe(keys(1), INDEXERS, stillUnmet, T0);
        missLast(T0 + 5 * MS);
        assertThat(probes.stopped()).isFalse();
        assertThat(probes.causeClock(T0 + 7 * MS)).isEqualTo(T0 + 7 * MS);
    }

    @Test
    void aFailedProbeStopsTheClockUntilACompleteAnswer() {
        probes.probe(keys(1, 2), INDEXERS, stillUnmet, T0);
        probes.onFailed(last().id(), stillUnmet, T0 + 100 * MS);
        assertThat(probes.stopped()).isTrue();
        assertThat(probes.causeClock(T0 + 100 * MS)).isEqualTo(T0 + 100 * MS);
        assertThat(probes.causeClock(T0 + 900 * MS)).as("stands still").isEqualTo(T0 + 100 * MS);

        // The keys are asked again after the backoff.
        assertThat(probes.nextDue()).isEqualTo(T0 + 100 * MS + MIN);
        probes.probe(List.of(), INDEXERS, stillUnmet, T0 + 100 * MS + MIN);
        assertThat(last().keys()).containsExactly(key(1), key(2));
        // A second failure changes nothing to the clock; a late failure of the same id is ignored.
        probes.onFailed(last().id(), stillUnmet, T0 + 300 * MS);
        probes.onFailed(last().id(), stillUnmet, T0 + 301 * MS);
        assertThat(probes.causeClock(T0 + 400 * MS)).isEqualTo(T0 + 100 * MS);

        probes.probe(List.of(), INDEXERS, stillUnmet, probes.nextDue());
        missLast(T0 + 1000 * MS); // every indexer answered: the outage is over
        assertThat(probes.stopped()).isFalse();
        assertThat(probes.causeClock(T0 + 1000 * MS)).isEqualTo(T0 + 100 * MS);
        assertThat(probes.causeClock(T0 + 1250 * MS)).isEqualTo(T0 + 350 * MS);
    }

    @Test
    void anIncompleteAnswerStopsTheClockButStillReturnsWhatWasFound() {
        probes.probe(keys(1, 2), INDEXERS, stillUnmet, T0);
        List<CauseKey> found = probes.onAnswered(last().id(), new long[]{0, 42}, false, stillUnmet, T0 + 10 * MS);
        assertThat(found).containsExactly(key(2));
        unmet.remove(key(2));
        assertThat(probes.stopped()).isTrue();
        assertThat(probes.causeClock(T0 + 50 * MS)).isEqualTo(T0 + 10 * MS);

        probes.probe(List.of(), INDEXERS, stillUnmet, T0 + 20 * MS);
        assertThat(last().keys()).containsExactly(key(1));
        // Still incomplete: still stopped.
        probes.onAnswered(last().id(), new long[]{0}, false, stillUnmet, T0 + 30 * MS);
        assertThat(probes.causeClock(T0 + 60 * MS)).isEqualTo(T0 + 10 * MS);
        probes.probe(List.of(), INDEXERS, stillUnmet, probes.nextDue());
        missLast(T0 + 70 * MS);
        assertThat(probes.stopped()).isFalse();
        assertThat(probes.causeClock(T0 + 70 * MS)).isEqualTo(T0 + 10 * MS);
    }

    @Test
    void everyOutageIsSubtracted() {
        probes.probe(keys(1), INDEXERS, stillUnmet, T0);
        probes.onFailed(last().id(), stillUnmet, T0 + 100 * MS);          // outage 1 from 100 ms
        probes.probe(List.of(), INDEXERS, stillUnmet, probes.nextDue());
        missLast(T0 + 300 * MS);                                           // to 300 ms: 200 ms
        probes.probe(List.of(), INDEXERS, stillUnmet, probes.nextDue());
        probes.onAnswered(last().id(), new long[1], false, stillUnmet, T0 + 500 * MS); // outage 2 from 500 ms
        probes.probe(List.of(), INDEXERS, stillUnmet, probes.nextDue());
        missLast(T0 + 550 * MS);                                           // to 550 ms: 50 ms
        assertThat(probes.causeClock(T0 + 1000 * MS)).isEqualTo(T0 + 750 * MS);
    }

    @Test
    void withNoIndexerTheClockStopsAndTheKeysWait() {
        probes.probe(keys(1, 2), List.of(), stillUnmet, T0);
        assertThat(sent).isEmpty();
        assertThat(probes.stopped()).isTrue();
        assertThat(probes.causeClock(T0 + 10_000 * MS)).isEqualTo(T0);
        assertThat(probes.nextDue()).isEqualTo(T0 + MIN);

        // Still none at the re-ask: they wait longer.
        probes.probe(List.of(), List.of(), stillUnmet, T0 + MIN);
        assertThat(sent).isEmpty();
        assertThat(probes.nextDue()).isEqualTo(T0 + 3 * MIN);

        // An indexer appears: asked at the next due time; its complete answer restarts the clock.
        probes.probe(List.of(), List.of("ix1"), stillUnmet, T0 + 3 * MIN);
        assertThat(sent).hasSize(1);
        assertThat(last().indexers()).containsExactly("ix1");
        assertThat(last().keys()).containsExactly(key(1), key(2));
        probes.onAnswered(last().id(), new long[]{3, 4}, true, stillUnmet, T0 + 1000 * MS);
        assertThat(probes.stopped()).isFalse();
        assertThat(probes.causeClock(T0 + 1500 * MS)).isEqualTo(T0 + 500 * MS);
    }

    @Test
    void forgetResetsTheBackoffOfAKey() {
        probes.probe(keys(1), INDEXERS, stillUnmet, T0);
        missLast(T0);
        probes.probe(List.of(), INDEXERS, stillUnmet, T0 + MIN);
        missLast(T0 + MIN); // attempt 2: due in 2 * MIN
        probes.probe(List.of(), INDEXERS, stillUnmet, T0 + 3 * MIN);
        probes.forget(key(1));
        missLast(T0 + 3 * MIN);
        assertThat(probes.nextDue()).as("counted from the first miss again").isEqualTo(T0 + 4 * MIN);
    }
}
