package io.chariots.maintainer;

import io.chariots.proto.IndexEntry;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

class ShareRefeedTest {
    private static final long GONE = 1000;

    private final MemoryMeta meta = new MemoryMeta();
    private final TreeMap<Long, IndexEntry> stored = new TreeMap<>();
    private final List<IndexEntry> sent = new ArrayList<>();
    private final DepartureWatch watch = new DepartureWatch(GONE);

    private final ShareRefeed.Source source = (from, to, limit) -> {
        List<IndexEntry> out = new ArrayList<>();
        for (IndexEntry e : stored.subMap(from, true, to, false).values()) {
            if (out.size() == limit) {
                break;
            }
            out.add(e);
        }
        return out;
    };

    ShareRefeedTest() {
        for (long lid = 1; lid <= 3000; lid++) {
            if (lid % 7 != 0) { // gaps: LIds of other maintainers, or holes
                stored.put(lid, IndexEntry.newBuilder().setLid(lid).setSeed(lid).build());
            }
        }
    }

    private ShareRefeed refeed(IndexShares shares, int window, long now) {
        return new ShareRefeed(shares, watch, source, sent::addAll, window, now);
    }

    private static List<Long> lids(List<IndexEntry> es) {
        return es.stream().map(IndexEntry::getLid).toList();
    }

    private List<Long> expectedOfBlocks(long... blocks) {
        List<Long> out = new ArrayList<>();
        for (long b : blocks) {
            out.addAll(stored.subMap(b * 1000 + 1, true, b * 1000 + 1001, false).keySet());
        }
        return out;
    }

    @Test
    void reFeedsTheDepartedSharesBlocksInLidOrderWithinTheWindowThenForgetsIt() {
        IndexShares shares = new IndexShares(meta);
        shares.recordHeld("d", List.of(1L, 2500L));   // blocks 0 and 2
        shares.recordHeld("a", List.of(1500L));       // block 1
        ShareRefeed r = refeed(shares, 100, 0);
        watch.onView(Set.of("a", "d"), 0);
        r.poll(10);
        assertThat(sent).isEmpty();
        assertThat(r.running()).isFalse();

        watch.onView(Set.of("a"), 100);
        r.poll(100 + GONE - 1);
        assertThat(sent).isEmpty();
        r.poll(100 + GONE);
        assertThat(r.running()).isTrue();
        assertThat(r.departed()).containsExactly("d");
        assertThat(sent).hasSize(100); // the window: no more until acknowledged
        r.poll(100 + GONE + 1);
        assertThat(sent).hasSize(100);

        List<IndexEntry> all = acknowledgeAll(r, 5000);
        assertThat(lids(all)).containsExactlyElementsOf(expectedOfBlocks(0, 2));
        assertThat(r.running()).isFalse();
        assertThat(r.entriesRefed()).isEqualTo(all.size());
        assertThat(shares.holders()).containsExactly("a");
        assertThat(shares.progress()).isEmpty();
        assertThat(new IndexShares(meta).holders()).containsExactly("a");
    }

    @Test
    void aRestartedMaintainerResumesAfterWhatWasAcknowledged() {
        IndexShares shares = new IndexShares(meta);
        shares.recordHeld("d", List.of(1L, 2500L));
        ShareRefeed r = refeed(shares, 300, 0);
        watch.onView(Set.of("d"), 0);
        watch.onView(Set.of(), 0);
        r.poll(GONE);
        List<IndexEntry> first = new ArrayList<>(sent);
        sent.clear();
        r.onIndexed(first.subList(0, 200)); // the rest is lost in the crash
        long through = first.get(199).getLid();
        assertThat(new IndexShares(meta).progress()).contains(new IndexShares.Progress(Set.of("d"), through));

        IndexShares reopened = new IndexShares(meta);
        ShareRefeed resumed = new ShareRefeed(reopened, new DepartureWatch(GONE), source, sent::addAll, 300, 0);
        assertThat(resumed.running()).isTrue();
        resumed.poll(1);
        List<IndexEntry> all = acknowledgeAll(resumed, 2);
        List<Long> expected = expectedOfBlocks(0, 2);
        assertThat(lids(all)).containsExactlyElementsOf(expected.subList(200, expected.size()));
        assertThat(resumed.running()).isFalse();
        assertThat(reopened.holders()).isEmpty();
    }

    @Test
    void anIndexerBackBeforeTheEndStaysAHolder() {
        IndexShares shares = new IndexShares(meta);
        shares.recordHeld("d", List.of(1L));
        shares.recordHeld("a", List.of(1001L));
        ShareRefeed r = refeed(shares, 10_000, 0);
        watch.onView(Set.of("a", "d"), 0);
        watch.onView(Set.of("a"), 0);
        r.poll(GONE);
        watch.onView(Set.of("a", "d"), GONE + 1);
        List<IndexEntry> batch = new ArrayList<>(sent);
        r.onIndexed(batch);
        r.poll(GONE + 2);
        assertThat(r.running()).isFalse();
        assertThat(shares.holders()).containsExactlyInAnyOrder("a", "d");
    }

    @Test
    void aSecondDepartureJoinsTheRunningReFeed() {
        IndexShares shares = new IndexShares(meta);
        shares.recordHeld("d", List.of(2500L));
        shares.recordHeld("e", List.of(1L));
        shares.recordHeld("a", List.of(1500L));
        ShareRefeed r = refeed(shares, 50, 0);
        watch.onView(Set.of("a", "d", "e"), 0);
        watch.onView(Set.of("a", "e"), 0);
        r.poll(GONE);
        watch.onView(Set.of("a"), GONE);
        r.onIndexed(new ArrayList<>(sent));
        r.poll(2 * GONE);
        assertThat(r.departed()).containsExactly("d", "e");
        List<IndexEntry> all = acknowledgeAll(r, 3 * GONE);
        assertThat(lids(all)).containsAll(expectedOfBlocks(0, 2));
        assertThat(lids(all)).doesNotContainAnyElementsOf(expectedOfBlocks(1));
        assertThat(shares.holders()).containsExactly("a");
    }

    /** Acknowledges everything sent, polling at {@code now} after each batch, until nothing more is sent; returns it all. */
    private List<IndexEntry> acknowledgeAll(ShareRefeed r, long now) {
        List<IndexEntry> all = new ArrayList<>();
        while (!sent.isEmpty()) {
            List<IndexEntry> batch = new ArrayList<>(sent);
            sent.clear();
            all.addAll(batch);
            r.onIndexed(batch);
            r.poll(now);
        }
        return all;
    }
}
