package io.chariots.indexer;

import io.chariots.proto.IndexBatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.chariots.indexer.TagIndexTest.BIG_SEED;
import static io.chariots.indexer.TagIndexTest.K1V1;
import static io.chariots.indexer.TagIndexTest.entry;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * I5 for the index: a child JVM indexes batches and reports each as written;
 * we SIGKILL it (no close, no flush, no shutdown hook) and every batch it
 * reported is still there when the index is reopened.
 */
class KillDurabilityTest {
    static final int BATCHES = 40;
    static final int PER_BATCH = 50;

    @TempDir
    Path dir;

    /** The child: index BATCHES batches, print "ACK n" after each, then wait to be killed. */
    public static void main(String[] args) throws Exception {
        TagIndex index = TagIndex.open(Path.of(args[0]));
        long lid = 1;
        for (int b = 1; b <= BATCHES; b++) {
            IndexBatch.Builder batch = IndexBatch.newBuilder();
            for (int i = 0; i < PER_BATCH; i++, lid++) {
                batch.addEntries(entry(lid, BIG_SEED, "id" + lid, K1V1));
            }
            index.index(batch.build());
            System.out.println("ACK " + b);
            System.out.flush();
        }
        Thread.sleep(60_000);
    }

    @Test
    void everyAcknowledgedBatchSurvivesSigkill() throws Exception {
        Path db = dir.resolve("index");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(List.of(java, "-cp", System.getProperty("java.class.path"),
                KillDurabilityTest.class.getName(), db.toString()))
                .redirectErrorStream(true).start();
        int acked = 0;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while (acked < BATCHES && (line = out.readLine()) != null) {
                if (line.startsWith("ACK ")) {
                    acked = Integer.parseInt(line.substring(4));
                }
            }
            child.destroyForcibly(); // SIGKILL
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
        } finally {
            child.destroyForcibly();
        }
        assertThat(acked).as("child acknowledged every batch").isEqualTo(BATCHES);

        try (TagIndex index = TagIndex.open(db)) {
            long total = (long) BATCHES * PER_BATCH;
            assertThat(index.lidsBySeed(BIG_SEED, 0, 10_000)).hasSize((int) total);
            assertThat(index.lidsByTag(K1V1, total - 1, 10)).containsExactly(total);
            assertThat(index.exists(K1V1, BIG_SEED)).isEqualTo(1);
            assertThat(index.idStatus("id" + total).getLid()).isEqualTo(total);
        }
    }
}
