package io.chariots.queue;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class IndexerDeparturesTest {
    private static final long S = 1_000_000_000L;
    private static final long WINDOW = 600 * S;
    private static final List<String> MAINTAINERS = List.of("m1", "m2");

    @Test
    void aDepartedIndexerIsAskedUntilEveryMaintainerHasReFedItsShare() {
        IndexerDepartures d = new IndexerDepartures(WINDOW);
        d.onView(List.of("a", "b"), 0);
        assertThat(d.due(MAINTAINERS, 0)).as("nobody away: no polling").isEmpty();
        d.onView(List.of("a"), 10 * S);
        assertThat(d.toAsk(MAINTAINERS, 10 * S)).containsExactly("a", "b");
        assertThat(d.due(MAINTAINERS, 11 * S)).containsExactly("m1", "m2");
        assertThat(d.due(MAINTAINERS, 11 * S)).as("in flight").isEmpty();

        // one maintainer still re-feeds b's share, the other never fed b
        d.onHolders("m1", 11 * S, Set.of("a", "b"));
        d.onHolders("m2", 11 * S, Set.of("a"));
        assertThat(d.toAsk(MAINTAINERS, 50 * S)).containsExactly("a", "b");

        d.onHolders("m1", 60 * S, Set.of("a"));
        assertThat(d.toAsk(MAINTAINERS, 61 * S)).as("m2's answer predates the margin").containsExactly("a", "b");
        d.onHolders("m2", 60 * S, Set.of("a"));
        assertThat(d.toAsk(MAINTAINERS, 61 * S)).containsExactly("a");
        assertThat(d.due(MAINTAINERS, 70 * S)).isEmpty();
    }

    @Test
    void answersAskedTooSoonAfterTheDepartureDoNotCount() {
        IndexerDepartures d = new IndexerDepartures(WINDOW);
        d.onView(List.of("a", "b"), 0);
        d.onView(List.of("a"), 10 * S);
        d.onHolders("m1", 10 * S + 1, Set.of("a"));
        d.onHolders("m2", 10 * S + 1, Set.of("a"));
        assertThat(d.toAsk(MAINTAINERS, 11 * S)).containsExactly("a", "b");
    }

    @Test
    void withoutAnswersTheDedupWindowStillEndsItButAHolderNeverIsDropped() {
        IndexerDepartures d = new IndexerDepartures(WINDOW);
        d.onView(List.of("a", "b", "c"), 0);
        d.onView(List.of("a"), 10 * S);
        d.onHolders("m1", 20 * S, Set.of("c"));
        d.onHoldersFailed("m2");
        assertThat(d.toAsk(MAINTAINERS, 10 * S + WINDOW)).containsExactly("a", "b", "c");
        assertThat(d.toAsk(MAINTAINERS, 11 * S + WINDOW)).containsExactly("a", "c");
    }

    @Test
    void anIndexerBackIsJustListedAgain() {
        IndexerDepartures d = new IndexerDepartures(WINDOW);
        d.onView(List.of("a", "b"), 0);
        d.onView(List.of("a"), 10 * S);
        d.onView(List.of("a", "b"), 12 * S);
        assertThat(d.anyAway()).isFalse();
        assertThat(d.toAsk(MAINTAINERS, 2 * WINDOW)).containsExactly("a", "b");
    }
}
