package io.chariots.common.read;

import io.chariots.common.grpc.MessageLimits;
import io.chariots.common.testing.FakeMaintainers;
import io.chariots.proto.RecordBatch;
import io.chariots.proto.RecordEnvelope;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link LogReader#range} over fake maintainers that cap each answer in
 * bytes as the real ones do: a page merges several answers, and must still
 * fit the one message a tail sends it in; paging on from the LId after a
 * page's last reads every record once.
 */
class LogReaderPageBytesTest {
    final FakeMaintainers maintainers = new FakeMaintainers();

    void store(long lid, int bodyBytes) {
        maintainers.store(lid, bodyBytes);
    }

    LogReader reader() {
        return maintainers.reader();
    }

    static long bytesOf(LogReader.Page page) {
        return MessageLimits.bytesOf(page.records());
    }

    /**
     * Both maintainers answer 40 MiB, each within its cap; together they are
     * 80 MiB, which a tail sent as one message that its reader (64 MiB at
     * most) refused, again at every retry from the same LId.
     */
    @Test
    void aPageOfTwoMaintainersAnswersFitsOneMessage() {
        for (long lid = 999; lid <= 1002; lid++) {
            store(lid, 20 * FakeMaintainers.MIB);
        }
        LogReader reader = reader();

        LogReader.Page page = reader.range(999, 100).join();

        assertThat(page.records()).isNotEmpty();
        assertThat(RecordBatch.newBuilder().addAllRecords(page.records()).build().getSerializedSize())
                .as("the tail's message").isLessThanOrEqualTo(MessageLimits.MAX_MESSAGE_BYTES);
        assertThat(bytesOf(page)).isLessThanOrEqualTo(Math.max(MessageLimits.BATCH_BYTES, FakeMaintainers.largest(page.records())));
        assertThat(page.unavailable()).isNull();
    }

    @Test
    void aRecordLargerThanABatchIsAPageAlone() {
        store(1, 1_000);
        store(2, 30 * FakeMaintainers.MIB);
        store(3, 1_000);
        LogReader reader = reader();

        assertThat(reader.range(1, 10).join().records()).extracting(RecordEnvelope::getLid).containsExactly(1L);
        assertThat(reader.range(2, 10).join().records()).extracting(RecordEnvelope::getLid).containsExactly(2L);
        assertThat(reader.range(3, 10).join().records()).extracting(RecordEnvelope::getLid).containsExactly(3L);
    }

    /**
     * A log of records from a kilobyte to 40 MiB across both maintainers'
     * blocks, paged as the tails and {@code GET /records} do (on from the LId
     * after a page's last): every record once, in order, and no page past
     * the larger of 16 MiB and its one record.
     */
    @Test
    void pagingOnFromEachPagesLastReadsEveryRecordOnce() {
        int[] sizes = {1_000, 3 * FakeMaintainers.MIB, 7 * FakeMaintainers.MIB, 1_000, 17 * FakeMaintainers.MIB, 40 * FakeMaintainers.MIB, 5 * FakeMaintainers.MIB, 12 * FakeMaintainers.MIB, 1_000, 1_000};
        long last = 0;
        for (long lid = 1; lid <= 3_500; lid++) {
            // Large records cluster at the ends of blocks, where a page takes both maintainers' answers.
            boolean nearABlockEnd = lid % 1000 >= 990 || lid % 1000 <= 10;
            store(lid, nearABlockEnd ? sizes[(int) (lid % sizes.length)] : 1_000);
            last = lid;
        }
        LogReader reader = reader();

        List<Long> read = new ArrayList<>();
        long from = 1;
        for (int pages = 0; pages < 1_000; pages++) {
            LogReader.Page page = reader.range(from, 1_000).join();
            if (page.records().isEmpty()) {
                break;
            }
            assertThat(bytesOf(page)).as("page from %d", from)
                    .isLessThanOrEqualTo(Math.max(MessageLimits.BATCH_BYTES, FakeMaintainers.largest(page.records())));
            page.records().forEach(r -> read.add(r.getLid()));
            from = page.records().get(page.records().size() - 1).getLid() + 1;
        }

        assertThat(read).hasSize((int) last);
        assertThat(maintainers.largestAnswer()).as("each maintainer is asked for no more than a page")
                .isLessThanOrEqualTo(MessageLimits.BATCH_BYTES);
        for (int i = 0; i < read.size(); i++) {
            assertThat(read.get(i)).isEqualTo(i + 1L);
        }
    }
}
