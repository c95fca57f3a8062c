package io.chariots.common.record;

import io.chariots.common.testing.CpuBound;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** How a record keeps its causes: zeros and repeats dropped, order kept, in O(n log n) whatever their number. */
class LogRecordTest {

    /** The causes as the contract says: first occurrence of each non-zero hash, in the order given. */
    static long[] expected(long[] in) {
        LinkedHashSet<Long> seen = new LinkedHashSet<>();
        for (long h : in) {
            if (h != 0) {
                seen.add(h);
            }
        }
        return seen.stream().mapToLong(Long::longValue).toArray();
    }

    @Test
    void zerosAndRepeatsAreDroppedKeepingOrder() {
        assertThat(LogRecord.builder().build().prehashes()).isEmpty();
        assertThat(LogRecord.builder().prehashes().build().prehashes()).isEmpty();
        assertThat(LogRecord.builder().prehashes(0, 0).build().causeCount()).isZero();
        assertThat(LogRecord.builder().prehashes(7).build().prehashes()).containsExactly(7);
        assertThat(LogRecord.builder().prehashes(3, 0, 1, 3, -1, 1, 2, -1).build().prehashes())
                .containsExactly(3, 1, -1, 2);
    }

    @Test
    void manyCausesKeepTheSameSemantics() {
        SplittableRandom random = new SplittableRandom(42);
        for (int size : new int[] {5, 16, 17, 33, 100, 1_000, 50_000}) {
            // Zeros; many repeats; hashes that share low or high bits and the extremes of a long.
            long[] in = new long[size];
            for (int i = 0; i < size; i++) {
                in[i] = switch (random.nextInt(6)) {
                    case 0 -> 0;
                    case 1 -> Long.MIN_VALUE + random.nextInt(4);
                    case 2 -> -1L - random.nextInt(4);
                    case 3 -> (long) random.nextInt(size) << 32;
                    case 4 -> random.nextInt(size / 2 + 1) + 1;
                    default -> random.nextLong();
                };
            }
            long[] want = expected(in);
            assertThat(LogRecord.builder().prehashes(in).build().prehashes()).as("%d causes", size)
                    .containsExactly(want);
            // The sort, whatever the record takes.
            long[] out = new long[size];
            assertThat(Arrays.copyOf(out, LogRecord.firstsBySort(in, out))).as("by sort, %d", size).containsExactly(want);
        }
    }

    /**
     * A record built inside (from an envelope) is not limited to
     * {@link RecordJson#MAX_CAUSES}: two million distinct causes must cost a
     * fraction of a second. A pass over the causes kept so far for each cause
     * (2·10^12 comparisons) takes about 350 s of CPU (3.5 s for 200,000, times
     * 100), the sort about 0.6 s: the bound, this thread's CPU time, lies 16
     * times above one and 35 times below the other.
     */
    @Test
    void twoMillionCausesCostAFractionOfASecond() {
        int n = 2_000_000;
        long[] causes = new long[n];
        for (int i = 0; i < n; i++) {
            causes[i] = i + 1;
        }
        SplittableRandom random = new SplittableRandom(7);
        for (int i = n - 1; i > 0; i--) { // in no particular order
            int j = random.nextInt(i + 1);
            long c = causes[i];
            causes[i] = causes[j];
            causes[j] = c;
        }
        long[] given = Arrays.copyOf(causes, n + 3);
        given[n] = causes[0]; // repeats and a zero: dropped
        given[n + 2] = causes[n - 1];

        LogRecord r = CpuBound.within(10_000, () -> LogRecord.builder().prehashes(given).build());

        assertThat(r.causeCount()).isEqualTo(n);
        assertThat(Arrays.equals(r.prehashes(), causes)).as("the causes, in the order given").isTrue();
    }
}
