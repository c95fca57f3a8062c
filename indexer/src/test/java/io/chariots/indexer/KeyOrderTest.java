package io.chariots.indexer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The index sorts a batch's keys by a long of their first bytes first, as primitives: the order must stay
 * RocksDB's bytewise one, and two writes of one key must keep their order (the later value wins).
 */
class KeyOrderTest {
    @Test
    void sortsKeysInUnsignedBytewiseOrderWhateverTheirLength() {
        Random random = new Random(3);
        for (int round = 0; round < 200; round++) {
            List<TagIndex.KeyOp> ops = new ArrayList<>();
            for (int i = 0; i < 60; i++) {
                byte[] key = new byte[random.nextInt(13)];
                for (int j = 0; j < key.length; j++) {
                    // Few distinct bytes, zeros and 0xFF among them: many shared prefixes and padding-like keys.
                    key[j] = (byte) new int[] {0, 0, 1, 0x7F, 0x80, 0xFF}[random.nextInt(6)];
                }
                ops.add(new TagIndex.KeyOp(key, new byte[0], false));
            }
            assertSortedStably(ops, "round " + round);
        }
    }

    @Test
    void keepsEqualKeysInTheirOrderAndSortsLargeBatchesOfIndexKeys() {
        Random random = new Random(5);
        for (int size : new int[] {2, 3, 1000, 70_000}) { // 70,000 ops: 17 bits of position, 47 of the head
            List<TagIndex.KeyOp> ops = new ArrayList<>();
            long[] sharedTags = {random.nextLong(), random.nextLong() | Long.MIN_VALUE, 0, -1};
            for (int i = 0; ops.size() < size; i++) {
                long lid = 1 + random.nextInt(1 << 20); // out of order: a run under one tag is not sorted already
                long seed = random.nextLong();
                long shared = sharedTags[random.nextInt(sharedTags.length)];
                // As the index writes them: many ops under one tag (a head shared by a long run), random
                // hashes and seeds of both signs, and some keys written twice with different values.
                ops.add(new TagIndex.KeyOp(IndexKeys.tag(shared, lid), IndexKeys.u64(i), false));
                ops.add(new TagIndex.KeyOp(IndexKeys.pairPrefix(random.nextLong(), seed), IndexKeys.u64(i), true));
                ops.add(new TagIndex.KeyOp(IndexKeys.seed(seed, lid), IndexKeys.u64(i), false));
                if (random.nextInt(4) == 0) {
                    ops.add(new TagIndex.KeyOp(IndexKeys.pairPrefix(shared, 7), IndexKeys.u64(i), true));
                }
                // Ids as clients make them: a shared prefix longer than the head, numbered, so that bytewise
                // order ("-10" before "-2") is not the order they were added in.
                ops.add(new TagIndex.KeyOp(IndexKeys.id("a3f9c1d2e4b50-" + random.nextInt(5000)), IndexKeys.u64(i), false));
            }
            assertSortedStably(ops.subList(0, size), "size " + size);
        }
    }

    /** {@link TagIndex.KeyOp#sorted} gives what a stable sort by unsigned bytes gives: each op, in that order. */
    private static void assertSortedStably(List<TagIndex.KeyOp> ops, String what) {
        List<TagIndex.KeyOp> expected = new ArrayList<>(ops);
        expected.sort(Comparator.comparing(TagIndex.KeyOp::key, Arrays::compareUnsigned)); // List.sort is stable
        TagIndex.KeyOp[] sorted = TagIndex.KeyOp.sorted(ops);
        // Identity: the very op must sit at each position, so that equal keys keep their order.
        for (int i = 0; i < sorted.length; i++) {
            assertThat(sorted[i]).as("%s, position %d", what, i).isSameAs(expected.get(i));
        }
    }
}
