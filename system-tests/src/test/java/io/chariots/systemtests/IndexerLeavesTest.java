package io.chariots.systemtests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.chariots.common.record.Fnv1a64;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.IndexerGrpc;
import io.chariots.proto.LookupRequest;
import io.chariots.proto.Role;
import io.grpc.ManagedChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An indexer that leaves for good (2 indexers, 2 maintainers): its share of
 * the index is re-fed by the maintainers to the one that remains, so every
 * tag lookup finds all its records again, and a record whose cause was
 * indexed only on the departed indexer is appended — not rejected, although
 * the cause timeout (3 s) is shorter than the gone time plus the rebuild.
 */
class IndexerLeavesTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int RECORDS = 2000;
    static final int TAGS = 20;

    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();

    @TempDir
    Path dir;

    @Test
    void theDepartedSharesIsRebuiltAndItsCausesStillCount() throws Exception {
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir)
                .setting("maintainer.indexer_gone_ms", "3000")
                .setting("queue.cause_timeout_ms", "3000")
                .apps(1).batchers(1).queues(1).maintainers(2).indexers(2).start());
        c.awaitRegistered(Duration.ofSeconds(240)); // a shared 2-core machine starts 9 JVMs slowly

        // 2000 records, durably (persisted and indexed), in arrays of 200.
        Map<Long, Integer> recordAt = new HashMap<>();
        for (int from = 0; from < RECORDS; from += 200) {
            ArrayNode batch = JSON.createArrayNode();
            for (int i = from; i < from + 200; i++) {
                ObjectNode r = batch.addObject();
                r.put("id", "r" + i);
                r.put("seed", i + 1);
                r.putObject("tags").put("k", "v" + (i % TAGS)).put("n", "r" + i);
            }
            HttpResponse<String> resp = LogProbe.post(c.appUrl(0) + "/record?wait=true", batch.toString());
            assertThat(resp.statusCode()).as(resp.body()).isEqualTo(200);
            for (JsonNode r : JSON.readTree(resp.body()).get("records")) {
                recordAt.put(r.get("lid").asLong(), Integer.parseInt(r.get("id").asText().substring(1)));
            }
        }
        assertThat(recordAt).hasSize(RECORDS);

        // A cause held by the indexer about to leave: one of its entries for tag k:v0.
        RoleProcess leaving = c.get(Role.INDEXER, 1);
        List<Long> held = lookup(c, leaving, Fnv1a64.hashTag("k", "v0"));
        assertThat(held).as("the indexer that leaves holds part of the index").isNotEmpty();
        int cause = recordAt.get(held.get(0));

        leaving.stop();
        long stoppedAt = System.nanoTime();

        // The effect arrives while the share is being rebuilt: it must wait, not be rejected.
        ObjectNode effect = JSON.createObjectNode();
        effect.put("id", "effect");
        effect.put("seed", cause + 1);
        effect.put("prehash", Long.toUnsignedString(Fnv1a64.hashTag("n", "r" + cause)));
        effect.putObject("tags").put("effect", "1");
        assertThat(LogProbe.post(c.appUrl(0) + "/record", effect.toString()).statusCode()).isEqualTo(202);

        JsonNode status = awaitSettled(c, "effect", Duration.ofSeconds(40));
        assertThat(status.get("status").asText()).as(status.toString()).isEqualTo("appended");
        long effectLid = status.get("lid").asLong();
        assertThat(effectLid).isGreaterThan(RECORDS);

        // Every maintainer finished its re-feed; together they re-fed what the departed indexer held.
        long refed = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            boolean running = false;
            refed = 0;
            for (RoleProcess m : c.all(Role.MAINTAINER)) {
                JsonNode reindex = c.getJson("http://" + m.host() + ":" + m.ports().admin() + "/health").findValue("reindex");
                assertThat(reindex).as("maintainer /health shows the reindex").isNotNull();
                running |= reindex.get("running").asBoolean();
                refed += reindex.get("entriesRefed").asLong();
            }
            if ((!running && refed > 0) || System.nanoTime() > deadline) {
                break;
            }
            Thread.sleep(200);
        }
        assertThat(refed).as("entries re-fed").isGreaterThanOrEqualTo(held.size() * TAGS / 2L);
        for (RoleProcess m : c.all(Role.MAINTAINER)) {
            assertThat(LogProbe.get("http://" + m.host() + ":" + m.ports().admin() + "/metrics").body())
                    .as("%s: no re-feed pending", m).containsPattern("(?m)^chariots_maintainer_reindex_pending(\\{[^}]*\\})? 0\\.0$");
        }
        assertThat(String.join("\n", logLines(c))).contains("left for good").contains("re-feed done");

        // Every tag lookup finds all its records again.
        for (int t = 0; t < TAGS; t++) {
            TreeSet<Long> expected = new TreeSet<>();
            for (Map.Entry<Long, Integer> e : recordAt.entrySet()) {
                if (e.getValue() % TAGS == t) {
                    expected.add(e.getKey());
                }
            }
            HttpResponse<String> r = LogProbe.get(c.appUrl(0) + "/records?tag=k:v" + t + "&limit=1000");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            TreeSet<Long> found = new TreeSet<>();
            for (JsonNode rec : JSON.readTree(r.body()).get("records")) {
                found.add(rec.get("lid").asLong());
            }
            assertThat(found).as("tag k:v%d", t).isEqualTo(expected);
        }
        System.out.printf("indexer left: effect appended at LId %d, %d entries re-fed, %d ms after the stop%n",
                effectLid, refed, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAt));
    }

    private static List<Long> lookup(LocalCluster c, RoleProcess indexer, long tagHash) {
        ManagedChannel ch = c.channel(indexer.host(), indexer.ports().grpc());
        try {
            return IndexerGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .lookup(LookupRequest.newBuilder().setTagHash(tagHash).setLimit(1000).build()).getLidsList();
        } finally {
            ch.shutdownNow();
        }
    }

    private static JsonNode awaitSettled(LocalCluster c, String id, Duration within) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = LogProbe.get(c.appUrl(0) + "/record?id=" + id);
            if (r.statusCode() == 200) {
                last = JSON.readTree(r.body());
                String s = last.path("status").asText();
                if (s.equals("appended") || s.equals("rejected")) {
                    return last;
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("record " + id + " not settled within " + within + ": " + last);
    }

    private static List<String> logLines(LocalCluster c) throws Exception {
        List<String> out = new ArrayList<>();
        for (RoleProcess m : c.all(Role.MAINTAINER)) {
            out.addAll(java.nio.file.Files.readAllLines(m.log()));
        }
        return out;
    }
}
