package io.chariots.queue;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** RecentIdFilter through its answers, its coverage and its memory. */
class RecentIdFilterTest {
    private static final long SECOND = 1_000_000_000L;
    private static final long T0 = 2_000_000_000_000L;
    private static final long WINDOW = 600 * SECOND;

    private static void add(RecentIdFilter f, String id, long now) {
        f.add(IdLedger.h1(id), IdLedger.h2(id), now);
    }

    private static boolean mayContain(RecentIdFilter f, String id, long now) {
        return f.mayContain(IdLedger.h1(id), IdLedger.h2(id), now);
    }

    /** How many ids one segment takes before the next one starts (seen through the memory held). */
    private static int segmentCapacity(long bytes) {
        RecentIdFilter f = new RecentIdFilter(WINDOW, bytes, T0);
        long one = f.bytes();
        int n = 0;
        while (f.bytes() == one) {
            add(f, "probe-" + n, T0);
            n++;
        }
        return n - 1; // the last add started the second segment
    }

    @Test
    void anEmptyFilterKnowsNothing() {
        RecentIdFilter f = new RecentIdFilter(WINDOW, 1 << 20, T0);
        for (int i = 0; i < 1000; i++) {
            assertThat(mayContain(f, "id-" + i, T0)).isFalse();
        }
    }

    @Test
    void neverSaysNoForAnIdSeenWithinTheWindow() {
        RecentIdFilter f = new RecentIdFilter(WINDOW, 4L << 20, T0);
        int n = 200_000;
        long step = WINDOW / n;
        long now = T0;
        for (int i = 0; i < n; i++) {
            now = T0 + i * step;
            add(f, "id-" + i, now);
            if (i % 1000 == 999) {
                // Now and then, ids from all over the window so far.
                for (int j = 0; j <= i; j += 997) {
                    assertThat(mayContain(f, "id-" + j, now)).as("id-%d at add %d", j, i).isTrue();
                }
            }
        }
        for (int i = 0; i < n; i++) {
            assertThat(mayContain(f, "id-" + i, now)).as("id-%d", i).isTrue();
        }
        assertThat(f.coveredNanos(now)).isEqualTo(now - T0);
    }

    @Test
    void atCapacityTheFalsePositiveRateStaysLow() {
        long bytes = 88_000; // 1,000 words per segment
        int perSegment = segmentCapacity(bytes);
        assertThat(perSegment).isPositive();
        RecentIdFilter f = new RecentIdFilter(WINDOW, bytes, T0);
        // Every segment full: the most the memory holds without forgetting.
        int held = 11 * perSegment;
        for (int i = 0; i < held; i++) {
            add(f, "seen-" + i, T0);
        }
        for (int i = 0; i < held; i++) {
            assertThat(mayContain(f, "seen-" + i, T0)).as("seen-%d", i).isTrue();
        }
        int tries = 100_000;
        int maybe = 0;
        for (int i = 0; i < tries; i++) {
            if (mayContain(f, "fresh-" + i, T0)) {
                maybe++;
            }
        }
        assertThat(maybe / (double) tries).as("false positives with %d ids in %d-id segments", held, perSegment)
                .isLessThan(0.022); // 1.5% expected; bits in one progression gave 2.6%
    }

    @Test
    void aFullSegmentAloneHasAboutOnePercentFalsePositivesOrLess() {
        long bytes = 88_000;
        int perSegment = segmentCapacity(bytes);
        RecentIdFilter f = new RecentIdFilter(WINDOW, bytes, T0);
        for (int i = 0; i < perSegment; i++) {
            add(f, "seen-" + i, T0);
        }
        int maybe = 0;
        for (int i = 0; i < 100_000; i++) {
            if (mayContain(f, "fresh-" + i, T0)) {
                maybe++;
            }
        }
        assertThat(maybe).as("of 100,000 fresh ids").isLessThan(220); // 0.14% expected; bits in one progression gave 0.25%
    }

    @Test
    void idsOlderThanTheWindowAreForgotten() {
        RecentIdFilter f = new RecentIdFilter(WINDOW, 1 << 20, T0);
        add(f, "old", T0);
        add(f, "later", T0 + WINDOW / 2);
        assertThat(mayContain(f, "old", T0 + WINDOW)).isTrue();
        assertThat(mayContain(f, "later", T0 + WINDOW)).isTrue();
        assertThat(mayContain(f, "old", T0 + WINDOW + WINDOW / 5)).isFalse();
        assertThat(mayContain(f, "later", T0 + WINDOW + WINDOW / 5)).isTrue();
        assertThat(mayContain(f, "later", T0 + 2 * WINDOW)).isFalse();
    }

    @Test
    void everythingIsForgottenAfterALongSilence() {
        RecentIdFilter f = new RecentIdFilter(WINDOW, 1 << 20, T0);
        for (int i = 0; i < 1000; i++) {
            add(f, "id-" + i, T0 + i * (WINDOW / 1000));
        }
        long much = T0 + 5 * WINDOW;
        for (int i = 0; i < 1000; i++) {
            assertThat(mayContain(f, "id-" + i, much)).isFalse();
        }
        assertThat(f.bytes()).as("old segments released").isEqualTo(new RecentIdFilter(WINDOW, 1 << 20, T0).bytes());
    }

    @Test
    void theCoverageIsTheWindowAtRatesTheMemoryAllows() {
        RecentIdFilter f = new RecentIdFilter(WINDOW, 1 << 20, T0);
        assertThat(f.coveredNanos(T0)).isZero();
        assertThat(f.coveredNanos(T0 + WINDOW / 3)).isEqualTo(WINDOW / 3);
        for (int i = 0; i < 2000; i++) {
            add(f, "id-" + i, T0 + i * (WINDOW / 500));
        }
        assertThat(f.coveredNanos(T0 + 4 * WINDOW)).isEqualTo(WINDOW);
    }

