package io.chariots.common.read;

import com.google.common.util.concurrent.Futures;
import io.chariots.common.grpc.MessageLimits;
import io.chariots.common.membership.Membership;
import io.chariots.proto.Layout;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.RecordBatch;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;
import io.chariots.proto.Stripe;
import com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link LogReader#range} over fake maintainers that cap each answer in
 * bytes as the real ones do: a page merges several answers, and must still
 * fit the one message a tail sends it in; paging on from the LId after a
 * page's last reads every record once.
 */
class LogReaderPageBytesTest {
    static final String A = "127.0.0.1:10030";
    static final String B = "127.0.0.2:10030";
    static final int MIB = 1 << 20;
    /** A maintainer's answer stops before a record that would take it past this, unless it is the first. */
    static final long MAINTAINER_REPLY_BYTES = 48L << 20;

    /** Records by LId, per maintainer (A holds the odd blocks of 1000 LIds from 1, B the even ones). */
    final Map<String, NavigableMap<Long, RecordEnvelope>> stored = new HashMap<>();
    // Bodies shared by every record of a size: a log of gigabytes costs the test megabytes.
    final Map<Integer, ByteString> bodies = new HashMap<>();

    final LogReader.MaintainerClient fake = (addr, req, deadline) -> {
        RecordBatch.Builder out = RecordBatch.newBuilder();
        long bytes = 0;
        NavigableMap<Long, RecordEnvelope> mine = stored.getOrDefault(addr, new TreeMap<>());
        for (RecordEnvelope r : mine.subMap(req.getFromLid(), true, req.getFromLid() + req.getLimit(), false).values()) {
            if (out.getRecordsCount() > 0 && bytes + r.getSerializedSize() > MAINTAINER_REPLY_BYTES) {
                break;
            }
            bytes += r.getSerializedSize();
            out.addRecords(r);
        }
        return Futures.immediateFuture(out.build());
    };

    LogReader reader() {
        Membership view = new Membership(MembershipView.newBuilder().setEpoch(1).setVersion(1)
                .addMembers(maintainer(A, 1)).addMembers(maintainer(B, 2))
                .setLayout(Layout.newBuilder().setEpoch(1).setVersion(1)
                        .addStripes(Stripe.newBuilder().setFromLid(1).addMaintainers(A).addMaintainers(B)))
                .build());
        return new LogReader(null, fake, () -> view, Duration.ofSeconds(1));
    }

    static Member maintainer(String grpc, int seq) {
        return Member.newBuilder().setRole(Role.MAINTAINER).setInstanceId("m" + seq).setJoinSeq(seq)
                .setGrpcAddress(grpc).build();
    }

    /** Stores LId {@code lid} with a body of {@code bodyBytes} on the maintainer of its block. */
    void store(long lid, int bodyBytes) {
        String owner = (lid - 1) / 1000 % 2 == 0 ? A : B;
        ByteString body = bodies.computeIfAbsent(bodyBytes, n -> ByteString.copyFrom(new byte[n]));
        stored.computeIfAbsent(owner, k -> new TreeMap<>())
                .put(lid, RecordEnvelope.newBuilder().setLid(lid).setId("r" + lid).setBody(body).build());
    }

    static long bytesOf(LogReader.Page page) {
        return MessageLimits.bytesOf(page.records());
    }

    static long largest(List<RecordEnvelope> records) {
        return records.stream().mapToLong(RecordEnvelope::getSerializedSize).max().orElse(0);
    }

    /**
     * Both maintainers answer 40 MiB, each within its cap; together they are
     * 80 MiB, which a tail sent as one message that its reader (64 MiB at
     * most) refused, again at every retry from the same LId.
     */
    @Test
    void aPageOfTwoMaintainersAnswersFitsOneMessage() {
        for (long lid = 999; lid <= 1002; lid++) {
            store(lid, 20 * MIB);
        }
        LogReader reader = reader();

        LogReader.Page page = reader.range(999, 100).join();

        assertThat(page.records()).isNotEmpty();
        assertThat(RecordBatch.newBuilder().addAllRecords(page.records()).build().getSerializedSize())
                .as("the tail's message").isLessThanOrEqualTo(MessageLimits.MAX_MESSAGE_BYTES);
        assertThat(bytesOf(page)).isLessThanOrEqualTo(Math.max(MessageLimits.BATCH_BYTES, largest(page.records())));
        assertThat(page.unavailable()).isNull();
    }

    @Test
    void aRecordLargerThanABatchIsAPageAlone() {
        store(1, 1_000);
        store(2, 30 * MIB);
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
        int[] sizes = {1_000, 3 * MIB, 7 * MIB, 1_000, 17 * MIB, 40 * MIB, 5 * MIB, 12 * MIB, 1_000, 1_000};
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
                    .isLessThanOrEqualTo(Math.max(MessageLimits.BATCH_BYTES, largest(page.records())));
            page.records().forEach(r -> read.add(r.getLid()));
            from = page.records().get(page.records().size() - 1).getLid() + 1;
        }

        assertThat(read).hasSize((int) last);
        for (int i = 0; i < read.size(); i++) {
            assertThat(read.get(i)).isEqualTo(i + 1L);
        }
    }
}
