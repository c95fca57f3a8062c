package io.chariots.launcher;

import io.chariots.queue.RecentIdsBench;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code ./chariots bench-ids}, small: a filter of 2 MiB, its segments filled and asked about. */
class IdsBenchCommandTest {
    @Test
    void timesAskingAndAddingAsTheSegmentsFill() {
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int code;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            code = ChariotsCli.commandLine().execute("bench-ids", "--filter-mb", "2", "--segments", "1,11", "--asks", "20000", "--rounds", "2");
        } finally {
            System.setOut(out);
        }
        String text = captured.toString(StandardCharsets.UTF_8);
        assertThat(code).as(text).isZero();
        assertThat(text).contains("a filter of 2 MiB, " + String.format(Locale.ROOT, "%,d", RecentIdsBench.segmentCapacity(2 << 20))
                + " ids a segment");
        Matcher m = Pattern.compile("(\\d+) segments  ask +(\\d+) ns a new id \\(([\\d.]+)% answered maybe\\)  add +(\\d+) ns").matcher(text);
        int rounds = 0;
        while (m.find()) {
            rounds++;
            int segments = Integer.parseInt(m.group(1));
            assertThat(segments).isIn(1, 11);
            // Full segments of 15 bits an id: about 0.14% false positives each, 1.5% over eleven.
            assertThat(Double.parseDouble(m.group(3))).as(m.group()).isLessThan(segments == 1 ? 0.3 : 2.2);
        }
        assertThat(rounds).as(text).isEqualTo(4);
    }

    @Test
    void everyIdAddedIsRememberedAndTheSegmentsAreThoseAskedFor() {
        RecentIdsBench.Round r = RecentIdsBench.run(1 << 20, 6, 5_000, 7); // throws if an id added is answered "never seen"
        assertThat(r.segments()).as("segments live after filling").isEqualTo(6);
        assertThat(r.falsePositiveShare()).isBetween(0.0, 0.012);
        assertThatThrownBy(() -> RecentIdsBench.run(1 << 20, 12, 5_000, 7)).hasMessageContaining("1 to 11");
    }

    @Test
    void refusesWhatItCannotMeasure() {
        assertThat(ChariotsCli.commandLine().execute("bench-ids", "--segments", "12")).isEqualTo(2);
        assertThat(ChariotsCli.commandLine().execute("bench-ids", "--filter-mb", "0")).isEqualTo(2);
        assertThat(ChariotsCli.commandLine().execute("bench-ids", "--asks", "10")).isEqualTo(2);
    }
}
