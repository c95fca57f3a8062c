package io.chariots.maintainer;

import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.common.membership.Membership;
import io.chariots.proto.IndexBatch;
import io.chariots.proto.IndexEntry;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.function.Consumer;

import static io.chariots.maintainer.TestRecords.record;
import static io.chariots.maintainer.TestRecords.records;
import static org.assertj.core.api.Assertions.assertThat;

/** The feeder alone: a fake sender completed by hand, a fake backlog, a hand-driven clock. */
class IndexFeederTest {
    static final String A = "10.0.0.1:9040";
    static final String B = "10.0.0.2:9040";
    static final String C = "10.0.0.3:9040";
    static final long MS = 1_000_000;

    /** A batch handed to the sender, waiting for the test to complete it. */
    record Sent(String indexer, IndexBatch batch, Consumer<Throwable> done) {
        List<Long> lids() {
            return batch.getEntriesList().stream().map(IndexEntry::getLid).toList();
        }

        void ack() {
            done.accept(null);
        }

        void fail() {
            done.accept(Status.UNAVAILABLE.withDescription("indexer down").asRuntimeException());
        }
    }

    final List<Sent> sent = new ArrayList<>();
    final TreeMap<Long, IndexEntry> onDisk = new TreeMap<>(Long::compareUnsigned);
    final List<List<Long>> marked = new ArrayList<>();
    long now = 1_000 * MS;
    final NanoClock clock = () -> now;

    final IndexFeeder.Backlog backlog = new IndexFeeder.Backlog() {
        @Override
        public List<IndexEntry> unindexed(long fromLid, int limit) {
            return onDisk.tailMap(fromLid, true).values().stream().limit(limit).toList();
        }

        @Override
        public void markIndexed(List<Long> lids) {
            marked.add(lids);
            lids.forEach(onDisk::remove);
        }
    };

    IndexFeeder feeder(IndexFeeder.Limits limits) {
        return new IndexFeeder(backlog, (indexer, batch, done) -> sent.add(new Sent(indexer, batch, done)), clock, limits);
    }

    IndexFeeder feeder() {
        return feeder(IndexFeeder.Limits.defaults());
    }

    static IndexFeeder.Limits limits(int window, int maxBatch, int maxPending) {
        return new IndexFeeder.Limits(window, maxBatch, 1 << 20, maxPending, Duration.ofMillis(100), Duration.ofSeconds(5));
    }

    /** What the write path does: records on disk, counted unindexed, then queued on the feeder. */
    void store(IndexFeeder f, List<RecordEnvelope> records) {
        records.forEach(r -> onDisk.put(r.getLid(), IndexEntries.of(r)));
        f.add(records);
    }

    static long version;

    /** A view listing indexers; their join order is the order given (listed shuffled, to check sorting). */
    static Membership view(String... indexers) {
        MembershipView.Builder v = MembershipView.newBuilder().setEpoch(1).setVersion(++version);
        for (int i = indexers.length - 1; i >= 0; i--) {
            v.addMembers(Member.newBuilder().setInstanceId("indexer-" + indexers[i]).setRole(Role.INDEXER)
                    .setAddress(indexers[i]).setGrpcAddress(indexers[i]).setJoinSeq(i + 1));
        }
        v.addMembers(Member.newBuilder().setInstanceId("m").setRole(Role.MAINTAINER).setGrpcAddress("x:1").setJoinSeq(99));
        return new Membership(v.build());
    }

    List<Long> sentTo(String indexer) {
        return sent.stream().filter(s -> s.indexer().equals(indexer)).flatMap(s -> s.lids().stream()).toList();
    }

    @Test
    void reFedEntriesGoToTheCurrentOwnersAndAreKeptInMemoryWhenAFailureFindsPendingFull() {
        IndexFeeder f = feeder(limits(1, 100, 4));
        f.onMembership(view(A));
        List<IndexEntry> refed = new ArrayList<>();
        for (long lid : List.of(1L, 2L, 1001L, 1002L, 2001L, 2002L)) {
            refed.add(IndexEntries.of(record(lid)));
        }
        f.refeed(refed); // more than maxPending: the re-feed bounds them, not the feeder
        f.poll(now);
        assertThat(sentTo(A)).containsExactly(1L, 2L, 1001L, 1002L, 2001L, 2002L);
        store(f, records(3001, 3010)); // pending fills up with fresh records meanwhile
        sent.get(0).fail();
        now += 10_000 * MS;
        f.poll(now);
        f.poll(now);
        List<Long> again = sent.stream().skip(1).flatMap(s -> s.lids().stream()).toList();
        assertThat(again).as("the failed re-fed entries are sent again: the store holds them as indexed")
                .contains(1L, 2L, 1001L, 1002L, 2001L, 2002L);
    }

