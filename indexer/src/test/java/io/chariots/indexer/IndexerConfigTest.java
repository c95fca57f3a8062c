package io.chariots.indexer;

import io.chariots.common.config.ConfigException;
import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;
import io.chariots.proto.Role;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IndexerConfigTest {
    private static IndexerConfig config(Map<String, ?> settings) {
        return IndexerConfig.from(RoleConfig.resolve(Role.INDEXER, Settings.of(settings, "test")));
    }

    @Test
    void defaultsAreTheDocumentedOnes() {
        IndexerConfig c = config(Map.of("controller", "127.0.0.1:8081"));
        assertThat(c.writeBufferBytes()).isEqualTo(16L << 20).isEqualTo(TagIndex.DEFAULT_WRITE_BUFFER_BYTES);
        assertThat(c.blockCacheBytes()).isEqualTo(32L << 20);
        assertThat(c.maxPendingBytes()).isEqualTo(64L << 20);
        assertThat(c.readThreads()).isEqualTo(2);
    }

    @Test
    void aSettingReplacesTheDefaultInMebibytes() {
        IndexerConfig c = config(Map.of("controller", "127.0.0.1:8081", "indexer", Map.of("write_buffer_mb", 64)));
        assertThat(c.writeBufferBytes()).isEqualTo(64L << 20);
    }

    @Test
    void aMemtableOutOfRangeIsRefusedByName() {
        assertThatThrownBy(() -> config(Map.of("controller", "127.0.0.1:8081", "indexer", Map.of("write_buffer_mb", 0))))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("indexer.write_buffer_mb")
                .hasMessageContaining("between 1 and 4096");
    }
}
