package io.chariots.queue;

import io.chariots.proto.SealReply;
import org.junit.jupiter.api.Test;

import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

class SealReportTest {
    private static SealReply page(long floor, long maxLid, long... lids) {
        SealReply.Builder b = SealReply.newBuilder().setSealed(true).setFloor(floor).setMaxLid(maxLid);
        for (long l : lids) {
            b.addLids(l).addIds("id-" + l);
        }
        return b.build();
    }

    @Test
    void pagesAddUpUntilTheLastReachesTheMaxLid() {
        SealReport r = new SealReport();
        assertThat(r.add(page(10, 40, 12, 14))).isEqualTo(SealReport.Added.MORE);
        assertThat(r.nextAfter()).isEqualTo(14);
        assertThat(r.add(page(10, 40, 20, 30))).isEqualTo(SealReport.Added.MORE);
        assertThat(r.add(page(16, 40, 40))).isEqualTo(SealReport.Added.WHOLE);
        assertThat(r.size()).isEqualTo(5);
        assertThat(r.floor()).as("the highest floor a page gave").isEqualTo(16);
        assertThat(r.maxLid()).isEqualTo(40);
        assertThat(LongStream.rangeClosed(11, 41).filter(r::holds).toArray()).containsExactly(12, 14, 20, 30, 40);
    }

    @Test
    void aPageThatDoesNotGoOnBreaksTheReport() {
        SealReport again = new SealReport();
        again.add(page(10, 40, 12, 14));
        assertThat(again.add(page(10, 40, 12, 14))).isEqualTo(SealReport.Added.BROKEN);
        SealReport empty = new SealReport();
        empty.add(page(10, 40, 12, 14));
        assertThat(empty.add(page(10, 40))).isEqualTo(SealReport.Added.BROKEN);
    }

    @Test
    void anEmptyPageWhoseFloorReachedItsMaxLidEndsTheReport() {
        // Between pages, late hole markers filled every gap up to the max LId: the next page lists nothing.
        SealReport r = new SealReport();
        assertThat(r.add(page(10, 40, 12, 14))).isEqualTo(SealReport.Added.MORE);
        assertThat(r.add(page(40, 40))).isEqualTo(SealReport.Added.WHOLE);
        assertThat(r.floor()).isEqualTo(40);
        // And a page's floor may pass what the pages before listed: no more to ask.
        SealReport risen = new SealReport();
        risen.add(page(10, 40, 12, 14));
        assertThat(risen.add(page(40, 40, 38))).as("a floor at the max LId leaves nothing to ask for").isEqualTo(SealReport.Added.WHOLE);
    }

    @Test
    void lidsAboveTwoToTheSixtyThreeAreOrderedUnsigned() {
        long big = Long.MIN_VALUE + 5; // 2^63 + 5
        SealReport r = new SealReport();
        assertThat(r.add(page(0, big + 2, 7, big))).isEqualTo(SealReport.Added.MORE);
        assertThat(r.add(page(0, big + 2, big + 2))).isEqualTo(SealReport.Added.WHOLE);
        assertThat(r.holds(big)).isTrue();
        assertThat(r.holds(big + 1)).isFalse();
        assertThat(r.holds(7)).isTrue();
    }

    @Test
    void anEmptyReportIsWhole() {
        SealReport r = new SealReport();
        assertThat(r.add(page(5, 5))).isEqualTo(SealReport.Added.WHOLE);
        assertThat(r.size()).isZero();
        assertThat(r.holds(5)).isFalse();
    }

    @Test
    void manyPagesGrowTheArrayWithoutLosingALid() {
        SealReport r = new SealReport();
        long next = 1;
        for (int p = 0; p < 50; p++) {
            long[] lids = LongStream.range(next, next + 1000).map(l -> l * 2).toArray();
            next += 1000;
            assertThat(r.add(page(0, 100_000, lids))).isEqualTo(p < 49 ? SealReport.Added.MORE : SealReport.Added.WHOLE);
        }
        assertThat(r.size()).isEqualTo(50_000);
        assertThat(r.holds(2)).isTrue();
        assertThat(r.holds(3)).isFalse();
        assertThat(r.holds(100_000)).isTrue();
    }
}
