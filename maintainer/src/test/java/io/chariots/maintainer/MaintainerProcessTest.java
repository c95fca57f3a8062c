package io.chariots.maintainer;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;
import io.chariots.proto.HolesRequest;
import io.chariots.proto.Layout;
import io.chariots.proto.MaintainerGrpc;
import io.chariots.proto.MaintainerStats;
import io.chariots.proto.ReadRequest;
import io.chariots.proto.RecordBatch;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;
import io.chariots.proto.SealReply;
import io.chariots.proto.SealRequest;
import io.chariots.proto.StoreReply;
import io.chariots.proto.StoreRequest;
import io.chariots.testkit.ChildProcess;
import io.chariots.testkit.FreePorts;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static io.chariots.maintainer.Stores.layout;
import static io.chariots.maintainer.Stores.stripe;
import static io.chariots.maintainer.TestRecords.record;
import static org.assertj.core.api.Assertions.assertThat;

/** The wired maintainer: in this JVM, and in a child JVM killed with SIGKILL (I5). */
class MaintainerProcessTest {
    @TempDir
    Path dir;

    RoleConfig config(int controllerPort) {
        return RoleConfig.resolve(Role.MAINTAINER, Settings.of(Map.of("data_dir", dir.toString(),
                "controller", "127.0.0.1:" + controllerPort, "grpc_port", 0, "admin_port", 0, "bind", "127.0.0.1",
                "advertise", "127.0.0.1"), "test"));
    }

