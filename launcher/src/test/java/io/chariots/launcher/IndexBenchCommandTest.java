package io.chariots.launcher;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code ./chariots bench-index}, small: it writes, waits for RocksDB's background work, and checks every lookup. */
class IndexBenchCommandTest {
    @TempDir
    Path dir;

    @Test
    void indexesTheBenchWorkloadAndAnswersEveryLookupRight() throws Exception {
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int code;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            code = ChariotsCli.commandLine().execute("bench-index", "-n", "30030", "--group", "700", "--lookups", "300",
                    "--dir", dir.resolve("ix").toString());
        } finally {
            System.setOut(out);
        }
        String text = captured.toString(StandardCharsets.UTF_8);
        assertThat(code).as(text).isZero();
        assertThat(text).contains("30,030 indexed", "write ", "cause found", "cause absent", "id status", "tag scan", "chain scan");
        try (Stream<Path> files = Files.list(dir.resolve("ix"))) {
            assertThat(files.map(p -> p.getFileName().toString())).as("--dir keeps the index").contains("CURRENT");
        }
    }

    @Test
    void refusesARunTooSmallToHoldAChain() {
        assertThat(ChariotsCli.commandLine().execute("bench-index", "-n", "29")).isEqualTo(2);
    }
}
