package io.chariots.indexer;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;
import io.chariots.common.runtime.RoleRuntime;
import io.chariots.proto.CauseKey;
import io.chariots.proto.ExistsRequest;
import io.chariots.proto.IndexBatch;
import io.chariots.proto.IndexerGrpc;
import io.chariots.proto.LookupRequest;
import io.chariots.proto.Role;
import io.chariots.testkit.FreePorts;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.chariots.indexer.TagIndexTest.BIG_SEED;
import static io.chariots.indexer.TagIndexTest.K1V1;
import static io.chariots.indexer.TagIndexTest.entry;
import static org.assertj.core.api.Assertions.assertThat;

/** The whole role process as the launcher starts it (no controller running: it keeps retrying in the background). */
class IndexerRoleTest {
    @TempDir
    Path dir;

    RoleConfig config(int controllerPort) {
        return RoleConfig.resolve(Role.INDEXER, Settings.of(Map.of(
                "controller", "127.0.0.1:" + controllerPort, "bind", "127.0.0.1", "grpc_port", 0, "admin_port", 0,
                "data_dir", dir.toString()), "test"));
    }

    @Test
    void servesIndexAndQueriesAndKeepsThemAcrossARestart() throws Exception {
        int controller = FreePorts.freePort();
        RoleRuntime.Handle h = Indexer.start(config(controller));
        try {
            int port = ((Indexer) h).grpcPort();
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
            try {
                var stub = IndexerGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS);
                assertThat(stub.index(IndexBatch.newBuilder().addEntries(entry(1, BIG_SEED, "a", K1V1))
                        .addEntries(entry(2, BIG_SEED, "b", K1V1)).build()).getAccepted()).isEqualTo(2);
                assertThat(stub.exists(ExistsRequest.newBuilder()
                        .addKeys(CauseKey.newBuilder().setHash(K1V1).setSeed(BIG_SEED)).build()).getLidsList())
                        .containsExactly(1L);
            } finally {
                ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
            assertThat(Files.isDirectory(dir.resolve("index"))).isTrue();

            HttpResponse<String> health = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + h.runtime().adminPort() + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(health.body()).contains("\"entriesIndexed\":2");
            HttpResponse<String> metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + h.runtime().adminPort() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(metrics.body()).contains("chariots_indexer_entries_indexed_total", "chariots_indexer_batch_write_seconds");
        } finally {
            h.close();
        }

        RoleRuntime.Handle again = Indexer.start(config(controller));
        try {
            ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", ((Indexer) again).grpcPort()).usePlaintext().build();
            try {
                var stub = IndexerGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS);
                assertThat(stub.lookup(LookupRequest.newBuilder().setTagHash(K1V1).build()).getLidsList())
                        .containsExactly(1L, 2L);
            } finally {
                ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        } finally {
            again.close();
        }
    }
}