    static <T> T withStub(int port, java.util.function.Function<MaintainerGrpc.MaintainerBlockingStub, T> call)
            throws InterruptedException {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
                .maxInboundMessageSize(64 << 20).build();
        try {
            return call.apply(MaintainerGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS));
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void servesWhatItStoredAcrossARestartAndReportsHealthAndMetrics() throws Exception {
        int controller = FreePorts.freePort(); // nobody there: the maintainer serves while it keeps trying to register
        List<RecordEnvelope> records = List.of(record(1, 10), record(2, 1 << 20), record(1001, 600));
        try (Maintainer.Running m = Maintainer.launch(config(controller))) {
            String self = "127.0.0.1:" + m.grpcPort();
            StoreReply stored = withStub(m.grpcPort(), s -> {
                assertThat(s.seal(SealRequest.newBuilder().setEpoch(1).setBy("q").build()).getSealed()).isTrue();
                assertThat(s.setLayout(layout(1, 1, stripe(1, self, "other"))).getAccepted()).isTrue();
                s.fillHoles(HolesRequest.newBuilder().setEpoch(1).addLids(3).build());
                return s.store(StoreRequest.newBuilder().setEpoch(1).addAllRecords(records).build());
            });
            assertThat(stored.getStatus()).isEqualTo(StoreReply.Status.STORED);
            assertThat(stored.getAccepted()).isEqualTo(3);
            assertThat(m.runtime().health()).containsEntry("stored", 4L).containsEntry("maxLid", "1001")
                    .containsEntry("unindexed", 3L).containsEntry("indexers", 0).containsEntry("holes", 1L)
                    .containsEntry("sealedEpoch", "1").containsEntry("floor", "3").containsEntry("indexedThrough", "0");
            assertThat(m.runtime().metrics().scrape())
                    .contains("chariots_maintainer_store_refused_total")
                    .contains("chariots_maintainer_holes_total")
                    .contains("chariots_maintainer_records_stored_total")
                    .contains("chariots_maintainer_batches_stored_total")
                    .contains("chariots_maintainer_index_entries_sent_total")
                    .contains("chariots_maintainer_unindexed")
                    .contains("chariots_maintainer_write_latency_seconds");
        }
        try (Maintainer.Running m = Maintainer.launch(config(controller))) {
            RecordBatch back = withStub(m.grpcPort(), s -> s.read(ReadRequest.newBuilder().setFromLid(1).setLimit(2000)
                    .build()));
            assertThat(TestRecords.unstamped(back.getRecordsList())).filteredOn(r -> !r.getHole())
                    .containsExactlyElementsOf(records);
        }
    }

    @Test
    void aMaintainerKilledWithSigkillServesEverythingItAcknowledgedAfterRestart() throws Exception {
        int controller = FreePorts.freePort();
        int grpcPort = FreePorts.freePort();
        String self = "127.0.0.1:" + grpcPort;
        Layout layout = layout(7, 2, stripe(1, self), stripe(1501, self, "127.0.0.1:1"));
        Path data = dir.resolve("data");
        List<RecordEnvelope> acked = new ArrayList<>();
        ChildProcess child = startChild(data, controller, grpcPort, dir.resolve("first.log"));
        try {
            int port = awaitReady(child);
            withStub(port, s -> {
                assertThat(s.seal(SealRequest.newBuilder().setEpoch(7).setBy("q-a").build()).getSealed()).isTrue();
                assertThat(s.setLayout(layout).getAccepted()).isTrue();
                for (long lid = 1; lid <= 2000; lid += 50) {
                    List<RecordEnvelope> batch = new ArrayList<>();
                    for (long l = lid; l < lid + 50; l++) {
                        if (l < 1990 || l > 1999) {
                            batch.add(record(l, l % 10 == 0 ? 200_000 : 300));
                        }
                    }
                    StoreReply reply = s.store(StoreRequest.newBuilder().setEpoch(7).addAllRecords(batch).build());
                    assertThat(reply.getStatus()).isEqualTo(StoreReply.Status.STORED);
                    acked.addAll(batch);
                }
                HolesRequest.Builder holes = HolesRequest.newBuilder().setEpoch(7);
                for (long l = 1990; l <= 1999; l++) {
                    holes.addLids(l);
                }
                assertThat(s.fillHoles(holes.build()).getStatus()).isEqualTo(StoreReply.Status.STORED);
                return null;
            });
        } finally {
            child.kill(); // SIGKILL: no shutdown hook, no RocksDB close, no flush
        }
        assertThat(child.exitValue()).isEqualTo(137);

        ChildProcess again = startChild(data, controller, grpcPort, dir.resolve("second.log"));
        try {
            int port = awaitReady(again);
            List<RecordEnvelope> back = new ArrayList<>();
            withStub(port, s -> {
                long from = 1;
                while (true) {
                    RecordBatch b = s.read(ReadRequest.newBuilder().setFromLid(from).setLimit(500).build());
                    if (b.getRecordsCount() == 0) {
                        return null;
                    }
                    back.addAll(b.getRecordsList());
                    from = b.getRecords(b.getRecordsCount() - 1).getLid() + 1;
                }
            });
            List<RecordEnvelope> records = back.stream().filter(r -> !r.getHole()).toList();
            assertThat(records).hasSize(acked.size());
            for (int i = 0; i < acked.size(); i++) {
                assertThat(TestRecords.unstamped(records.get(i)).toByteArray()).isEqualTo(acked.get(i).toByteArray());
                assertThat(records.get(i).getStoredUs()).isPositive();
            }
            assertThat(back).filteredOn(RecordEnvelope::getHole).extracting(RecordEnvelope::getLid)
                    .containsExactlyElementsOf(FlStoreTest.range(1990, 1999));

            MaintainerStats stats = withStub(port, s -> s.stats(ReadRequest.getDefaultInstance()));
            assertThat(stats.getStored()).isEqualTo(2000);
            assertThat(stats.getHoles()).isEqualTo(10);
            assertThat(stats.getMaxLid()).isEqualTo(2000);
            assertThat(stats.getUnindexed()).isEqualTo(1990);
            assertThat(stats.getSealedEpoch()).isEqualTo(7);
            assertThat(stats.getLayout()).isEqualTo(layout);
            // Its LIds: all of block 0, then block 1 from 1501 is the other maintainer's.
            assertThat(stats.getFloor()).isEqualTo(1500);

            SealReply other = withStub(port, s -> s.seal(SealRequest.newBuilder().setEpoch(7).setBy("q-b").build()));
            assertThat(other.getSealed()).isFalse();
            assertThat(other.getBy()).isEqualTo("q-a");
            StoreReply rewrite = withStub(port, s -> s.store(StoreRequest.newBuilder().setEpoch(7)
                    .addRecords(record(1995)).build()));
            assertThat(rewrite.getStatus()).isEqualTo(StoreReply.Status.CONFLICT);
            assertThat(rewrite.getConflictsList()).containsExactly(1995L);
        } finally {
            again.kill();
        }
    }

    private static ChildProcess startChild(Path data, int controller, int grpcPort, Path log) {
        return ChildProcess.java(List.of("-Xmx256m"), MaintainerChild.class.getName(),
                List.of(data.toString(), String.valueOf(controller), String.valueOf(grpcPort))).log(log).killOnExit()
                .start();
    }

    private static int awaitReady(ChildProcess p) throws InterruptedException {
        return Integer.parseInt(p.awaitLog(Pattern.compile("MAINTAINER-READY (\\d+)"), Duration.ofSeconds(60)).group(1));
    }
}
