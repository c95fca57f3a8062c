package io.chariots.maintainer;

import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.proto.HeldReply;
import io.chariots.proto.HeldRequest;
import io.chariots.proto.HolesRequest;
import io.chariots.proto.IdStatus;
import io.chariots.proto.Layout;
import io.chariots.proto.LayoutReply;
import io.chariots.proto.MaintainerGrpc;
import io.chariots.proto.MaintainerStats;
import io.chariots.proto.ReadRequest;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.SealReply;
import io.chariots.proto.SealRequest;
import io.chariots.proto.StoreReply;
import io.chariots.proto.StoreRequest;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static io.chariots.maintainer.Stores.EPOCH;
import static io.chariots.maintainer.Stores.layout;
import static io.chariots.maintainer.Stores.stripe;
import static io.chariots.maintainer.TestRecords.record;
import static io.chariots.maintainer.TestRecords.records;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every call of the Maintainer service over real gRPC on a free loopback port. */
class MaintainerServiceTest {
    @TempDir
    Path dir;

    FlStore store;
    EventLoop loop;
    ExecutorService reads;
    Server server;
    ManagedChannel channel;
    MaintainerGrpc.MaintainerBlockingStub stub;
    SimpleMeterRegistry meters = new SimpleMeterRegistry();

    @BeforeEach
    void start() throws Exception {
        store = Stores.openSealed(dir);
        IndexFeeder[] ref = new IndexFeeder[1];
        loop = new EventLoop("maintainer-test", NanoClock.SYSTEM, now -> ref[0].poll(now));
        ref[0] = new IndexFeeder(store, (i, b, done) -> { }, NanoClock.SYSTEM, IndexFeeder.Limits.defaults());
        loop.start();
        reads = Executors.newFixedThreadPool(2);
        RecordWriter writer = new RecordWriter(store, ref[0], meters, 0);
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .maxInboundMessageSize(64 << 20)
                .addService(new MaintainerService(loop, writer, store, reads)).build().start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
        stub = MaintainerGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        loop.close();
        reads.shutdown();
        reads.awaitTermination(5, TimeUnit.SECONDS);
        store.close();
    }

    static StoreRequest batch(List<RecordEnvelope> records) {
        return batch(EPOCH, records);
    }

    static StoreRequest batch(long epoch, List<RecordEnvelope> records) {
        return StoreRequest.newBuilder().setEpoch(epoch).addAllRecords(records).build();
    }

    static HolesRequest holes(long epoch, Long... lids) {
        return HolesRequest.newBuilder().setEpoch(epoch).addAllLids(List.of(lids)).build();
    }

    interface StoreCall {
        void run() throws Exception;
    }

    /** Runs {@code call} on the maintainer's loop, where every write belongs, and waits for it. */
    void onLoop(StoreCall call) throws Exception {
        CompletableFuture<Void> done = new CompletableFuture<>();
        loop.execute(() -> {
            try {
                call.run();
                done.complete(null);
            } catch (Exception e) {
                done.completeExceptionally(e);
            }
        });
        done.get(10, TimeUnit.SECONDS);
    }

    double refused(String reason) {
        return meters.counter("chariots_maintainer_store_refused_total", "reason", reason).count();
    }

