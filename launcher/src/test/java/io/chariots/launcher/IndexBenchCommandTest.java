package io.chariots.launcher;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code ./chariots bench-index}, small: it writes (1 MiB memtables: several flushes), waits for RocksDB's background work, and checks every lookup. */
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
                    "--write-buffer-mb", "1", "--block-cache-mb", "3", "--quiet-ms", "200", "--dir", dir.resolve("ix").toString());
        } finally {
            System.setOut(out);
        }
        String text = captured.toString(StandardCharsets.UTF_8);
        assertThat(code).as(text).isZero();
        assertThat(text).contains("30,030 indexed", "write ", "cause found", "cause absent", "id status", "tag scan", "chain scan")
                .contains("1 MiB memtable, 3 MiB block cache");
        // 1 MiB memtables: several flushes, so universal compaction has merged sorted runs, each byte written more than once.
        Matcher rocks = Pattern.compile(
                "rocksdb +([\\d,]+) flushes and compactions: ([\\d.]+) s of CPU \\(([\\d.]+) µs a record\\), write amplification ([\\d.]+)")
                .matcher(text);
        assertThat(rocks.find()).as(text).isTrue();
        assertThat(Long.parseLong(rocks.group(1).replace(",", ""))).as("flushes and compactions").isGreaterThan(4);
        assertThat(Double.parseDouble(rocks.group(2))).as("their CPU").isPositive();
        assertThat(Double.parseDouble(rocks.group(4))).as("write amplification").isGreaterThan(1.0);
        try (Stream<Path> files = Files.list(dir.resolve("ix"))) {
            assertThat(files.map(p -> p.getFileName().toString())).as("--dir keeps the index, flushed").contains("CURRENT")
                    .anyMatch(n -> n.endsWith(".sst"));
        }
        assertThat(Files.readString(dir.resolve("ix").resolve("LOG"))).as("RocksDB's own account of the block cache it was given")
                .contains("capacity : 3145728");
    }

    @Test
    void refusesWhatItCannotMeasureRight() throws Exception {
        assertThat(ChariotsCli.commandLine().execute("bench-index", "-n", "29")).as("too few for a chain").isEqualTo(2);
        assertThat(ChariotsCli.commandLine().execute("bench-index", "--lookups", "150")).as("lookups go 100 at a time").isEqualTo(2);
        assertThat(ChariotsCli.commandLine().execute("bench-index", "--write-buffer-mb", "0")).isEqualTo(2);
        assertThat(ChariotsCli.commandLine().execute("bench-index", "--block-cache-mb", "0")).isEqualTo(2);
        Files.writeString(dir.resolve("something"), "x");
        assertThat(ChariotsCli.commandLine().execute("bench-index", "--dir", dir.toString())).as("a used directory").isEqualTo(2);
    }
}
