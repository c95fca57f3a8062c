package io.chariots.maintainer;

import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.proto.BatchAck;
import io.chariots.proto.MaintainerGrpc;
import io.chariots.proto.MaintainerStats;
import io.chariots.proto.ReadRequest;
import io.chariots.proto.RecordBatch;
import io.chariots.proto.RecordEnvelope;
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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static io.chariots.maintainer.TestRecords.record;
import static io.chariots.maintainer.TestRecords.records;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Store, Read and Stats over real gRPC on a free loopback port. */
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
        store = FlStore.open(dir.resolve("flstore"), FlStore.Tuning.defaults());
        IndexFeeder[] ref = new IndexFeeder[1];
        loop = new EventLoop("maintainer-test", NanoClock.SYSTEM, now -> ref[0].poll(now));
        ref[0] = new IndexFeeder(store, (i, b, done) -> { }, NanoClock.SYSTEM, IndexFeeder.Limits.defaults());
        loop.start();
        reads = Executors.newFixedThreadPool(2);
        RecordWriter writer = new RecordWriter(store, ref[0], meters);
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

    static RecordBatch batch(List<RecordEnvelope> records) {
        return RecordBatch.newBuilder().addAllRecords(records).build();
    }

    @Test
    void storesAcknowledgesOnlyDurableBatchesAndServesThemBack() {
        List<RecordEnvelope> big = List.of(record(1, 10), record(2, 3 << 20), record(3, 600));
        BatchAck ack = stub.store(batch(big));
        assertThat(ack.getAccepted()).isEqualTo(3);
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
        RecordBatch bad = batch(List.of(record(1), record(2).toBuilder().setLid(0).setId("no-lid").build()));
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
        assertThat(stub.store(RecordBatch.getDefaultInstance()).getAccepted()).isZero();
    }
}