    @Test
    void storesAcknowledgesOnlyDurableBatchesAndServesThemBack() {
        List<RecordEnvelope> big = List.of(record(1, 10), record(2, 3 << 20), record(3, 600));
        StoreReply ack = stub.store(batch(big));
        assertThat(ack.getStatus()).isEqualTo(StoreReply.Status.STORED);
        assertThat(ack.getAccepted()).isEqualTo(3);
        assertThat(ack.getSealedEpoch()).isEqualTo(EPOCH);
        assertThat(ack.getIndexedThrough()).isZero();
        // The ack came after the WriteBatch: the records are already in RocksDB.
        assertThat(store.count()).isEqualTo(3);

        assertThat(TestRecords.unstamped(stub.read(ReadRequest.newBuilder().addLids(3).addLids(2).addLids(99).build()).getRecordsList()))
                .containsExactly(big.get(2), big.get(1));
        assertThat(TestRecords.unstamped(stub.read(ReadRequest.newBuilder().setFromLid(1).build()).getRecordsList()))
                .containsExactlyElementsOf(big);
        assertThat(TestRecords.unstamped(stub.read(ReadRequest.newBuilder().setFromLid(2).setLimit(1).build()).getRecordsList()))
                .containsExactly(big.get(1));
        assertThat(meters.counter("chariots_maintainer_records_stored_total").count()).isEqualTo(3);
        assertThat(meters.counter("chariots_maintainer_batches_stored_total").count()).isEqualTo(1);
    }

    /** A reader that merges several maintainers' answers into one page asks each for no more than the page holds. */
    @Test
    void anAnswerStopsAtTheBytesTheReaderAsksForAndHoldsAtLeastOneRecord() {
        stub.store(batch(List.of(record(1, 3 << 20), record(2, 3 << 20), record(3, 3 << 20), record(4, 3 << 20))));
        ReadRequest range = ReadRequest.newBuilder().setFromLid(1).build();
        ReadRequest lids = ReadRequest.newBuilder().addLids(1).addLids(2).addLids(3).addLids(4).build();

        assertThat(stub.read(range.toBuilder().setMaxBytes(7 << 20).build()).getRecordsList())
                .extracting(RecordEnvelope::getLid).containsExactly(1L, 2L);
        assertThat(stub.read(lids.toBuilder().setMaxBytes(7 << 20).build()).getRecordsList())
                .extracting(RecordEnvelope::getLid).containsExactly(1L, 2L);
        assertThat(stub.read(range.toBuilder().setMaxBytes(1).build()).getRecordsCount()).as("at least one").isEqualTo(1);
        assertThat(stub.read(range).getRecordsCount()).as("0: the maintainer's own cap").isEqualTo(4);
        assertThat(stub.read(lids.toBuilder().setMaxBytes(1L << 40).build()).getRecordsCount()).isEqualTo(4);
    }

    @Test
    void rangeReadsDefaultToAThousandLidsAndCapAtTenThousand() {
        stub.store(batch(records(1, 1000)));
        stub.store(batch(records(3001, 4000)));
        stub.store(batch(records(12001, 12001)));
        assertThat(stub.read(ReadRequest.newBuilder().setFromLid(500).build()).getRecordsCount()).isEqualTo(501);
        assertThat(stub.read(ReadRequest.newBuilder().setFromLid(1).setLimit(50_000).build()).getRecordsCount())
                .isEqualTo(2000);
        assertThat(stub.read(ReadRequest.newBuilder().setFromLid(1001).setLimit(2000).build()).getRecordsCount()).isZero();
        assertThat(TestRecords.unstamped(stub.read(ReadRequest.newBuilder().setFromLid(3999).setLimit(10_000).build()).getRecordsList()))
                .extracting(RecordEnvelope::getLid).containsExactly(3999L, 4000L, 12001L);
    }

    @Test
    void statsReportStoredMaxLidAndUnindexed() {
        stub.store(batch(records(1, 10)));
        stub.store(batch(records(2001, 2005)));
        stub.store(batch(records(5, 6)));
        MaintainerStats stats = stub.stats(ReadRequest.getDefaultInstance());
        assertThat(stats.getStored()).isEqualTo(15);
        assertThat(stats.getMaxLid()).isEqualTo(2005);
        assertThat(stats.getUnindexed()).isEqualTo(15);
    }

