package io.chariots.maintainer;

import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class DepartureWatchTest {
    private static final long GONE = 30_000;

    @Test
    void anIndexerAbsentLongerThanTheGoneTimeIsGone() {
        DepartureWatch w = new DepartureWatch(GONE);
        w.onView(Set.of("a", "b"), 0);
        assertThat(w.gone(Set.of("a", "b"), 10)).isEmpty();
        w.onView(Set.of("a"), 1000);
        assertThat(w.gone(Set.of("a", "b"), 1000 + GONE - 1)).isEmpty();
        assertThat(w.nextJudgement()).isEqualTo(1000 + GONE);
        assertThat(w.gone(Set.of("a", "b"), 1000 + GONE)).containsExactly("b");
    }

    @Test
    void aRestartWithinTheGoneTimeChangesNothing() {
        DepartureWatch w = new DepartureWatch(GONE);
        w.onView(Set.of("a", "b"), 0);
        w.onView(Set.of("a"), 1000);
        w.onView(Set.of("a", "b"), 1000 + GONE / 2);
        assertThat(w.gone(Set.of("a", "b"), 1000 + 2 * GONE)).isEmpty();
        // and it is timed afresh if it leaves again
        w.onView(Set.of("a"), 100_000);
        assertThat(w.gone(Set.of("a", "b"), 100_000 + GONE - 1)).isEmpty();
        assertThat(w.gone(Set.of("a", "b"), 100_000 + GONE)).containsExactly("b");
    }

    @Test
    void nothingIsGoneBeforeTheFirstViewAndAHolderAbsentAtStartIsTimedFromThen() {
        DepartureWatch w = new DepartureWatch(GONE);
        assertThat(w.gone(Set.of("old"), 5 * GONE)).isEmpty();
        w.onView(Set.of("a"), 6 * GONE);
        assertThat(w.gone(Set.of("a", "old"), 6 * GONE)).isEmpty();
        assertThat(w.gone(Set.of("a", "old"), 7 * GONE)).containsExactly("old");
        assertThat(w.listed("a")).isTrue();
        assertThat(w.listed("old")).isFalse();
    }
}
