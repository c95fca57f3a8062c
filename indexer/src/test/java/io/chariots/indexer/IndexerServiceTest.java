package io.chariots.indexer;

import io.chariots.proto.CauseKey;
import io.chariots.proto.ExistsRequest;
import io.chariots.proto.IndexBatch;
import io.chariots.proto.IndexerGrpc;
import io.chariots.proto.LookupRequest;
import io.chariots.proto.Rejection;
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
import java.util.concurrent.TimeUnit;

import static io.chariots.indexer.TagIndexTest.BIG_SEED;
import static io.chariots.indexer.TagIndexTest.K1V1;
import static io.chariots.indexer.TagIndexTest.entry;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The gRPC adapter over a real server on loopback. */
class IndexerServiceTest {
    @TempDir
    Path dir;
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    TagIndex index;
    IndexWriter writer;
    Server server;
    ManagedChannel channel;
    IndexerGrpc.IndexerBlockingStub stub;

    @BeforeEach
    void setUp() throws Exception {
        index = TagIndex.open(dir);
        IndexerMetrics metrics = new IndexerMetrics(registry);
        writer = new IndexWriter(index, metrics, 1 << 20).start();
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new IndexerService(writer, new IndexQueries(index), metrics)).build().start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
        stub = IndexerGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    @AfterEach
    void tearDown() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        writer.close();
        index.close();
    }

    @Test
    void indexThenExistsThenLookup() {
        var ack = stub.index(IndexBatch.newBuilder()
                .addEntries(entry(5, BIG_SEED, "e5", K1V1))
                .addEntries(entry(2, BIG_SEED, "e2", K1V1, 77))
                .addEntries(entry(9, 3, "e9", 77))
                .addRejections(Rejection.newBuilder().setId("gone").setReason("cause never came")).build());
        assertThat(ack.getAccepted()).isEqualTo(4);

        var exists = stub.exists(ExistsRequest.newBuilder()
                .addKeys(CauseKey.newBuilder().setHash(K1V1).setSeed(BIG_SEED))
                .addKeys(CauseKey.newBuilder().setHash(77).setSeed(BIG_SEED))
                .addKeys(CauseKey.newBuilder().setHash(77).setSeed(4))
                .addKeys(CauseKey.newBuilder().setHash(77).setSeed(3)).build());
        assertThat(exists.getLidsList()).containsExactly(2L, 2L, 0L, 9L);

        assertThat(stub.lookup(LookupRequest.newBuilder().setTagHash(77).build()).getLidsList()).containsExactly(2L, 9L);
        assertThat(stub.lookup(LookupRequest.newBuilder().setTagHash(77).setSeed(3).build()).getLidsList()).containsExactly(9L);
        assertThat(stub.lookup(LookupRequest.newBuilder().setBySeed(true).setSeed(BIG_SEED).setAfterLid(2).build())
                .getLidsList()).containsExactly(5L);
        var ids = stub.lookup(LookupRequest.newBuilder().addIds("e9").addIds("gone").build()).getIdsList();
        assertThat(ids.get(0).getLid()).isEqualTo(9);
        assertThat(ids.get(1).getLid()).isZero();
        assertThat(ids.get(1).getRejected()).isEqualTo("cause never came");

        assertThat(registry.counter("chariots_indexer_entries_indexed_total").count()).isEqualTo(3);
        assertThat(registry.counter("chariots_indexer_batches_total").count()).isEqualTo(1);
        assertThat(registry.counter("chariots_indexer_exists_queries_total").count()).isEqualTo(1);
        assertThat(registry.counter("chariots_indexer_lookups_total").count()).isEqualTo(4);
    }

    @Test
    void badRequestsGetInvalidArgumentNamingTheProblem() {
        assertThatThrownBy(() -> stub.lookup(LookupRequest.getDefaultInstance()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("empty lookup");
                });
        assertThatThrownBy(() -> stub.index(IndexBatch.newBuilder().addEntries(entry(0, 1, "zero", 1)).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("lid 0");
                });
        assertThat(index.lidsBySeed(1, 0, 10)).as("nothing of a refused batch is written").isEmpty();
        assertThat(registry.counter("chariots_indexer_bad_requests_total").count()).isEqualTo(2);
        assertThat(stub.index(IndexBatch.getDefaultInstance()).getAccepted()).isZero();
    }

    @Test
    void aClosedStoreAnswersUnavailable() {
        index.close();
        assertThatThrownBy(() -> stub.exists(ExistsRequest.newBuilder().addKeys(CauseKey.getDefaultInstance()).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
        assertThatThrownBy(() -> stub.index(IndexBatch.newBuilder().addEntries(entry(1, 1, "a")).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    }
}
