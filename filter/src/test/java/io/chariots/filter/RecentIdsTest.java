package io.chariots.filter;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RecentIdsTest {
    @Test
    void anIdIsNewOnceThenADuplicate() {
        RecentIds ids = new RecentIds(10);
        assertThat(ids.size()).isZero();
        assertThat(ids.add("a")).isTrue();
        assertThat(ids.add("a")).isFalse();
        assertThat(ids.add("a")).isFalse();
        assertThat(ids.add("b")).isTrue();
        assertThat(ids.add("b")).isFalse();
        assertThat(ids.size()).isEqualTo(2);
    }

    @Test
    void sizeGrowsToTheCapacityAndStaysThere() {
        RecentIds ids = new RecentIds(3);
        for (int i = 0; i < 3; i++) {
            assertThat(ids.add("id-" + i)).isTrue();
            assertThat(ids.size()).isEqualTo(i + 1);
        }
        for (int i = 3; i < 10; i++) {
            assertThat(ids.add("id-" + i)).isTrue();
            assertThat(ids.size()).isEqualTo(3);
        }
    }

    @Test
    void theOldestIdIsEvictedFirst() {
        RecentIds ids = new RecentIds(3);
        ids.add("a");
        ids.add("b");
        ids.add("c");
        ids.add("d"); // evicts a
        assertThat(ids.add("b")).isFalse();
        assertThat(ids.add("c")).isFalse();
        assertThat(ids.add("d")).isFalse();
        assertThat(ids.add("a")).isTrue(); // evicts b
        assertThat(ids.add("c")).isFalse();
        assertThat(ids.add("b")).isTrue(); // evicts c
        assertThat(ids.add("d")).isFalse();
        assertThat(ids.add("a")).isFalse();
        assertThat(ids.add("c")).isTrue();
    }

    @Test
    void seeingAnIdAgainDoesNotMakeItYounger() {
        RecentIds ids = new RecentIds(2);
        ids.add("a");
        ids.add("b");
        assertThat(ids.add("a")).isFalse();
        ids.add("c"); // evicts a, the first added, although it was seen last
        assertThat(ids.add("b")).isFalse();
        assertThat(ids.add("a")).isTrue();
    }

    @Test
    void aCapacityOfOneRemembersTheLastId() {
        RecentIds ids = new RecentIds(1);
        assertThat(ids.add("a")).isTrue();
        assertThat(ids.add("a")).isFalse();
        assertThat(ids.add("b")).isTrue();
        assertThat(ids.add("b")).isFalse();
        assertThat(ids.add("a")).isTrue();
        assertThat(ids.size()).isEqualTo(1);
    }

    @Test
    void aCapacityBelowOneIsRefused() {
        assertThatThrownBy(() -> new RecentIds(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void idsThatDifferOnlyInLengthOrInOneByteAreDistinct() {
        RecentIds ids = new RecentIds(100);
        List<String> distinct = List.of("", "a", "aa", "aaa", "a\0", "\0a", "\0", "\0\0", "ab", "ba", "b", "A",
                "id-1", "id-2", "id-10", "id-01", "id-1 ", " id-1");
        for (String id : distinct) {
            assertThat(ids.add(id)).as("first time %s", id.replace("\0", "\\0")).isTrue();
        }
        for (String id : distinct) {
            assertThat(ids.add(id)).as("second time %s", id.replace("\0", "\\0")).isFalse();
        }
        assertThat(ids.size()).isEqualTo(distinct.size());
    }

    @Test
    void theEmptyIdIsAnIdLikeAnyOther() {
        RecentIds ids = new RecentIds(2);
        assertThat(ids.add("")).isTrue();
        assertThat(ids.add("")).isFalse();
        assertThat(ids.size()).isEqualTo(1);
        ids.add("x");
        ids.add("y"); // evicts ""
        assertThat(ids.add("")).isTrue();
    }

    @Test
    void nonAsciiIdsAreComparedByTheirUtf8Bytes() {
        RecentIds ids = new RecentIds(100);
        // Precomposed é (U+00E9) and e + combining acute (U+0301) look alike but are different ids.
        List<String> distinct = List.of("caf\u00e9", "cafe\u0301", "cafe", "\u65e5\u672c", "\u65e5\u672c\u8a9e",
                "\ud83d\ude80", "\ud83d\ude81", "\u00e9", "\u00c3\u00a9" /* é's UTF-8 bytes read as Latin-1 */,
                "\u0416", "\u0436");
        for (String id : distinct) {
            assertThat(ids.add(id)).as("first time %s", id).isTrue();
        }
        for (String id : distinct) {
            assertThat(ids.add(new String(id.toCharArray()))).as("second time %s", id).isFalse();
        }
    }

    @Test
    void aMillionDistinctIdsFitWithoutAFalseDuplicateAndOneMoreEvictsExactlyTheFirst() {
        int n = 1_000_000;
        RecentIds ids = new RecentIds(n);
        List<Integer> falseDuplicates = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (!ids.add("record-" + i)) {
                falseDuplicates.add(i);
            }
        }
        assertThat(falseDuplicates).isEmpty();
        assertThat(ids.size()).isEqualTo(n);

        assertThat(ids.add("record-" + n)).isTrue();
        assertThat(ids.size()).isEqualTo(n);
        // Every id but the first is still remembered ...
        List<Integer> forgotten = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            if (ids.add("record-" + i)) {
                forgotten.add(i);
            }
        }
        assertThat(forgotten).isEmpty();
        // ... and the first is not.
        assertThat(ids.add("record-0")).isTrue();
    }
}
