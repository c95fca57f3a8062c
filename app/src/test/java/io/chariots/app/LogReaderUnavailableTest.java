package io.chariots.app;

import io.chariots.common.read.LogReader;
import io.chariots.common.read.UnavailableLids;
import com.google.common.util.concurrent.Futures;
import io.chariots.common.membership.Membership;
import io.chariots.proto.Layout;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.RecordBatch;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;
import io.chariots.proto.Stripe;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link LogReader} over fake maintainers: an LId whose maintainer is not
 * registered, or does not answer, is reported with that maintainer and the
 * LIds it holds; an LId past the log's end is not.
 */
class LogReaderUnavailableTest {
    static final String A = "127.0.0.1:10030";
    static final String B = "127.0.0.2:10030";

    /** Maintainers by gRPC address: the LIds each stores, or why it fails. */
    final Map<String, TreeSet<Long>> stored = new HashMap<>();
    final Map<String, Status> failing = new HashMap<>();

    final LogReader.MaintainerClient fake = (addr, req, deadline) -> {
        if (failing.containsKey(addr)) {
            return Futures.immediateFailedFuture(failing.get(addr).asRuntimeException());
        }
        RecordBatch.Builder out = RecordBatch.newBuilder();
        TreeSet<Long> mine = stored.getOrDefault(addr, new TreeSet<>());
        Iterable<Long> wanted = req.getLidsCount() > 0 ? req.getLidsList()
                : mine.subSet(req.getFromLid(), req.getFromLid() + req.getLimit());
        for (long lid : wanted) {
            if (mine.contains(lid)) {
                out.addRecords(RecordEnvelope.newBuilder().setLid(lid).setId("r" + lid));
            }
        }
        return Futures.<RecordBatch>immediateFuture(out.build());
    };

    /** Two maintainers from LId 1; from {@code restripedAt} (0: never) only A, as after B failed. */
    static Layout layout(long restripedAt) {
        Layout.Builder l = Layout.newBuilder().setEpoch(1).setVersion(1)
                .addStripes(Stripe.newBuilder().setFromLid(1).addMaintainers(A).addMaintainers(B));
        if (restripedAt != 0) {
            l.addStripes(Stripe.newBuilder().setFromLid(restripedAt).addMaintainers(A));
        }
        return l.build();
    }

    static Member maintainer(String grpc, String main, int seq) {
        return Member.newBuilder().setRole(Role.MAINTAINER).setInstanceId("m" + seq).setJoinSeq(seq)
                .setGrpcAddress(grpc).setAddress(main).build();
    }

    LogReader reader(Layout layout, boolean bRegistered) {
        MembershipView.Builder v = MembershipView.newBuilder().setEpoch(1).setVersion(1)
                .addMembers(maintainer(A, "127.0.0.1:9030", 1));
        if (bRegistered) {
            v.addMembers(maintainer(B, "127.0.0.2:9030", 2));
        }
        if (layout != null) {
            v.setLayout(layout);
        }
        Membership view = new Membership(v.build());
        return new LogReader(null, fake, () -> view, Duration.ofSeconds(1));
    }

    void store(String maintainer, long from, long to) {
        for (long lid = from; lid <= to; lid++) {
            stored.computeIfAbsent(maintainer, k -> new TreeSet<>()).add(lid);
        }
    }

    /** A and B held 1..3000 in blocks; B then failed, and LIds from 3001 went to A alone. */
    void logWhereBFailedAt3000() {
        store(A, 1, 1000);
        store(B, 1001, 2000);
        store(A, 2001, 3000);
        store(A, 3001, 3500);
    }

    @Test
    void aRecordOnAnUnregisteredMaintainerNamesItAndItsLIds() {
        logWhereBFailedAt3000();
        LogReader.Found found = reader(layout(3001), false).records(new long[] {1500}).join();

        UnavailableLids gone = found.unavailableAt(1500);
        assertThat(gone).isNotNull();
        assertThat(gone.maintainer()).isEqualTo(B);
        assertThat(gone.address()).isNull();
        assertThat(gone.from()).isEqualTo(1500);
        assertThat(gone.to()).isEqualTo(2000);
        assertThat(gone.holds()).isEqualTo("1001–2000");
        assertThat(gone.reason()).contains("not registered");
        assertThat(gone.message()).startsWith("LId 1500 is on maintainer " + B + ", which is not available")
                .contains("it holds LIds 1001–2000");
        assertThat(gone.errorFor(1500)).containsEntry("lid", 1500L).containsEntry("maintainer", B)
                .containsEntry("holds", "1001–2000").containsKey("error");
    }

