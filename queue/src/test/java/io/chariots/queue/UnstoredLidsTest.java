package io.chariots.queue;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

class UnstoredLidsTest {
    @Test
    void theLowestUnstoredLidFollowsStoresInAnyOrder() {
        UnstoredLids u = new UnstoredLids();
        for (long l = 10; l <= 14; l++) {
            u.add(l);
        }
        u.remove(12);
        u.remove(10);
        assertThat(u.first()).isEqualTo(11);
        assertThat(u.contains(12)).isFalse();
        assertThat(u.contains(13)).isTrue();
        u.remove(11);
        assertThat(u.first()).as("past the tombstone of 12").isEqualTo(13);
        u.remove(13);
        u.remove(14);
        assertThat(u.first()).isZero();
        assertThat(u.isEmpty()).isTrue();
    }

    @Test
    void agreesWithASortedSetOverManyOperations() {
        Random r = new Random(7);
        UnstoredLids u = new UnstoredLids();
        TreeSet<Long> model = new TreeSet<>();
        List<Long> given = new ArrayList<>();
        long next = 1;
        for (int step = 0; step < 300_000; step++) {
            int op = r.nextInt(10);
            if (op < 5) {
                next += 1 + r.nextInt(3); // other queues take LIds in between
                u.add(next);
                model.add(next);
                given.add(next);
            } else if (op < 9 && !given.isEmpty()) {
                // Stored: mostly the oldest, sometimes one out of order.
                int i = r.nextInt(4) == 0 ? r.nextInt(given.size()) : 0;
                long l = given.remove(i);
                u.remove(l);
                model.remove(l);
            } else if (!model.isEmpty()) {
                long probe = model.first() + r.nextInt(20);
                assertThat(u.contains(probe)).isEqualTo(model.contains(probe));
            }
            assertThat(u.size()).isEqualTo(model.size());
            assertThat(u.first()).isEqualTo(model.isEmpty() ? 0 : model.first());
            if (step % 50_000 == 0) {
                u.clear();
                model.clear();
                given.clear();
            }
        }
        // An LId put back below the others (never in practice, but kept in order).
        u.add(next + 10);
        u.add(next + 5);
        assertThat(u.first()).isEqualTo(model.isEmpty() ? next + 5 : model.first());
    }
}
