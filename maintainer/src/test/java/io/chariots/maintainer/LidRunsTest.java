package io.chariots.maintainer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

class LidRunsTest {
    @Test
    void behavesAsASetOfLidsInUnsignedOrderWhateverTheOrderOfAddsAndRemoves() {
        for (long seed = 0; seed < 200; seed++) {
            Random random = new Random(seed);
            LidRuns runs = new LidRuns();
            TreeSet<Long> expected = new TreeSet<>(Long::compareUnsigned);
            // Mostly consecutive LIds as stripes give them, near 0 and near the top of the unsigned range.
            long base = random.nextBoolean() ? 1 : -300L;
            for (int op = 0; op < 400; op++) {
                long lid = base + random.nextInt(200);
                if (lid == 0) {
                    continue;
                }
                if (random.nextInt(3) > 0) {
                    assertThat(runs.add(lid)).as("seed %d add %d", seed, lid).isEqualTo(expected.add(lid));
                } else {
                    assertThat(runs.remove(lid)).as("seed %d remove %d", seed, lid).isEqualTo(expected.remove(lid));
                }
                assertThat(runs.size()).as("seed %d", seed).isEqualTo(expected.size());
                assertThat(runs.first()).as("seed %d", seed).isEqualTo(expected.isEmpty() ? 0 : expected.first());
            }
            long from = base + random.nextInt(200);
            assertThat(runs.from(from, 50)).as("seed %d from %d", seed, from)
                    .containsExactlyElementsOf(expected.tailSet(from, true).stream().limit(50).toList());
            for (long lid = base; lid != base + 200; lid++) {
                assertThat(runs.contains(lid)).isEqualTo(expected.contains(lid));
            }
        }
    }

    @Test
    void consecutiveLidsAreKeptAsOneRunAndSplitWhereOneLeaves() {
        LidRuns runs = new LidRuns();
        List<Long> lids = new ArrayList<>();
        for (long lid = 1000; lid >= 1; lid--) {
            lids.add(lid);
            runs.add(lid);
        }
        assertThat(runs.runCount()).isEqualTo(1);
        assertThat(runs.size()).isEqualTo(1000);
        runs.remove(500);
        assertThat(runs.runCount()).isEqualTo(2);
        assertThat(runs.from(498, 4)).containsExactly(498L, 499L, 501L, 502L);
        runs.add(500);
        assertThat(runs.runCount()).isEqualTo(1);
    }
}