    @Test
    void routesEachBlockOfAThousandLidsToIndexerBlockModIInJoinOrder() {
        IndexFeeder f = feeder();
        f.onMembership(view(A, B, C));
        assertThat(f.indexers()).containsExactly(A, B, C);
        store(f, List.of(record(1), record(1000), record(1001), record(2001), record(3001), record(4500), record(6000)));
        f.poll(now);
        assertThat(sentTo(A)).containsExactly(1L, 1000L, 3001L);
        assertThat(sentTo(B)).containsExactly(1001L, 4500L);
        assertThat(sentTo(C)).containsExactly(2001L, 6000L);
        assertThat(sent.get(0).batch().getEntries(0)).isEqualTo(IndexEntries.of(record(1)));
    }

    @Test
    void sendsOneBatchPerIndexerPerFlushWhateverTheNumberOfStoredBatches() {
        IndexFeeder f = feeder();
        f.onMembership(view(A, B));
        store(f, records(1, 1000));
        store(f, records(2001, 2500));
        store(f, records(1001, 1500));
        store(f, records(3001, 3003));
        assertThat(f.poll(now)).as("the startup scan of the backlog has one more step").isEqualTo(now);
        assertThat(f.poll(now)).isEqualTo(EventLoop.Ticker.NO_DEADLINE);
        assertThat(sent).hasSize(2);
        assertThat(sentTo(A)).hasSize(1500);
        assertThat(sentTo(B)).hasSize(503);
        assertThat(f.entriesSent()).isEqualTo(2003);
    }

    @Test
    void keepsAtMostAWindowOfBatchesInFlightPerIndexer() {
        IndexFeeder f = feeder(limits(2, 10, 10_000));
        f.onMembership(view(A, B));
        store(f, records(1, 100));      // block 0: A
        store(f, records(1001, 1005));  // block 1: B
        f.poll(now);
        assertThat(sent).extracting(Sent::indexer).containsExactly(A, A, B);
        assertThat(sent.get(0).lids()).containsExactlyElementsOf(FlStoreTest.range(1, 10));
        assertThat(f.inFlightBatches(A)).isEqualTo(2);

        f.poll(now);
        assertThat(sent).hasSize(3);

        sent.get(0).ack();
        f.poll(now);
        assertThat(sent).hasSize(4);
        assertThat(sent.get(3).lids()).containsExactlyElementsOf(FlStoreTest.range(21, 30));
        assertThat(f.inFlightBatches(A)).isEqualTo(2);
    }

    @Test
    void marksEntriesIndexedOnlyWhenTheIndexerAcknowledges() {
        IndexFeeder f = feeder();
        f.onMembership(view(A));
        store(f, records(1, 5));
        f.poll(now);
        assertThat(marked).isEmpty();
        assertThat(f.entriesInFlight()).isEqualTo(5);
        sent.get(0).ack();
        assertThat(marked).containsExactly(List.of(1L, 2L, 3L, 4L, 5L));
        assertThat(onDisk).isEmpty();
        assertThat(f.entriesAcked()).isEqualTo(5);
        f.poll(now);
        assertThat(sent).hasSize(1);
        assertThat(f.entriesInFlight()).isZero();
    }

    @Test
    void retriesAFailedBatchAfterABackoffThatDoublesAndResetsOnSuccess() {
        IndexFeeder f = feeder();
        f.onMembership(view(A));
        store(f, records(1, 3));
        f.poll(now);
        sent.get(0).fail();
        assertThat(marked).isEmpty();
        assertThat(f.batchesFailed()).isEqualTo(1);

        assertThat(f.poll(now)).isEqualTo(now + 100 * MS);
        assertThat(sent).hasSize(1);
        now += 99 * MS;
        f.poll(now);
        assertThat(sent).hasSize(1);
        now += MS;
        f.poll(now);
        assertThat(sent).hasSize(2);
        assertThat(sent.get(1).lids()).containsExactly(1L, 2L, 3L);

        sent.get(1).fail();
        assertThat(f.poll(now)).isEqualTo(now + 200 * MS);
        now += 200 * MS;
        f.poll(now);
        sent.get(2).ack();
        assertThat(onDisk).isEmpty();

        store(f, records(4, 4));
        f.poll(now);
        sent.get(3).fail();
        assertThat(f.poll(now)).isEqualTo(now + 100 * MS);
    }

    @Test
    void aFailedBatchGoesToTheOwnerInTheNewestMembership() {
        IndexFeeder f = feeder();
        f.onMembership(view(A, B));
        store(f, records(1, 3));     // block 0: A
        f.poll(now);
        assertThat(sent).extracting(Sent::indexer).containsExactly(A);

        f.onMembership(view(B, C)); // A left; block 0 now belongs to B
        sent.get(0).fail();
        f.poll(now);
        assertThat(sent).hasSize(2);
        assertThat(sent.get(1).indexer()).isEqualTo(B);
        assertThat(sent.get(1).lids()).containsExactly(1L, 2L, 3L);
        sent.get(1).ack();
        assertThat(onDisk).isEmpty();
    }

    @Test
    void anAckFromAnIndexerThatLeftStillCounts() {
        IndexFeeder f = feeder();
        f.onMembership(view(A));
        store(f, records(1, 3));
        f.poll(now);
        f.onMembership(view(B));
        sent.get(0).ack();
        f.poll(now);
        assertThat(sent).hasSize(1);
        assertThat(onDisk).isEmpty();
    }

