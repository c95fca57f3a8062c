package io.chariots.systemtests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.chariots.common.frame.FrameEncoder;
import io.chariots.common.record.LogRecord;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a client can send that took a role down on the old main, sent to real
 * role processes: each is refused with an error that names the limit, nothing
 * of it is appended, the role keeps its memory and serves everyone else.
 */
class HostileInputTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Just under the 16 MiB frame and body limits: 5.6 million empty records, {@code [{},{},…]}. */
    private static final int HUGE_BYTES = (16 << 20) - 64;

    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();
    @TempDir
    Path dir;

    /** {@code [{},{},…,{}]} of {@code bytes} bytes at most. */
    static byte[] emptyRecords(int bytes) {
        int n = (bytes - 2) / 3;
        byte[] b = new byte[n * 3 + 1];
        b[0] = '[';
        for (int i = 0; i < n; i++) {
            b[1 + 3 * i] = '{';
            b[2 + 3 * i] = '}';
            b[3 + 3 * i] = ',';
        }
        b[b.length - 1] = ']';
        return b;
    }

    @Test
    void millionsOfEmptyRecordsInOneFrameOrRequestAreRefusedWholeAndEveryRoleServesOn() throws Exception {
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).start());
        c.awaitRegistered(Duration.ofSeconds(90));
        RoleProcess batcher = c.get(Role.BATCHER, 0);
        RoleProcess app = c.get(Role.APP, 0);
        int port = batcher.ports().main();
        byte[] huge = emptyRecords(HUGE_BYTES);
        Set<String> good = new HashSet<>();

        // An old-style client (never reads): the frame is dropped whole, counted and logged with the peer.
        try (LogProbe.RawConnection raw = new LogProbe.RawConnection(port)) {
            raw.raw(FrameEncoder.encode((byte) 's', huge));
            raw.frame('s', "[{\"id\":\"ok-1\"},{\"id\":\"ok-2\"}]");
            good.add("ok-1");
            good.add("ok-2");
        }

        // An acknowledged client: the frame's answer is an error naming the limit, and the connection goes on.
        try (AcknowledgementsTest.AckedClient acked = new AcknowledgementsTest.AckedClient(port)) {
            acked.send('A', "{\"acks\":1}");
            assertThat(acked.next()).startsWith("A");
            acked.socket.getOutputStream().write(FrameEncoder.encode((byte) 's', huge));
            JsonNode refused = acked.nextAnswer();
            assertThat(refused.path("results")).hasSize(1);
            assertThat(refused.path("results").get(0).path("error").asText())
                    .contains("more than 10000 records").contains("batcher.max_frame_records").contains("nothing");
            acked.send('s', "[{\"id\":\"ok-3\"}]");
            JsonNode ok = acked.nextAnswer();
            assertThat(ok.path("results").get(0).path("lid").asLong()).as(ok.toString()).isPositive();
            good.add("ok-3");
        }

        // HTTP: 413 naming the limit; the next request is served.
        HttpResponse<String> tooMany = LogProbe.post(c.appUrl(0) + "/record", new String(huge, StandardCharsets.US_ASCII));
        assertThat(tooMany.statusCode()).as(tooMany.body()).isEqualTo(413);
        assertThat(JSON.readTree(tooMany.body()).path("error").asText())
                .contains("more than 10000 records").contains("app.max_request_records").contains("nothing was appended");
        HttpResponse<String> fine = LogProbe.post(c.appUrl(0) + "/record?wait=true", "{\"id\":\"ok-4\"}");
        assertThat(fine.statusCode()).as(fine.body()).isEqualTo(200);
        good.add("ok-4");

        assertThat(LogProbe.awaitStored(c, good.size(), Duration.ofSeconds(60))).isEqualTo(good.size());
        Thread.sleep(500); // anything extra would have landed by now
        TreeMap<Long, LogRecord> log = LogProbe.readLog(c);
        assertThat(new HashSet<>(LogProbe.ids(log))).as("only the good records are in the log").isEqualTo(good);

        assertThat(batcher.alive()).isTrue();
        assertThat(app.alive()).isTrue();
        assertThat(LogProbe.get("http://127.0.0.1:" + batcher.ports().admin() + "/health").statusCode()).isEqualTo(200);
        String metrics = LogProbe.get("http://127.0.0.1:" + batcher.ports().admin() + "/metrics").body();
        assertThat(AppendPathTest.metric(metrics, "chariots_batcher_frames_over_record_limit_total")).isEqualTo(2.0);
        String appMetrics = LogProbe.get(c.appUrl(0) + "/metrics").body();
        assertThat(AppendPathTest.metric(appMetrics, "chariots_app_requests_over_record_limit_total")).isEqualTo(1.0);
        String batcherLog = Files.readString(batcher.log());
        assertThat(Arrays.stream(batcherLog.split("\n")).filter(l -> l.contains("batcher.max_frame_records")))
                .as("each refused frame is logged with its peer").hasSize(2)
                .allMatch(l -> l.contains("from /127.0.0.1:"));
    }
}
