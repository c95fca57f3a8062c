package io.chariots.maintainer;

import io.chariots.proto.AppendedId;
import io.chariots.proto.AppendedIds;
import io.chariots.proto.IndexEntry;
import io.chariots.proto.RecordEnvelope;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.function.Consumer;

import static io.chariots.maintainer.TestRecords.record;
import static org.assertj.core.api.Assertions.assertThat;

/** Notices to waiting edges, with a fake sender completed by hand. */
class AppendNoticesTest {
    static final String APP = "10.0.0.1:9080";
    static final String BATCHER = "10.0.0.2:10000";

    record Sent(String edge, AppendedIds ids, Consumer<Throwable> done) {
        List<String> idList() {
            return ids.getIdsList().stream().map(AppendedId::getId).toList();
        }
    }

    final List<Sent> sent = new ArrayList<>();

    AppendNotices notices(AppendNotices.Limits limits) {
        return new AppendNotices((edge, ids, done) -> sent.add(new Sent(edge, ids, done)), limits);
    }

    static IndexEntry entry(long lid, String ackTo) {
        return IndexEntries.of(record(lid).toBuilder().setAckTo(ackTo).setHost(1).build());
    }

    @Test
    void indexedEntriesAreSentToTheirEdgeInOneBatchPerEdgeAndEntriesWithoutAckToToNobody() {
        AppendNotices n = notices(AppendNotices.Limits.defaults());
        n.indexed(List.of(entry(1, APP), IndexEntries.of(record(2)), entry(3, BATCHER)));
        n.indexed(List.of(entry(4, APP)));
        assertThat(sent).as("nothing is sent before the loop polls").isEmpty();
        n.poll();
        assertThat(sent).hasSize(2);
        Sent toApp = sent.stream().filter(s -> s.edge().equals(APP)).findFirst().orElseThrow();
        assertThat(toApp.idList()).containsExactly("id-1", "id-4");
        assertThat(toApp.ids().getIds(0)).isEqualTo(AppendedId.newBuilder().setId("id-1").setLid(1).setHost(1).build());
        assertThat(sent.stream().filter(s -> s.edge().equals(BATCHER)).findFirst().orElseThrow().idList())
                .containsExactly("id-3");
        toApp.done().accept(null);
        assertThat(n.noticesSent()).isEqualTo(2);
        assertThat(n.pending()).isZero();
    }

    @Test
    void aFullWindowHoldsNoticesBackUntilACallReturnsThenTheyShareOneBatch() {
        AppendNotices n = notices(new AppendNotices.Limits(2, 1, 100));
        n.indexed(List.of(entry(1, APP), entry(2, APP), entry(3, APP)));
        n.poll();
        assertThat(sent).hasSize(1);
        assertThat(sent.get(0).idList()).as("at most maxBatch ids per call").containsExactly("id-1", "id-2");
        n.indexed(List.of(entry(4, APP)));
        n.poll();
        assertThat(sent).as("window of one call per edge").hasSize(1);
        sent.get(0).done().accept(null);
        n.poll();
        assertThat(sent).hasSize(2);
        assertThat(sent.get(1).idList()).containsExactly("id-3", "id-4");
    }

    @Test
    void aFailedCallIsCountedAndDroppedAndBeyondTheBoundNoticesAreDropped() {
        AppendNotices n = notices(new AppendNotices.Limits(10, 1, 3));
        n.indexed(List.of(entry(1, APP), entry(2, APP), entry(3, APP), entry(4, APP)));
        assertThat(n.noticesDropped()).isEqualTo(1);
        n.poll();
        sent.get(0).done().accept(Status.UNAVAILABLE.asRuntimeException());
        assertThat(n.noticesFailed()).isEqualTo(3);
        n.poll();
        assertThat(sent).as("not retried: the edge has its fallback").hasSize(1);
        n.indexed(List.of(entry(5, APP)));
        n.poll();
        assertThat(sent).hasSize(2);
    }

    @Test
    void theFeederNotifiesOnlyOnceAnIndexerAcknowledgedAndAlsoForEntriesReFedFromDisk() throws Exception {
        TreeMap<Long, IndexEntry> onDisk = new TreeMap<>();
        List<IndexFeederTest.Sent> toIndexers = new ArrayList<>();
        List<List<IndexEntry>> indexed = new ArrayList<>();
        IndexFeeder.Backlog backlog = new IndexFeeder.Backlog() {
            @Override
            public List<IndexEntry> unindexed(long fromLid, int limit) {
                return onDisk.tailMap(fromLid, true).values().stream().limit(limit).toList();
            }

            @Override
            public void markIndexed(List<Long> lids) {
                lids.forEach(onDisk::remove);
            }
        };
        // A record stored before a restart, still unindexed on disk: re-fed at start, with its ack_to.
        RecordEnvelope old = record(1).toBuilder().setAckTo(APP).build();
        onDisk.put(1L, IndexEntries.parse(old.toByteArray()));
        IndexFeeder f = new IndexFeeder(backlog, (ix, batch, done) -> toIndexers.add(new IndexFeederTest.Sent(ix, batch, done)),
                () -> 0, new IndexFeeder.Limits(4, 100, 1 << 20, 100, Duration.ofMillis(1), Duration.ofMillis(2)),
                indexed::add);
        f.onMembership(IndexFeederTest.view(IndexFeederTest.A));
        f.poll(0);
        f.poll(0);
        assertThat(toIndexers).hasSize(1);
        assertThat(indexed).as("not before the indexer acknowledged").isEmpty();
        toIndexers.get(0).fail();
        assertThat(indexed).as("a failed batch is not indexed").isEmpty();
        f.poll(10_000_000);
        toIndexers.get(1).ack();
        assertThat(indexed).hasSize(1);
        assertThat(indexed.get(0).get(0).getAckTo()).isEqualTo(APP);
        assertThat(indexed.get(0).get(0).getId()).isEqualTo("id-1");
    }
}
