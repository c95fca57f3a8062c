package io.chariots.app;

import com.google.common.util.concurrent.Futures;
import com.google.protobuf.ByteString;
import io.chariots.common.grpc.MessageLimits;
import io.chariots.common.membership.Membership;
import io.chariots.common.read.LogReader;
import io.chariots.proto.Layout;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.RecordBatch;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;
import io.chariots.proto.Stripe;
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
 * Pages of records read by LId ({@code GET /records?tag=}, {@code GET /trace/}):
 * each maintainer caps its answer in bytes, a page gathers several answers,
 * and must stay within the larger of 16 MiB and one record, paging on from
 * {@code next} reading every record once.
 */
class ReadRoutesPageBytesTest {
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
        for (long lid : req.getLidsList()) {
            RecordEnvelope r = mine.get(lid);
            if (r == null) {
                continue;
            }
            if (out.getRecordsCount() > 0 && bytes + r.getSerializedSize() > MAINTAINER_REPLY_BYTES) {
                break;
            }
            bytes += r.getSerializedSize();
            out.addRecords(r);
        }
        return Futures.immediateFuture(out.build());
    };

    final LogReader reader;

    ReadRoutesPageBytesTest() {
        Membership view = new Membership(MembershipView.newBuilder().setEpoch(1).setVersion(1)
                .addMembers(maintainer(A, 1)).addMembers(maintainer(B, 2))
                .setLayout(Layout.newBuilder().setEpoch(1).setVersion(1)
                        .addStripes(Stripe.newBuilder().setFromLid(1).addMaintainers(A).addMaintainers(B)))
                .build());
        reader = new LogReader(null, fake, () -> view, Duration.ofSeconds(1));
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

    /** The page of {@code lids} (as an indexer listed them), as the app answers it. */
    ReadRoutes.PageAnswer page(long[] lids, long from) {
        return ReadRoutes.pageOf(lids, reader.records(lids).join(), from);
    }

    static void assertWithinBatch(ReadRoutes.PageAnswer page) {
        long largest = page.records().stream().mapToLong(RecordEnvelope::getSerializedSize).max().orElse(0);
        assertThat(MessageLimits.bytesOf(page.records())).as("page to %d", page.next())
                .isLessThanOrEqualTo(Math.max(MessageLimits.BATCH_BYTES, largest));
    }

    /** Both maintainers answer 40 MiB, each within its cap; a page of both, 80 MiB, was built into one JSON body. */
    @Test
    void aPageOfTwoMaintainersAnswersIsCutAndGoesOnFromNext() {
        long[] lids = {999, 1000, 1001, 1002};
        for (long lid : lids) {
            store(lid, 20 * MIB);
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
        int[] sizes = {1_000, 3 * MIB, 7 * MIB, 17 * MIB, 40 * MIB, 5 * MIB, 12 * MIB, 1_000};
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
    }
}