    @Test
    void aRecordOnALiveMaintainerIsFoundOrAbsent() {
        logWhereBFailedAt3000();
        LogReader reader = reader(layout(3001), false);

        LogReader.Found found = reader.records(new long[] {500, 3200, 4000}).join();
        assertThat(found.byLid()).containsOnlyKeys(500L, 3200L);
        // 4000 is A's and A answered: not in the log, a plain 404.
        assertThat(found.unavailableAt(4000)).isNull();
        assertThat(found.unavailableAt(500)).isNull();
    }

    @Test
    void aMaintainerThatDoesNotAnswerIsNamedWithWhy() {
        logWhereBFailedAt3000();
        failing.put(B, Status.DEADLINE_EXCEEDED.withDescription("deadline exceeded after 1s"));

        UnavailableLids gone = reader(layout(0), true).records(new long[] {1001}).join().unavailableAt(1001);
        assertThat(gone.maintainer()).isEqualTo(B);
        assertThat(gone.address()).isEqualTo("127.0.0.2:9030");
        assertThat(gone.reason()).startsWith("did not answer: DEADLINE_EXCEEDED");
        // The open stripe: B holds every other block without end.
        assertThat(gone.holds()).isEqualTo("1001–2000, 3001–4000, 5001–6000, …");
        assertThat(gone.message()).contains("maintainer " + B + " (127.0.0.2:9030)");
    }

    @Test
    void aPageStopsAtTheFirstUnavailableLIdAndSaysSo() {
        logWhereBFailedAt3000();
        LogReader.Page page = reader(layout(3001), false).range(901, 200).join();

        assertThat(page.records()).extracting(RecordEnvelope::getLid).first().isEqualTo(901L);
        assertThat(page.records()).hasSize(100).extracting(RecordEnvelope::getLid).last().isEqualTo(1000L);
        assertThat(page.complete()).isFalse();
        assertThat(page.unavailable()).isNotNull();
        assertThat(page.unavailable().from()).isEqualTo(1001);
        assertThat(page.unavailable().to()).isEqualTo(2000);
        assertThat(page.unavailable().maintainer()).isEqualTo(B);
    }

    @Test
    void aPageFromAnUnavailableLIdIsEmptyAndSaysSo() {
        logWhereBFailedAt3000();
        LogReader.Page page = reader(layout(3001), false).range(1500, 100).join();

        assertThat(page.records()).isEmpty();
        assertThat(page.unavailable().from()).isEqualTo(1500);
    }

    @Test
    void theLogsEndOnAGoneMaintainerIsNotReportedUntilSomethingLaterExists() {
        // B failed when the log ended at 1000; the queue has not restriped yet.
        store(A, 1, 1000);
        LogReader reader = reader(layout(0), false);

        LogReader.Page atEnd = reader.range(1001, 100).join();
        assertThat(atEnd.records()).isEmpty();
        assertThat(atEnd.unavailable()).as("nothing shows LId 1001 was given out").isNull();
        assertThat(atEnd.complete()).as("every registered maintainer answered: a plain empty page").isTrue();

        // A later LId exists (A's next block): 1001 was given out, so it is unavailable.
        store(A, 2001, 2001);
        LogReader.Page later = reader.range(1001, 1001).join();
        assertThat(later.unavailable()).isNotNull();
        assertThat(later.unavailable().from()).isEqualTo(1001);
    }

    @Test
    void aPageIsCompleteWhenTheOwnerOfItsEndAnsweredThoughAnotherDidNot() {
        logWhereBFailedAt3000();
        failing.put(B, Status.UNAVAILABLE);
        LogReader.Page page = reader(layout(3001), true).range(3001, 1000).join();

        assertThat(page.records()).hasSize(500);
        assertThat(page.complete()).isTrue();
        assertThat(page.unavailable()).isNull();
    }

    @Test
    void withoutALayoutAMissingLIdAndAFailureIsAPlainUnavailable() {
        logWhereBFailedAt3000();
        failing.put(B, Status.UNAVAILABLE);
        LogReader reader = reader(null, true);

        assertThatThrownBy(() -> reader.records(new long[] {1500}).join()).hasCauseInstanceOf(LogReader.Unavailable.class);
        LogReader.Page page = reader.range(1, 2000).join();
        assertThat(page.records()).hasSize(1000);
        assertThat(page.complete()).isFalse();
        assertThat(page.unavailable()).isNull();
    }

    @Test
    void anSseTailIsToldWithANamedEvent() {
        UnavailableLids gap = new UnavailableLids(1001, 2000, B, null, "is not registered with the controller", "1001–2000");
        String event = new String(ReadRoutes.sseUnavailable(gap), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(event).startsWith("event: unavailable\ndata: {\"error\":\"LId 1001 is on maintainer " + B)
                .contains("\"lid\":1001", "\"maintainer\":\"" + B + "\"", "\"holds\":\"1001–2000\"").endsWith("}\n\n");
        assertThat(List.of(event.split("\n"))).hasSize(2);
    }
}
