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
            // Mostly consecutive LIds as stripes give them, in one set: near 1, across the sign bit
            // (where signed and unsigned order differ) and up to -1, the highest unsigned LId.
            long[] bases = {1, Long.MAX_VALUE - 100, -150L};
            for (int op = 0; op < 600; op++) {
                long lid = bases[random.nextInt(bases.length)] + random.nextInt(200);
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
            for (long base : bases) {
                long from = base + random.nextInt(200);
                assertThat(runs.from(from, 500)).as("seed %d from %d", seed, from)
                        .containsExactlyElementsOf(expected.tailSet(from, true).stream().limit(500).toList());
                for (long lid = base; lid != base + 200; lid++) {
                    assertThat(runs.contains(lid)).isEqualTo(expected.contains(lid));
                }
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

    @Test
    void theHighestUnsignedLidJoinsAndLeavesItsRun() {
        LidRuns runs = new LidRuns();
        runs.add(-2L);
        runs.add(-1L);
        runs.add(Long.MAX_VALUE);
        runs.add(Long.MIN_VALUE);
        assertThat(runs.runCount()).as("MAX_VALUE and MIN_VALUE are consecutive unsigned").isEqualTo(2);
        assertThat(runs.first()).isEqualTo(Long.MAX_VALUE);
        assertThat(runs.from(-2L, 10)).containsExactly(-2L, -1L);
        assertThat(runs.from(Long.MAX_VALUE, 10)).containsExactly(Long.MAX_VALUE, Long.MIN_VALUE, -2L, -1L);
        assertThat(runs.remove(-1L)).isTrue();
        assertThat(runs.from(0, 10)).containsExactly(Long.MAX_VALUE, Long.MIN_VALUE, -2L);
        assertThat(runs.add(-1L)).isTrue();
        assertThat(runs.runCount()).isEqualTo(2);
        assertThat(runs.size()).isEqualTo(4);
    }
}
