package io.chariots.common.collect;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(120) // a sweep that stopped freeing slots would make a probe spin forever
class FifoPairMapTest {
    @Test
    void keepsTheNewestEntriesAndEvictsInInsertionOrder() {
        FifoPairMap m = new FifoPairMap(3);
        assertThat(m.putIfAbsent(1, 1, 10)).isTrue();
        assertThat(m.putIfAbsent(2, 2, 20)).isTrue();
        assertThat(m.putIfAbsent(1, 1, 99)).as("present: unchanged").isFalse();
        assertThat(m.putIfAbsent(3, 3, 30)).isTrue();
        assertThat(m.putIfAbsent(4, 4, 40)).isTrue();
        assertThat(m.contains(1, 1)).as("oldest evicted").isFalse();
        assertThat(m.get(2, 2, -1)).isEqualTo(20);
        assertThat(m.get(4, 4, -1)).isEqualTo(40);
        assertThat(m.size()).isEqualTo(3);
    }

    @Test
    void agreesWithAReferenceModelUnderCollidingKeys() {
        Random r = new Random(3);
        int cap = 500;
        FifoPairMap m = new FifoPairMap(cap);
        Map<String, Long> model = new HashMap<>();
        ArrayDeque<String> order = new ArrayDeque<>();
        Set<String> forgotten = new HashSet<>();
        for (int step = 0; step < 200_000; step++) {
            long a = r.nextInt(2000) - 1000L;  // small domain: many repeats and probe collisions
            long b = r.nextBoolean() ? Long.MIN_VALUE : r.nextInt(3);
            String k = a + "/" + b;
            long v = r.nextLong() | 1; // values are never 0
            boolean added = m.putIfAbsent(a, b, v);
            assertThat(added).isEqualTo(!model.containsKey(k));
            if (added) {
                if (model.size() == cap) {
                    String old = order.poll();
                    model.remove(old);
                    forgotten.add(old);
                }
                forgotten.remove(k);
                model.put(k, v);
                order.add(k);
            }
            if (step % 97 == 0) {
                for (Map.Entry<String, Long> e : model.entrySet()) {
                    String[] p = e.getKey().split("/");
                    assertThat(m.get(Long.parseLong(p[0]), Long.parseLong(p[1]), 0)).isEqualTo(e.getValue());
                }
                for (String f : step % 997 == 0 ? forgotten : Set.<String>of()) {
                    String[] p = f.split("/");
                    assertThat(m.contains(Long.parseLong(p[0]), Long.parseLong(p[1]))).as("forgotten %s", f).isFalse();
                    assertThat(m.get(Long.parseLong(p[0]), Long.parseLong(p[1]), -7)).isEqualTo(-7);
                }
                assertThat(m.size()).isEqualTo(model.size());
                assertThat(m.occupied()).as("load bound").isLessThanOrEqualTo(m.tableSize() * 5 / 8);
            }
        }
    }

    @Test
    void aSmallMapTakesMillionsOfDistinctKeysAndKeepsExactlyTheLastOnes() {
        for (int cap : new int[] {1, 2, 3, 7, 64}) {
            FifoPairMap m = new FifoPairMap(cap);
            for (long k = 1; k <= 1_000_000; k++) {
                assertThat(m.putIfAbsent(k, -k, k)).isTrue();
            }
            for (long k = 1_000_000 - cap + 1; k <= 1_000_000; k++) {
                assertThat(m.get(k, -k, 0)).as("cap %d, key %d", cap, k).isEqualTo(k);
            }
            assertThat(m.contains(1_000_000 - cap, cap - 1_000_000)).as("cap %d: the one before the last %d", cap, cap).isFalse();
            assertThat(m.size()).isEqualTo(cap);
        }
    }

    @Test
    void aForgottenKeyAddedAgainIsLiveWithItsNewValue() {
        FifoPairMap m = new FifoPairMap(2);
        m.putIfAbsent(1, 1, 10);
        m.putIfAbsent(2, 2, 20);
        m.putIfAbsent(3, 3, 30);
        assertThat(m.contains(1, 1)).isFalse();
        assertThat(m.putIfAbsent(1, 1, 11)).isTrue();
        assertThat(m.get(1, 1, 0)).isEqualTo(11);
        assertThat(m.contains(2, 2)).as("now the oldest is forgotten").isFalse();
        assertThat(m.get(3, 3, 0)).isEqualTo(30);
    }

    @Test
    void aKeyForgottenButNotYetSweptIsAddedAgainInItsOwnSlot() {
        FifoPairMap m = new FifoPairMap(64); // 128 slots: the sweep passes them all every 16 insertions
        ArrayDeque<Long> live = new ArrayDeque<>(); // the model: the last 64 keys added, oldest first
        Set<Long> addedAgain = new HashSet<>();     // keys added again, with value -key
        long fresh = 1;
        int reused = 0;
        for (int step = 0; step < 20_000; step++) {
            assertThat(m.putIfAbsent(fresh, fresh, fresh)).isTrue();
            live.add(fresh++);
            if (live.size() <= 64) {
                continue;
            }
            long gone = live.poll(); // forgotten by this insertion, a few slots of sweep ago
            assertThat(m.contains(gone, gone)).isFalse();
            int before = m.occupied();
            assertThat(m.putIfAbsent(gone, gone, -gone)).as("forgotten: added again").isTrue();
            live.add(gone);
            addedAgain.add(gone);
            if (m.occupied() == before) {
                reused++; // it was still in its slot, unswept, and took the new entry there
            }
            long next = live.poll(); // forgotten by the add again
            assertThat(m.contains(next, next)).isFalse();
            assertThat(m.get(gone, gone, 0)).isEqualTo(-gone);
            assertThat(m.putIfAbsent(gone, gone, 5)).as("live now").isFalse();
            for (long k : live) {
                assertThat(m.get(k, k, 0)).isEqualTo(addedAgain.contains(k) ? -k : k);
            }
            assertThat(m.size()).isEqualTo(64);
            assertThat(m.occupied()).isLessThanOrEqualTo(m.tableSize() * 5 / 8);
        }
        assertThat(reused).as("the reuse path was taken").isGreaterThan(1000);
    }
}