    @Test
    void theCoverageShrinksWhenIdsComeFasterThanTheMemoryHolds() {
        long bytes = 88_000;
        int perSegment = segmentCapacity(bytes);
        RecentIdFilter f = new RecentIdFilter(WINDOW, bytes, T0);
        // Thirty segments' worth within a hundredth of the window.
        int n = 30 * perSegment;
        long span = WINDOW / 100;
        long now = T0;
        for (int i = 0; i < n; i++) {
            now = T0 + span * i / n;
            add(f, "id-" + i, now);
        }
        long covered = f.coveredNanos(now);
        assertThat(covered).isLessThan(span / 2).isPositive();
        // What it covers it still knows...
        for (int i = n - 1; i >= 0 && T0 + span * i / n >= now - covered; i--) {
            assertThat(mayContain(f, "id-" + i, now)).as("id-%d", i).isTrue();
        }
        // ...and the first ids are gone (but for false positives).
        int remembered = 0;
        for (int i = 0; i < perSegment; i++) {
            if (mayContain(f, "id-" + i, now)) {
                remembered++;
            }
        }
        assertThat(remembered).isLessThan(perSegment / 10);
        // The memory stays fixed: at most eleven segments.
        assertThat(f.bytes()).isLessThanOrEqualTo(bytes);
    }

    private static byte[] written(RecentIdFilter f, long now) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        f.writeTo(new DataOutputStream(bytes), now);
        return bytes.toByteArray();
    }

    private static DataInputStream in(byte[] b) {
        return new DataInputStream(new ByteArrayInputStream(b));
    }

    @Test
    void aRestoredFilterAnswersAsTheOneWrittenAndAgesByTheTimeBetween() throws IOException {
        RecentIdFilter f = new RecentIdFilter(WINDOW, 4L << 20, T0);
        int n = 60_000;
        long step = WINDOW / 2 / n; // over half the window: several segments
        for (int i = 0; i < n; i++) {
            add(f, "id-" + i, T0 + i * step);
        }
        long stop = T0 + WINDOW / 2;
        byte[] b = written(f, stop);

        // Another process, whose clock reads anything: 100 s later by the wall clock.
        long t1 = 77 * SECOND;
        RecentIdFilter g = new RecentIdFilter(WINDOW, 4L << 20, t1);
        g.restore(g.read(in(b)), t1, 100 * SECOND);
        int falsePositives = 0;
        for (int i = 0; i < n; i++) {
            assertThat(mayContain(g, "id-" + i, t1)).as("id-%d", i).isTrue();
            falsePositives += mayContain(g, "new-" + i, t1) == mayContain(f, "new-" + i, stop) ? 0 : 1;
        }
        assertThat(falsePositives).as("new ids answered otherwise than by the filter written").isZero();
        assertThat(g.coveredNanos(t1)).isEqualTo(WINDOW / 2 + 100 * SECOND);

        // The oldest ids go once past the window, as they would have in the first process.
        long later = t1 + WINDOW / 2;
        assertThat(mayContain(g, "id-" + (n - 1), later)).isTrue();
        assertThat(mayContain(g, "id-0", later)).as("first id, a window and a segment after it came").isFalse();
    }

    @Test
    void aStopLongerThanTheWindowRestoresNothing() throws IOException {
        RecentIdFilter f = new RecentIdFilter(WINDOW, 1 << 20, T0);
        add(f, "a", T0);
        byte[] b = written(f, T0 + SECOND);
        RecentIdFilter g = new RecentIdFilter(WINDOW, 1 << 20, T0);
        g.restore(g.read(in(b)), T0, WINDOW + WINDOW / 10);
        assertThat(mayContain(g, "a", T0)).isFalse();
        assertThat(g.segments()).isEqualTo(1);
    }

    @Test
    void aFilterOfAnotherSizeOrOneAlreadyInUseIsNotRestored() throws IOException {
        RecentIdFilter f = new RecentIdFilter(WINDOW, 1 << 20, T0);
        add(f, "a", T0);
        byte[] b = written(f, T0);
        assertThatThrownBy(() -> new RecentIdFilter(WINDOW, 2 << 20, T0).read(in(b)))
                .isInstanceOf(IOException.class).hasMessageContaining("queue.dedup_filter_mb changed");
        RecentIdFilter same = new RecentIdFilter(WINDOW, 1 << 20, T0);
        assertThatThrownBy(() -> same.read(in(java.util.Arrays.copyOf(b, b.length - 1))))
                .isInstanceOf(java.io.EOFException.class);
        // A damaged size is refused before anything is allocated for it.
        byte[] huge = b.clone();
        java.nio.ByteBuffer.wrap(huge).putInt(0, Integer.MAX_VALUE - 7);
        assertThatThrownBy(() -> same.read(in(huge))).isInstanceOf(IOException.class).hasMessageContaining("MiB");
        byte[] tooMany = b.clone();
        java.nio.ByteBuffer.wrap(tooMany).putInt(4, 1 << 30);
        assertThatThrownBy(() -> same.read(in(tooMany))).isInstanceOf(IOException.class).hasMessageContaining("segments");
        RecentIdFilter inUse = new RecentIdFilter(WINDOW, 1 << 20, T0);
        add(inUse, "b", T0);
        assertThatThrownBy(() -> inUse.restore(inUse.read(in(b)), T0, 0)).isInstanceOf(IllegalStateException.class);
    }
}
