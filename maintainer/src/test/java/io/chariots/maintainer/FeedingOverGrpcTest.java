package io.chariots.maintainer;

import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.common.membership.Membership;
import io.chariots.common.net.NettyTransport;
import io.chariots.proto.BatchAck;
import io.chariots.proto.IndexBatch;
import io.chariots.proto.IndexEntry;
import io.chariots.proto.IndexerGrpc;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.Role;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static io.chariots.maintainer.TestRecords.records;
import static org.assertj.core.api.Assertions.assertThat;

/** The feeder with its real parts: flstore, event loop, gRPC channels, and fake indexers on loopback. */
class FeedingOverGrpcTest {
    @TempDir
    Path dir;

    final NettyTransport transport = new NettyTransport("test", 2);
    final List<AutoCloseable> open = new CopyOnWriteArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        transport.close();
    }

    /** An indexer that records what it is sent, failing the first {@code failFirst} calls. */
    static final class FakeIndexer extends IndexerGrpc.IndexerImplBase {
        final Set<Long> lids = new ConcurrentSkipListSet<>();
        final AtomicInteger calls = new AtomicInteger();
        final int failFirst;

        FakeIndexer(int failFirst) {
            this.failFirst = failFirst;
        }

        @Override
        public void index(IndexBatch request, StreamObserver<BatchAck> responses) {
            if (calls.incrementAndGet() <= failFirst) {
                responses.onError(Status.UNAVAILABLE.withDescription("warming up").asRuntimeException());
                return;
            }
            request.getEntriesList().stream().map(IndexEntry::getLid).forEach(lids::add);
            responses.onNext(BatchAck.newBuilder().setAccepted(request.getEntriesCount()).build());
            responses.onCompleted();
        }
    }

    String serve(FakeIndexer indexer) throws Exception {
        Server s = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(indexer).build().start();
        open.add(() -> s.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
        return "127.0.0.1:" + s.getPort();
    }

    /** A running feeder over a real store, as the maintainer wires it. */
    record Rig(FlStore store, EventLoop loop, IndexFeeder feeder, IndexerClients clients, RecordWriter writer) {
        void membership(long version, String... indexers) {
            MembershipView.Builder v = MembershipView.newBuilder().setEpoch(1).setVersion(version);
            for (int i = 0; i < indexers.length; i++) {
                v.addMembers(Member.newBuilder().setInstanceId("ix" + i).setRole(Role.INDEXER)
                        .setGrpcAddress(indexers[i]).setJoinSeq(i + 1));
            }
            Membership m = new Membership(v.build());
            loop.execute(() -> {
                if (feeder.onMembership(m)) {
                    clients.retain(feeder.indexers());
                }
            });
        }

        void fillHoles(List<Long> lids) {
            loop.execute(() -> {
                try {
                    writer.fillHoles(Stores.EPOCH, lids);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
        }

        void write(List<io.chariots.proto.RecordEnvelope> records) {
            loop.execute(() -> {
                try {
                    writer.write(Stores.EPOCH, records);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
        }
    }

    Rig rig() throws Exception {
        FlStore store = Stores.openSealed(dir);
        open.add(store);
        IndexFeeder[] ref = new IndexFeeder[1];
        EventLoop loop = new EventLoop("maintainer-test", NanoClock.SYSTEM, now -> ref[0].poll(now));
        IndexerClients clients = new IndexerClients(transport, loop, Duration.ofSeconds(5));
        open.add(clients);
        IndexFeeder.Limits limits = new IndexFeeder.Limits(4, 100, 1 << 20, 1000, Duration.ofMillis(20),
                Duration.ofMillis(200));
        ref[0] = new IndexFeeder(store, clients, NanoClock.SYSTEM, limits);
        open.add(loop.start());
        return new Rig(store, loop, ref[0], clients, new RecordWriter(store, ref[0], new SimpleMeterRegistry(), 0));
    }

    static void await(String what, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(10);
        }
    }

    static List<Long> lids(long from, long to) {
        List<Long> out = new ArrayList<>();
        for (long l = from; l <= to; l++) {
            out.add(l);
        }
        return out;
    }

    @Test
    void feedsEveryIndexerItsBlocksRetriesThroughFailuresAndEmptiesTheBacklog() throws Exception {
        FakeIndexer a = new FakeIndexer(2);
        FakeIndexer b = new FakeIndexer(0);
        String addrA = serve(a);
        String addrB = serve(b);
        Rig rig = rig();
        rig.write(records(1, 1500));       // before any indexer is known
        rig.write(records(2001, 2300));
        rig.membership(1, addrA, addrB);
        rig.write(records(3001, 3100));

        await("everything indexed", () -> rig.store().unindexedCount() == 0 && a.lids.size() + b.lids.size() == 1900);
        List<Long> expectA = lids(1, 1000);
        expectA.addAll(lids(2001, 2300));
        assertThat(a.lids).containsExactlyElementsOf(expectA);
        List<Long> expectB = lids(1001, 1500);
        expectB.addAll(lids(3001, 3100));
        assertThat(b.lids).containsExactlyElementsOf(expectB);
        assertThat(rig.feeder().batchesFailed()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void holesAndResentRecordsAreNeverSentToIndexers() throws Exception {
        FakeIndexer a = new FakeIndexer(0);
        String addr = serve(a);
        Rig rig = rig();
        rig.write(records(1, 10));
        rig.fillHoles(lids(11, 20));
        rig.membership(1, addr);
        await("records indexed", () -> rig.store().unindexedCount() == 0 && a.lids.size() == 10);
        rig.write(records(1, 10));
        rig.fillHoles(lids(21, 22));
        rig.write(records(23, 23));
        await("the last record indexed", () -> a.lids.contains(23L) && rig.store().unindexedCount() == 0);
        List<Long> expected = lids(1, 10);
        expected.add(23L);
        assertThat(a.lids).containsExactlyElementsOf(expected);
        // The resent records were held already: their entries were not sent again.
        assertThat(rig.feeder().entriesSent()).isEqualTo(11);
    }

    @Test
    void aRestartedMaintainerSendsWhatWasNotAcknowledgedBeforeItStopped() throws Exception {
        Rig first = rig();
        first.write(records(1, 300)); // no indexer: stays unindexed
        await("stored", () -> first.store().count() == 300);
        for (int i = open.size() - 1; i >= 0; i--) {
            open.remove(i).close();
        }

        FakeIndexer a = new FakeIndexer(0);
        String addr = serve(a);
        Rig second = rig();
        assertThat(second.store().unindexedCount()).isEqualTo(300);
        second.membership(1, addr);
        await("backlog indexed", () -> second.store().unindexedCount() == 0);
        assertThat(a.lids).containsExactlyElementsOf(lids(1, 300));
    }

    @Test
    void entriesOfAnIndexerThatLeavesGoToTheNewOwner() throws Exception {
        FakeIndexer a = new FakeIndexer(Integer.MAX_VALUE); // never acknowledges
        FakeIndexer b = new FakeIndexer(0);
        String addrA = serve(a);
        String addrB = serve(b);
        Rig rig = rig();
        rig.membership(1, addrA, addrB);
        rig.write(records(1, 50)); // block 0: A
        await("A tried", () -> a.calls.get() >= 1);
        rig.membership(2, addrB);
        await("indexed by B", () -> rig.store().unindexedCount() == 0);
        assertThat(b.lids).containsExactlyElementsOf(lids(1, 50));
        await("A's channel closed", () -> {
            int[] n = new int[1];
            java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
            rig.loop().execute(() -> {
                n[0] = rig.clients().channelCount();
                done.countDown();
            });
            try {
                done.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return n[0] == 1;
        });
    }
}
