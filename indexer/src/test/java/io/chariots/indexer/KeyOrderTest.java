package io.chariots.indexer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The index sorts a batch's keys by a long of their first bytes first: the order must stay RocksDB's bytewise one. */
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
            List<byte[]> expected = new ArrayList<>(ops.stream().map(TagIndex.KeyOp::key).toList());
            expected.sort(Arrays::compareUnsigned);
            ops.sort(TagIndex.KeyOp::compareTo);
            assertThat(ops.stream().map(TagIndex.KeyOp::key).toList()).as("round %d", round)
                    .containsExactlyElementsOf(expected);
        }
    }
}
