package io.chariots.launcher;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code bench} and {@code bench-read} refuse counts they cannot measure, before they look for a cluster. */
class BenchRefusalsTest {
    @Test
    void benchRefusesNoRecordsAndANegativeWarmUp() {
        assertRefused("bench: -n must be at least 1", "bench", "-n", "0");
        assertRefused("bench: -n must be at least 1 and --warmup at least 0, got -n 10 --warmup -1", "bench", "-n", "10",
                "--warmup", "-1");
        assertRefused("bench-read: -n must be at least 1, got 0", "bench-read", "-n", "0");
    }

    private static void assertRefused(String message, String... args) {
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int code;
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            code = ChariotsCli.commandLine().execute(args);
        } finally {
            System.setErr(err);
        }
        assertThat(code).as(String.join(" ", args)).isEqualTo(2);
        assertThat(captured.toString(StandardCharsets.UTF_8)).contains(message);
    }
}
