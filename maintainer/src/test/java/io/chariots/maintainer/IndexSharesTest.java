package io.chariots.maintainer;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class IndexSharesTest {
    @Test
    void theBlocksToReFeedAreExactlyThoseTheDepartedIndexerAcknowledged() {
        IndexShares shares = new IndexShares(new MemoryMeta());
        shares.recordHeld("a:1", List.of(1L, 999L, 2001L));      // blocks 0 and 2
        shares.recordHeld("b:1", List.of(1001L, 1500L, 3001L));  // blocks 1 and 3
        shares.recordHeld("c:1", List.of(2500L));               // block 2: a view change moved it from a to c
        assertThat(shares.holders()).containsExactlyInAnyOrder("a:1", "b:1", "c:1");
        assertThat(shares.blocksHeldBy(Set.of("a:1"))).containsExactly(0L, 2L);
        assertThat(shares.blocksHeldBy(Set.of("b:1"))).containsExactly(1L, 3L);
        assertThat(shares.blocksHeldBy(Set.of("a:1", "c:1"))).containsExactly(0L, 2L);
        assertThat(shares.blocksHeldBy(Set.of("gone:1"))).isEmpty();
    }

    @Test
    void aBlockIsWrittenOncePerIndexerAndSurvivesARestart() {
        MemoryMeta meta = new MemoryMeta();
        IndexShares shares = new IndexShares(meta);
        shares.recordHeld("a:1", List.of(1L, 2L));
        shares.recordHeld("a:1", List.of(3L, 4L));
        assertThat(meta.writes).isEqualTo(1);
        shares.recordHeld("a:1", List.of(1001L));
        assertThat(meta.writes).isEqualTo(2);

        IndexShares reopened = new IndexShares(meta);
        assertThat(reopened.holders()).containsExactly("a:1");
        assertThat(reopened.blocksHeldBy(Set.of("a:1"))).containsExactly(0L, 1L);
    }

    @Test
    void progressIsDurableAndFinishForgetsTheDepartedOnly() {
        MemoryMeta meta = new MemoryMeta();
        IndexShares shares = new IndexShares(meta);
        shares.recordHeld("a:1", List.of(1L));
        shares.recordHeld("a:10", List.of(1001L)); // a prefix of another address must not be caught
        shares.recordHeld("b:1", List.of(2001L));
        assertThat(shares.progress()).isEmpty();
        shares.saveProgress(new IndexShares.Progress(Set.of("a:1", "b:1"), 1500));
        assertThat(new IndexShares(meta).progress()).contains(new IndexShares.Progress(Set.of("a:1", "b:1"), 1500));

        shares.finish(Set.of("a:1"));
        assertThat(shares.progress()).isEmpty();
        IndexShares reopened = new IndexShares(meta);
        assertThat(reopened.holders()).containsExactlyInAnyOrder("a:10", "b:1");
        assertThat(reopened.progress()).isEmpty();
    }

    @Test
    void theRecordingBacklogRecordsTheIndexerBeforeClearingMarkers() {
        IndexShares shares = new IndexShares(new MemoryMeta());
        List<List<Long>> cleared = new java.util.ArrayList<>();
        IndexFeeder.Backlog store = new IndexFeeder.Backlog() {
            @Override
            public List<io.chariots.proto.IndexEntry> unindexed(long fromLid, int limit) {
                return List.of();
            }

            @Override
            public void markIndexed(List<Long> lids) {
                assertThat(shares.holders()).contains("a:1");
                cleared.add(lids);
            }
        };
        shares.recording(store).markIndexed(List.of(5L), "a:1");
        assertThat(cleared).containsExactly(List.of(5L));
    }
}
