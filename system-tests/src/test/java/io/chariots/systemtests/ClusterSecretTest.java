package io.chariots.systemtests;

import io.chariots.common.auth.ClusterSecret;
import io.chariots.common.auth.Proof;
import io.chariots.common.auth.Prover;
import io.chariots.common.record.LogRecord;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.AcksGrpc;
import io.chariots.proto.AppendedId;
import io.chariots.proto.AppendedIds;
import io.chariots.proto.MaintainerGrpc;
import io.chariots.proto.QueueGrpc;
import io.chariots.proto.ReadRequest;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;
import io.chariots.proto.StoreRequest;
import io.chariots.proto.Token;
import io.chariots.testkit.FreePorts;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A cluster with a secret (every cluster the harness starts has one), and
 * what a process without it — or with a proof it sniffed — tried on the old
 * main: join, pass a forged token, store a record at any LId, tell a waiting
 * client a made-up LId, register anything over curl. Each is refused,
 * counted and logged with the peer, and the log holds only what clients
 * appended, which stays open to them without any secret.
 */
class ClusterSecretTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();
    @TempDir
    Path dir;

    @Test
    void strangersAndSniffersCannotJoinCallOrChangeTheClusterWhileClientsAppendFreely() throws Exception {
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).start());
        c.awaitRegistered(Duration.ofSeconds(90));
        assertThat(c.secret()).isNotNull();
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(LocalCluster.secretFile(dir))))
                .as("readable by its owner only").isEqualTo("rw-------");
        String secretText = Files.readString(LocalCluster.secretFile(dir)).strip();
        for (RoleProcess p : c.all()) {
            assertThat(String.join(" ", p.command())).as("the secret is passed as a file, never on a command line")
                    .doesNotContain(secretText).contains("cluster_secret_file=");
        }

        // Clients need nothing.
        assertThat(LogProbe.post(c.appUrl(0) + "/record?wait=true", "{\"id\":\"client-1\"}").statusCode()).isEqualTo(200);

        // A real batcher JVM with another secret never joins: the controller refuses its Join.
        Path wrongFile = dir.resolve("wrong_secret");
        Files.writeString(wrongFile, ClusterSecret.generate());
        int[] ports = FreePorts.freePorts(3);
        RoleProcess stranger = c.add(Role.BATCHER, "127.0.0.1", new RoleProcess.Ports(ports[0], ports[1], ports[2]),
                Map.of("--set", "cluster_secret_file=" + wrongFile));
        assertThat(String.join(" ", stranger.command())).contains("cluster_secret_file=" + wrongFile)
                .doesNotContain(LocalCluster.secretFile(dir).toString());
        stranger.awaitServing(Duration.ofSeconds(90));
        awaitLogged(stranger.log(), "refused this batcher", Duration.ofSeconds(30));
        assertThat(c.live().get("batchers")).containsExactly(c.get(Role.BATCHER, 0).address());
        assertThat(Files.readString(stranger.log())).contains("UNAUTHENTICATED").contains("another secret");
        assertThat(refusals(c, "grpc", "wrong")).isPositive();
        assertThat(Files.readString(c.controller().log())).contains("refused chariots.v1.Controller/Join from /127.0.0.1:");

        // Registered by address over curl with a good proof, it is still refused: its Identity answer
        // does not prove this cluster's secret.
        HttpResponse<String> byAddress = LogProbe.change(c, "/batcher?host=" + stranger.address() + "&grpc=127.0.0.1:" + ports[2]);
        assertThat(byAddress.statusCode()).as(byAddress.body()).isEqualTo(400);
        assertThat(byAddress.body()).contains("holds another cluster secret");

        // Without a proof, or with another secret's, or replayed, a change over HTTP is 401 and names the header.
        HttpResponse<String> none = post(c.controllerUrl() + "/queue?host=127.0.0.1:1", null);
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.headers().firstValue("WWW-Authenticate")).contains("Chariots");
        assertThat(none.body()).contains("no proof of the cluster secret").contains("Authorization: Chariots");
        String foreign = "Chariots " + new Prover(ClusterSecret.of(Files.readString(wrongFile), "test")).next(Proof.HTTP_PURPOSE);
        assertThat(post(c.controllerUrl() + "/queue?host=127.0.0.1:1", foreign).body()).contains("another secret");
        String once = c.authorization();
        assertThat(post(c.controllerUrl() + "/batcher?host=nonsense", once).statusCode()).as("taken, then refused as a request").isEqualTo(400);
        HttpResponse<String> again = post(c.controllerUrl() + "/batcher?host=nonsense", once);
        assertThat(again.statusCode()).isEqualTo(401);
        assertThat(again.body()).contains("already used");
        assertThat(refusals(c, "http", "missing")).isEqualTo(1.0);
        assertThat(refusals(c, "http", "wrong")).isEqualTo(1.0);
        assertThat(refusals(c, "http", "replayed")).isEqualTo(1.0);

        // gRPC calls a stranger could make on the old main: each UNAUTHENTICATED.
        RoleProcess queue = c.get(Role.QUEUE, 0);
        RoleProcess maintainer = c.get(Role.MAINTAINER, 0);
        RoleProcess app = c.get(Role.APP, 0);
        expectUnauthenticated(LocalCluster.channel(null, "127.0.0.1", queue.ports().grpc()), ch -> QueueGrpc.newBlockingStub(ch)
                .passToken(Token.newBuilder().setHop(1L << 40).setLastLid(1_000_000).build()));
        expectUnauthenticated(LocalCluster.channel(null, "127.0.0.1", maintainer.ports().grpc()), ch -> MaintainerGrpc.newBlockingStub(ch)
                .store(StoreRequest.newBuilder().setEpoch(1L << 30).addRecords(RecordEnvelope.newBuilder()
                        .setId("forged").setLid(1)).build()));
        expectUnauthenticated(LocalCluster.channel(null, "127.0.0.1", app.ports().grpc()), ch -> AcksGrpc.newBlockingStub(ch)
                .appended(AppendedIds.newBuilder().addIds(AppendedId.newBuilder().setId("client-2").setLid(777)).build()));

        // A proof sniffed off the wire serves no other call, and works once (here: for its legitimate sender), never again.
        String forStats = MaintainerGrpc.getStatsMethod().getFullMethodName();
        Metadata forOther = new Metadata();
        forOther.put(Prover.HEADER, new Prover(c.secret()).next(forStats));
        ManagedChannel other = LocalCluster.channel(null, "127.0.0.1", maintainer.ports().grpc());
        try {
            assertThatThrownBy(() -> MaintainerGrpc.newBlockingStub(other).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(forOther))
                    .withDeadlineAfter(10, TimeUnit.SECONDS).store(StoreRequest.newBuilder().setEpoch(1L << 30).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getDescription()).contains("for another call"));
        } finally {
            other.shutdownNow();
        }
        String sniffed = new Prover(c.secret()).next(forStats);
        Metadata h = new Metadata();
        h.put(Prover.HEADER, sniffed);
        ManagedChannel plain = LocalCluster.channel(null, "127.0.0.1", maintainer.ports().grpc());
        try {
            MaintainerGrpc.MaintainerBlockingStub withSniffed = MaintainerGrpc.newBlockingStub(plain)
                    .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h)).withDeadlineAfter(10, TimeUnit.SECONDS);
            assertThat(withSniffed.stats(ReadRequest.getDefaultInstance()).getMaxLid()).isPositive();
            assertThatThrownBy(() -> MaintainerGrpc.newBlockingStub(plain).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h))
                    .withDeadlineAfter(10, TimeUnit.SECONDS).stats(ReadRequest.getDefaultInstance()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
                        assertThat(e.getStatus().getDescription()).contains("already used");
                    });
        } finally {
            plain.shutdownNow();
        }
        assertThat(Files.readString(maintainer.log())).contains("refused chariots.v1.Maintainer/Store from /127.0.0.1:")
                .contains("refused chariots.v1.Maintainer/Stats from /127.0.0.1:");

        // The cluster goes on, and its log holds only what clients appended: nothing forged, the token not taken.
        HttpResponse<String> after = LogProbe.post(c.appUrl(0) + "/record?wait=true", "{\"id\":\"client-2\"}");
        assertThat(after.statusCode()).as(after.body()).isEqualTo(200);
        assertThat(after.body()).doesNotContain("777");
        TreeMap<Long, LogRecord> log = LogProbe.readLog(c);
        assertThat(Set.copyOf(LogProbe.ids(log))).isEqualTo(Set.of("client-1", "client-2"));
        assertThat(log.keySet()).containsExactly(1L, 2L);
    }

    @Test
    void anOpenClusterStillWorksAndSaysItIsOpen() throws Exception {
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).open(true).batchers(0).filters(0).start());
        assertThat(c.secret()).isNull();
        assertThat(LocalCluster.secretFile(dir)).doesNotExist();
        HttpResponse<String> r = post(c.controllerUrl() + "/batcher?host=nonsense", null);
        assertThat(r.statusCode()).as("no secret: no proof asked").isEqualTo(400);
        awaitLogged(c.controller().log(), "this cluster is open", Duration.ofSeconds(10));
    }

    private static double refusals(LocalCluster c, String edge, String reason) throws Exception {
        String metrics = LogProbe.get(c.controllerUrl() + "/metrics").body();
        return Arrays.stream(metrics.split("\n"))
                .filter(l -> l.startsWith("chariots_auth_refused_total{") && l.contains("edge=\"" + edge + "\"")
                        && l.contains("reason=\"" + reason + "\""))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    private static HttpResponse<String> post(String url, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.noBody());
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void expectUnauthenticated(ManagedChannel ch, Consumer<ManagedChannel> call) {
        try {
            assertThatThrownBy(() -> call.accept(ch)).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
                assertThat(e.getStatus().getDescription()).contains("no proof of the cluster secret");
            });
        } finally {
            ch.shutdownNow();
        }
    }

    private static void awaitLogged(Path log, String text, Duration within) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(log) && Files.readString(log).contains(text)) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("\"" + text + "\" not in " + log + " within " + within + ":\n"
                + (Files.exists(log) ? Files.readString(log) : "(no log)"));
    }
}
