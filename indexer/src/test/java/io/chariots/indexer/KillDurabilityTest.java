package io.chariots.indexer;

import io.chariots.proto.IndexBatch;
import io.chariots.testkit.ChildProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

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

    /** Copies of RocksDB's library that RocksDB's own loader leaves in the temporary directory. */
    static Set<Path> leftLibraries() throws IOException {
        try (Stream<Path> files = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return files.filter(f -> f.getFileName().toString().matches("librocksdbjni.*\\.so")).collect(Collectors.toSet());
        }
    }

    @Test
    void everyAcknowledgedBatchSurvivesSigkill() throws Exception {
        Path db = dir.resolve("index");
        Set<Path> librariesBefore = leftLibraries();
        ChildProcess child = ChildProcess.java(List.of(), KillDurabilityTest.class.getName(), List.of(db.toString()))
                .log(dir.resolve("child.log")).killOnExit().start();
        try {
            child.awaitLog(Pattern.compile("(?m)^ACK " + BATCHES + "$"), Duration.ofSeconds(120));
        } finally {
            child.kill(); // SIGKILL: no close, no flush, no shutdown hook
        }
        assertThat(child.exitValue()).isEqualTo(137);
        // The library was loaded from the one shared copy, not from a copy of its own that the kill left behind.
        Set<Path> left = new HashSet<>(leftLibraries());
        left.removeAll(librariesBefore);
        assertThat(left).as("RocksDB libraries left in the temporary directory").isEmpty();

        try (TagIndex index = TagIndex.open(db)) {
            long total = (long) BATCHES * PER_BATCH;
            assertThat(index.lidsBySeed(BIG_SEED, 0, 10_000)).hasSize((int) total);
            assertThat(index.lidsByTag(K1V1, total - 1, 10)).containsExactly(total);
            assertThat(index.exists(K1V1, BIG_SEED)).isEqualTo(1);
            assertThat(index.idStatus("id" + total).getLid()).isEqualTo(total);
        }
    }
}