    @Test
    void aRecordWithoutLidIsInvalidAndNothingOfItsBatchIsStored() {
        StoreRequest bad = batch(List.of(record(1), record(2).toBuilder().setLid(0).setId("no-lid").build()));
        assertThatThrownBy(() -> stub.store(bad))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("record 1").contains("no-lid").contains("lid 0");
                });
        assertThat(stub.stats(ReadRequest.getDefaultInstance()).getStored()).isZero();
        assertThat(stub.read(ReadRequest.newBuilder().addLids(1).build()).getRecordsCount()).isZero();
    }

    @Test
    void tooManyLidsInOneReadIsInvalid() {
        ReadRequest.Builder req = ReadRequest.newBuilder();
        for (long l = 1; l <= MaintainerService.MAX_LIMIT + 1; l++) {
            req.addLids(l);
        }
        assertThatThrownBy(() -> stub.read(req.build())).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    }

    @Test
    void anEmptyBatchIsAcknowledgedWithZero() {
        StoreReply reply = stub.store(batch(List.of()));
        assertThat(reply.getStatus()).isEqualTo(StoreReply.Status.STORED);
        assertThat(reply.getAccepted()).isZero();
        assertThat(meters.counter("chariots_maintainer_batches_stored_total").count()).isZero();
    }

    @Test
    void aRecordMarkedAHoleIsInvalid() {
        StoreRequest bad = batch(List.of(record(1).toBuilder().setHole(true).build()));
        assertThatThrownBy(() -> stub.store(bad)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).contains("FillHoles");
        });
        assertThat(store.count()).isZero();
    }

    @Test
    void aStoreAtAnotherEpochIsRefusedSealedWithTheEpochAndCounted() {
        StoreReply reply = stub.store(batch(EPOCH + 1, records(1, 3)));
        assertThat(reply.getStatus()).isEqualTo(StoreReply.Status.SEALED);
        assertThat(reply.getSealedEpoch()).isEqualTo(EPOCH);
        assertThat(reply.getAccepted()).isZero();
        assertThat(store.count()).isZero();
        assertThat(refused("sealed")).isEqualTo(1);
        assertThat(refused("conflict")).isZero();
    }

    @Test
    void aConflictingStoreIsRefusedWithItsLidsAndAResendIsAcceptedWithoutARewrite() {
        stub.store(batch(records(1, 3)));
        StoreReply conflict = stub.store(batch(List.of(record(4), record(2).toBuilder().setId("other").build())));
        assertThat(conflict.getStatus()).isEqualTo(StoreReply.Status.CONFLICT);
        assertThat(conflict.getConflictsList()).containsExactly(2L);
        assertThat(refused("conflict")).isEqualTo(1);

        StoreReply resent = stub.store(batch(records(1, 3)));
        assertThat(resent.getStatus()).isEqualTo(StoreReply.Status.STORED);
        assertThat(resent.getAccepted()).isEqualTo(3);
        assertThat(store.count()).isEqualTo(3);
        assertThat(meters.counter("chariots_maintainer_records_stored_total").count()).isEqualTo(3);
        assertThat(meters.counter("chariots_maintainer_batches_stored_total").count()).isEqualTo(1);
    }

    @Test
    void holesAreFilledAtTheSealedEpochAndReadBackAsHoles() {
        stub.store(batch(records(1, 2)));
        StoreReply filled = stub.fillHoles(holes(EPOCH, 3L, 4L));
        assertThat(filled.getStatus()).isEqualTo(StoreReply.Status.STORED);
        assertThat(filled.getAccepted()).isEqualTo(2);
        assertThat(meters.counter("chariots_maintainer_holes_total").count()).isEqualTo(2);
        assertThat(stub.read(ReadRequest.newBuilder().setFromLid(1).build()).getRecordsList())
                .extracting(RecordEnvelope::getHole).containsExactly(false, false, true, true);

        assertThat(stub.fillHoles(holes(EPOCH, 2L)).getConflictsList()).containsExactly(2L);
        assertThat(stub.fillHoles(holes(EPOCH + 1, 5L)).getStatus()).isEqualTo(StoreReply.Status.SEALED);
        assertThat(refused("conflict")).isEqualTo(1);
        assertThat(refused("sealed")).isEqualTo(1);
        assertThatThrownBy(() -> stub.fillHoles(holes(EPOCH, 0L))).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));

        MaintainerStats stats = stub.stats(ReadRequest.getDefaultInstance());
        assertThat(stats.getHoles()).isEqualTo(2);
        assertThat(stats.getStored()).isEqualTo(4);
        assertThat(stats.getUnindexed()).isEqualTo(2);
    }

    @Test
    void sealIsACompareAndSetThatFencesOlderEpochs() {
        stub.store(batch(records(1, 2)));
        SealReply won = stub.seal(SealRequest.newBuilder().setEpoch(2).setBy("q-a").build());
        assertThat(won.getSealed()).isTrue();
        assertThat(won.getLidsList()).containsExactly(1L, 2L);
        assertThat(won.getIdsList()).containsExactly("id-1", "id-2");
        assertThat(won.getMaxLid()).isEqualTo(2);

        // The same seal again, asked after LId 1 (the next page of a cut report): what lies above it.
        SealReply page = stub.seal(SealRequest.newBuilder().setEpoch(2).setBy("q-a").setAfterLid(1).build());
        assertThat(page.getSealed()).isTrue();
        assertThat(page.getLidsList()).containsExactly(2L);
        assertThat(page.getIdsList()).containsExactly("id-2");

        SealReply lost = stub.seal(SealRequest.newBuilder().setEpoch(2).setBy("q-b").build());
        assertThat(lost.getSealed()).isFalse();
        assertThat(lost.getEpoch()).isEqualTo(2);
        assertThat(lost.getBy()).isEqualTo("q-a");

        assertThat(stub.store(batch(EPOCH, records(3, 3))).getStatus()).isEqualTo(StoreReply.Status.SEALED);
        assertThat(stub.store(batch(2, records(3, 3))).getStatus()).isEqualTo(StoreReply.Status.STORED);
        assertThatThrownBy(() -> stub.seal(SealRequest.newBuilder().setEpoch(3).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    }

    @Test
    void setLayoutAcceptsNewerLayoutsAndStatsReportTheFloor() throws Exception {
        onLoop(() -> store.setSelf("m0"));
        Layout v1 = layout(EPOCH, 1, stripe(1, "m0", "m1"));
        LayoutReply accepted = stub.setLayout(v1);
        assertThat(accepted.getAccepted()).isTrue();
        assertThat(accepted.getSealedEpoch()).isEqualTo(EPOCH);
        LayoutReply refused = stub.setLayout(layout(EPOCH, 0, stripe(1, "m9")));
        assertThat(refused.getAccepted()).isFalse();
        assertThat(refused.getLayout()).isEqualTo(v1);
        assertThatThrownBy(() -> stub.setLayout(layout(0, 1))).isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));

        stub.store(batch(records(1, 1000)));
        stub.store(batch(records(2001, 2002)));
        MaintainerStats stats = stub.stats(ReadRequest.getDefaultInstance());
        assertThat(stats.getSealedEpoch()).isEqualTo(EPOCH);
        assertThat(stats.getLayout()).isEqualTo(v1);
        assertThat(stats.getFloor()).isEqualTo(2002);
        assertThat(stats.getIndexedThrough()).isZero();
    }

    @Test
    void heldAndIndexedThroughFollowWhatIndexersAcknowledged() throws Exception {
        stub.store(batch(records(1, 5)));
        onLoop(() -> store.markIndexed(List.of(1L, 2L, 3L)));
        HeldReply held = stub.held(HeldRequest.newBuilder().addIds("id-2").addIds("id-4").addIds("id-77").build());
        assertThat(held.getIdsList()).containsExactly(IdStatus.newBuilder().setId("id-4").setLid(4).build());
        assertThat(stub.store(batch(records(6, 6))).getIndexedThrough()).isEqualTo(3);
        assertThat(stub.stats(ReadRequest.getDefaultInstance()).getIndexedThrough()).isEqualTo(3);
    }
}
