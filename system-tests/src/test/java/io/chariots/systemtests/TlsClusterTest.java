package io.chariots.systemtests;

import io.chariots.client.Chariots;
import io.chariots.client.Draft;
import io.chariots.client.Event;
import io.chariots.client.RawBatcher;
import io.chariots.common.record.LogRecord;
import io.chariots.launcher.cluster.LocalCa;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.MaintainerGrpc;
import io.chariots.proto.ReadRequest;
import io.chariots.proto.Role;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A cluster over TLS ({@code ./chariots up --tls}): roles talk mutual TLS,
 * clients append over HTTPS and TLS raw TCP, and whatever comes in clear, or
 * with a certificate of another authority, or with none, is refused.
 */
class TlsClusterTest {
    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();
    @TempDir
    Path dir;

    @Test
    void everyLinkRunsOverTlsAndPlaintextOrForeignCertificatesAreRefused() throws Exception {
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).tls(true).start());
        c.awaitRegistered(Duration.ofSeconds(90));
        Path ca = c.tls().ca();
        assertThat(c.appUrl(0)).startsWith("https://");
        assertThat(c.getJson(c.controllerUrl() + "/").path("queues")).hasSize(1); // the harness itself trusts the CA

        // Appends over HTTPS (durable: through every role's mutual-TLS link) and over TLS raw TCP.
        long httpsLid;
        try (Chariots log = Chariots.builder(c.appUrl(0)).trust(ca).build()) {
            Event e = log.appendDurable(Draft.of(Map.of("via", "https")).id("tls-https"));
            httpsLid = e.lid();
        }
        assertThat(httpsLid).isPositive();
        int batcherPort = c.get(Role.BATCHER, 0).ports().main();
        try (RawBatcher raw = RawBatcher.connectTls("127.0.0.1", batcherPort, ca, null)) {
            raw.send(Draft.of(Map.of("via", "tls-tcp")).id("tls-tcp"));
            raw.flush();
        }
        // The Python and Node clients, from their command lines: HTTPS (durable) and a tls:// batcher.
        Path root = ClientLibrariesTest.repoRoot();
        for (List<String> cli : List.of(List.of("python3", "-m", "chariots"), List.of("node", "clients/node/bin/chariots.js"))) {
            ClientLibrariesTest.require(cli.get(0));
            String lang = cli.get(0);
            cliRun(root, cli, ca, c.appUrl(0), "append", "--wait", "--tags", "{\"via\":\"" + lang + "\"}", "--id", lang + "-https");
            cliRun(root, cli, ca, c.appUrl(0), "send", "--batcher", "tls://127.0.0.1:" + batcherPort,
                    "--tags", "{\"via\":\"" + lang + "\"}", "--id", lang + "-tls");
        }
        assertThat(LogProbe.awaitStored(c, 6, Duration.ofSeconds(60))).isEqualTo(6);
        TreeMap<Long, LogRecord> log = LogProbe.readLog(c); // read from the maintainers over mutual TLS
        assertThat(LogProbe.ids(log)).containsExactlyInAnyOrder("tls-https", "tls-tcp", "python3-https", "python3-tls",
                "node-https", "node-tls");

        // In clear, nothing is served: HTTP to the app, a GoChariots frame to the batcher, gRPC to a role.
        int appPort = c.get(Role.APP, 0).ports().main();
        assertThatThrownBy(() -> LogProbe.get("http://127.0.0.1:" + appPort + "/health")).isInstanceOf(IOException.class);
        try (RawBatcher clear = RawBatcher.connect("127.0.0.1", batcherPort)) {
            clear.send(Draft.of(Map.of("via", "clear")).id("tls-clear"));
            clear.flush();
        } catch (RuntimeException closed) {
            // the batcher closes a connection that does not start TLS
        }
        RoleProcess maintainer = c.get(Role.MAINTAINER, 0);
        ManagedChannel plain = LocalCluster.channel(c.secret(), "127.0.0.1", maintainer.ports().grpc());
        assertRefused(plain);

        // A client that does not trust the CA refuses the cluster.
        assertThatThrownBy(() -> {
            try (Chariots untrusting = Chariots.builder(c.appUrl(0)).retries(0).build()) {
                untrusting.get(httpsLid);
            }
        }).hasStackTraceContaining("PKIX");

        // Over TLS, but with no client certificate, or one another authority signed: refused.
        SslBuilder noCert = () -> GrpcSslContexts.forClient().trustManager(ca.toFile()).build();
        assertRefused(tlsChannel(maintainer, noCert, c));
        LocalCa.Files3 other = LocalCa.ensure(dir.resolve("other-ca"), List.of());
        SslBuilder foreign = () -> GrpcSslContexts.forClient().keyManager(other.cert().toFile(), other.key().toFile())
                .trustManager(ca.toFile()).build();
        assertRefused(tlsChannel(maintainer, foreign, c));
        // With the member certificate it is served.
        ManagedChannel member = c.channel("127.0.0.1", maintainer.ports().grpc());
        try {
            assertThat(MaintainerGrpc.newBlockingStub(member).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .stats(ReadRequest.getDefaultInstance()).getMaxLid()).isEqualTo(6);
        } finally {
            member.shutdownNow();
        }

        assertThat(Files.readString(c.get(Role.BATCHER, 0).log())).as("the clear connection was refused and said so")
                .contains("it did not start TLS");
        // Appended after it, durably: had the clear frame been taken, it would be in the log by now.
        try (Chariots log2 = Chariots.builder(c.appUrl(0)).trust(ca).build()) {
            log2.appendDurable(Draft.of(Map.of("via", "https")).id("tls-last"));
        }
        assertThat(LogProbe.ids(LogProbe.readLog(c))).as("nothing sent in clear was taken").doesNotContain("tls-clear")
                .contains("tls-last");
    }

    private static void cliRun(Path root, List<String> cli, Path ca, String url, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(cli);
        cmd.addAll(List.of(args));
        io.chariots.testkit.ChildProcess.Finished f = io.chariots.testkit.ChildProcess.command(cmd).directory(root)
                .env("PYTHONPATH", root.resolve("clients/python").toString()).env("CHARIOTS_URL", url)
                .env("CHARIOTS_CA", ca.toString()).env("NO_COLOR", "1").run(Duration.ofSeconds(60));
        assertThat(f.exit()).as(f.describe()).isZero();
    }

    interface SslBuilder {
        io.netty.handler.ssl.SslContext build() throws IOException;
    }

    private static ManagedChannel tlsChannel(RoleProcess m, SslBuilder ssl, LocalCluster c) throws IOException {
        NettyChannelBuilder b = NettyChannelBuilder.forAddress("127.0.0.1", m.ports().grpc()).sslContext(ssl.build())
                .overrideAuthority(io.chariots.common.net.ClusterTls.DEFAULT_AUTHORITY);
        if (c.secret() != null) {
            b.intercept(new io.chariots.common.auth.Prover(c.secret()).interceptor());
        }
        return b.build();
    }

    private static void assertRefused(ManagedChannel ch) {
        try {
            assertThatThrownBy(() -> MaintainerGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .stats(ReadRequest.getDefaultInstance()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
        } finally {
            ch.shutdownNow();
        }
    }
}
