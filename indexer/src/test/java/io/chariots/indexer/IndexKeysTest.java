package io.chariots.indexer;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

class IndexKeysTest {
    @Test
    void bigEndianBytesOrderLongsAsUnsigned() {
        long[] ascendingUnsigned = {0, 1, 255, 256, Long.MAX_VALUE, Long.MIN_VALUE, -2, -1};
        for (int i = 1; i < ascendingUnsigned.length; i++) {
            byte[] a = IndexKeys.tag(ascendingUnsigned[i - 1], 7);
            byte[] b = IndexKeys.tag(ascendingUnsigned[i], 7);
            assertThat(Arrays.compareUnsigned(a, b)).as("%s < %s", Long.toUnsignedString(ascendingUnsigned[i - 1]),
                    Long.toUnsignedString(ascendingUnsigned[i])).isNegative();
        }
    }

    @Test
    void rangedKeysEndWithTheirLid() {
        long big = Long.parseUnsignedLong("9489172654252433228");
        assertThat(IndexKeys.lidOf(IndexKeys.tag(big, -5))).isEqualTo(-5);
        assertThat(IndexKeys.lidOf(IndexKeys.seed(big, 1))).isEqualTo(1);
        assertThat(IndexKeys.pairPrefix(1, 2)).hasSize(17).startsWith((byte) 't');
        assertThat(IndexKeys.getLong(IndexKeys.u64(big), 0)).isEqualTo(big);
    }

    @Test
    void successorIsTheExclusiveUpperBoundOfAPrefix() {
        byte[] p = IndexKeys.tagPrefix(-1);          // 'T' ff ff ff ff ff ff ff ff
        assertThat(IndexKeys.successor(p)).containsExactly('U');
        byte[] q = IndexKeys.tagPrefix(0x00_00_00_00_00_00_01_FFL);
        assertThat(IndexKeys.successor(q)).containsExactly('T', 0, 0, 0, 0, 0, 0, 2);
        assertThat(Arrays.compareUnsigned(IndexKeys.tag(-1, -1), IndexKeys.successor(p))).isNegative();
        assertThat(IndexKeys.successor(new byte[] {(byte) 0xFF, (byte) 0xFF})).isNull();
    }
}