    @Test
    void sendsNothingWithoutIndexersAndEverythingOnceOneJoins() {
        IndexFeeder f = feeder();
        // Three maintainers' worth of blocks, one indexer: it gets all of them.
        store(f, records(1, 10));
        store(f, records(1001, 1010));
        store(f, records(2001, 2010));
        assertThat(f.poll(now)).isEqualTo(EventLoop.Ticker.NO_DEADLINE);
        f.onMembership(view());
        f.poll(now);
        assertThat(sent).isEmpty();
        assertThat(f.pendingInMemory()).isEqualTo(30);

        f.onMembership(view(A));
        f.poll(now);
        assertThat(sent).hasSize(1);
        assertThat(sentTo(A)).hasSize(30);
        sent.get(0).ack();
        assertThat(onDisk).isEmpty();
    }

    @Test
    void ignoresViewsOlderThanTheOneItHas() {
        IndexFeeder f = feeder();
        Membership older = view(A);
        Membership newer = view(B);
        assertThat(f.onMembership(newer)).isTrue();
        assertThat(f.onMembership(older)).isFalse();
        assertThat(f.indexers()).containsExactly(B);
    }

    @Test
    void atStartupResendsEverythingTheStoreHasNotSeenIndexed() {
        for (long lid = 1; lid <= 10; lid++) {
            onDisk.put(lid, IndexEntries.of(record(lid)));
        }
        for (long lid = 5001; lid <= 5005; lid++) {
            onDisk.put(lid, IndexEntries.of(record(lid)));
        }
        IndexFeeder f = feeder();
        assertThat(f.scanningBacklog()).isTrue();
        f.poll(now);
        assertThat(sent).isEmpty();

        f.onMembership(view(A, B));
        f.poll(now);
        assertThat(sentTo(A)).containsExactlyElementsOf(FlStoreTest.range(1, 10));
        assertThat(sentTo(B)).containsExactlyElementsOf(FlStoreTest.range(5001, 5005));
        sent.forEach(Sent::ack);
        f.poll(now);
        assertThat(f.scanningBacklog()).isFalse();
        assertThat(onDisk).isEmpty();
    }

    @Test
    void memoryHoldsAtMostMaxPendingAndTheRestIsReadBackFromDisk() {
        IndexFeeder f = feeder(limits(1, 3, 8));
        for (long lid = 1; lid <= 20; lid++) {
            onDisk.put(lid, IndexEntries.of(record(lid))); // backlog from before a restart
        }
        store(f, records(101, 120));                    // new records while no indexer is known
        f.poll(now);
        assertThat(f.pendingInMemory()).isLessThanOrEqualTo(8);

        f.onMembership(view(A));
        for (int round = 0; round < 200 && !onDisk.isEmpty(); round++) {
            f.poll(now);
            assertThat(f.pendingInMemory()).isLessThanOrEqualTo(8);
            new ArrayList<>(sent).stream().filter(s -> !s.lids().isEmpty()).forEach(s -> {
                sent.remove(s);
                s.ack();
            });
        }
        assertThat(onDisk).isEmpty();
        assertThat(f.entriesAcked()).isEqualTo(40);
        f.poll(now);
        assertThat(f.scanningBacklog()).isFalse();
    }

    @Test
    void theNextDeadlineIsNowWhileBacklogRemainsToBeRead() {
        IndexFeeder f = feeder(limits(1, 2, 4));
        for (long lid = 1; lid <= 10; lid++) {
            onDisk.put(lid, IndexEntries.of(record(lid)));
        }
        f.onMembership(view(A));
        // Read 1..4, sent 1..2; window full and memory at half: wait for the ack.
        assertThat(f.poll(now)).isEqualTo(EventLoop.Ticker.NO_DEADLINE);
        assertThat(f.pendingInMemory()).isEqualTo(2);
        sent.get(0).ack();
        // Sent 3..4; memory empty, backlog left: come back at once.
        assertThat(f.poll(now)).isEqualTo(now);
        assertThat(sent.get(1).lids()).containsExactly(3L, 4L);
        sent.get(1).ack();
        f.poll(now);
        assertThat(sent.get(2).lids()).containsExactly(5L, 6L);
    }

    @Test
    void aSenderThatThrowsCountsAsAFailedBatch() {
        List<String> tried = new ArrayList<>();
        IndexFeeder f = new IndexFeeder(backlog, (indexer, batch, done) -> {
            tried.add(indexer);
            throw new IllegalArgumentException("bad address");
        }, clock, IndexFeeder.Limits.defaults());
        f.onMembership(view(A));
        store(f, records(1, 2));
        f.poll(now);
        assertThat(f.poll(now)).isEqualTo(now + 100 * MS);
        assertThat(f.batchesFailed()).isEqualTo(1);
        assertThat(f.pendingInMemory()).isEqualTo(2);
    }
}
