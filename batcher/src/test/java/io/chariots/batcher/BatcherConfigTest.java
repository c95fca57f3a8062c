package io.chariots.batcher;

import io.chariots.common.config.ConfigException;
import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;
import io.chariots.proto.Role;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BatcherConfigTest {
    private static BatcherConfig config(Map<String, ?> batcher) {
        return BatcherConfig.from(RoleConfig.resolve(Role.BATCHER, Settings.of(Map.of("controller", "127.0.0.1:8081", "batcher", batcher), "test")));
    }

    @Test
    void theHighWaterMarkIsThirtyThousandRecordsAndTheLowOneHalfThatByDefault() {
        BatcherConfig c = config(Map.of());
        assertThat(c.highWater()).isEqualTo(30_000).isEqualTo(BatcherConfig.DEFAULT_HIGH_WATER);
        assertThat(c.lowWater()).isEqualTo(15_000);
        assertThat(c.maxFrameRecords()).as("a frame of the most records fits under the high water mark").isEqualTo(10_000);
    }

    @Test
    void aHighWaterMarkSetAloneBringsTheLowOneAndTheLargestFrameWithIt() {
        BatcherConfig c = config(Map.of("high_water", 4_000));
        assertThat(c.highWater()).isEqualTo(4_000);
        assertThat(c.lowWater()).isEqualTo(2_000);
        assertThat(c.maxFrameRecords()).isEqualTo(4_000);
        BatcherConfig both = config(Map.of("high_water", 100_000, "low_water", 90_000));
        assertThat(both.highWater()).isEqualTo(100_000);
        assertThat(both.lowWater()).isEqualTo(90_000);
    }

    @Test
    void bytesHeldAreBoundedAtThirtyTwoMebibytesAndAFrameCannotBeLargerThanABatchCanCarry() {
        assertThat(config(Map.of()).highWaterBytes()).isEqualTo(32L << 20);
        assertThat(config(Map.of()).maxFrameBytes()).isEqualTo(16 << 20);
        BatcherConfig largest = config(Map.of("max_frame_bytes", 32 << 20));
        assertThat(largest.highWaterBytes()).as("at least one frame").isEqualTo(32L << 20);
        assertThatThrownBy(() -> config(Map.of("max_frame_bytes", (32 << 20) + 1)))
                .isInstanceOf(ConfigException.class).hasMessageContaining("batcher.max_frame_bytes");
        assertThatThrownBy(() -> config(Map.of("max_frame_bytes", 4 << 20, "high_water_bytes", 1 << 20)))
                .isInstanceOf(ConfigException.class).hasMessageContaining("batcher.high_water_bytes");
    }

    @Test
    void aLowWaterMarkAboveTheHighOneIsRefusedByName() {
        assertThatThrownBy(() -> config(Map.of("high_water", 1_000, "low_water", 2_000)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("batcher.low_water");
    }
}
