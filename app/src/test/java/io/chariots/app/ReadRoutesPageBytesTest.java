package io.chariots.app;

import io.chariots.common.grpc.MessageLimits;
import io.chariots.common.read.LogReader;
import io.chariots.common.testing.FakeMaintainers;
import io.chariots.proto.RecordEnvelope;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Pages of records read by LId ({@code GET /records?tag=}, {@code GET /trace/}):
 * each maintainer caps its answer in bytes, a page gathers several answers,
 * and must stay within the larger of 16 MiB and one record, paging on from
 * {@code next} reading every record once.
 */
class ReadRoutesPageBytesTest {
    final FakeMaintainers maintainers = new FakeMaintainers();
    final LogReader reader = maintainers.reader();

    void store(long lid, int bodyBytes) {
        maintainers.store(lid, bodyBytes);
    }

    /** The page of {@code lids} (as an indexer listed them), as the app answers it. */
    ReadRoutes.PageAnswer page(long[] lids, long from) {
        return ReadRoutes.pageOf(lids, reader.records(lids).join(), from);
    }

    static void assertWithinBatch(ReadRoutes.PageAnswer page) {
        long largest = FakeMaintainers.largest(page.records());
        assertThat(MessageLimits.bytesOf(page.records())).as("page to %d", page.next())
                .isLessThanOrEqualTo(Math.max(MessageLimits.BATCH_BYTES, largest));
    }

    /** Both maintainers answer 40 MiB, each within its cap; a page of both, 80 MiB, was built into one JSON body. */
    @Test
    void aPageOfTwoMaintainersAnswersIsCutAndGoesOnFromNext() {
        long[] lids = {999, 1000, 1001, 1002};
        for (long lid : lids) {
            store(lid, 20 * FakeMaintainers.MIB);
        }

        ReadRoutes.PageAnswer first = page(lids, 999);

        assertWithinBatch(first);
        assertThat(first.records()).extracting(RecordEnvelope::getLid).containsExactly(999L);
        assertThat(first.unavailable()).isNull();
        assertThat(first.next()).isEqualTo(1000);
        ReadRoutes.PageAnswer second = page(new long[] {1000, 1001, 1002}, first.next());
        assertThat(second.records()).extracting(RecordEnvelope::getLid).containsExactly(1000L);
        assertThat(second.next()).isEqualTo(1001);
    }

    /**
     * Tagged records from a kilobyte to 40 MiB spread over both maintainers'
     * blocks, paged as a reader of {@code GET /records?tag=} does (the indexer
     * lists LIds from {@code next}): every record once, in order.
     */
    @Test
    void pagingOnFromNextReadsEveryTaggedRecordOnce() {
        int[] sizes = {1_000, 3 * FakeMaintainers.MIB, 7 * FakeMaintainers.MIB, 17 * FakeMaintainers.MIB, 40 * FakeMaintainers.MIB, 5 * FakeMaintainers.MIB, 12 * FakeMaintainers.MIB, 1_000};
        List<Long> tagged = new ArrayList<>();
        for (long lid = 1; lid <= 6_000; lid += 37) {
            store(lid, sizes[tagged.size() % sizes.length]);
            tagged.add(lid);
        }

        List<Long> read = new ArrayList<>();
        long from = 1;
        for (int pages = 0; pages < 1_000; pages++) {
            long f = from;
            long[] lids = tagged.stream().filter(l -> l >= f).limit(ReadRoutes.MAX_LIMIT).mapToLong(Long::longValue).toArray();
            if (lids.length == 0) {
                break;
            }
            ReadRoutes.PageAnswer page = page(lids, from);
            assertWithinBatch(page);
            assertThat(page.records()).as("page from %d", from).isNotEmpty();
            page.records().forEach(r -> read.add(r.getLid()));
            from = page.next();
        }

        assertThat(read).isEqualTo(tagged);
        assertThat(maintainers.largestAnswer()).as("each maintainer is asked for no more than a page")
                .isLessThanOrEqualTo(MessageLimits.BATCH_BYTES);
    }
}
