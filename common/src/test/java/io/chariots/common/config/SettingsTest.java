package io.chariots.common.config;

import io.chariots.proto.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SettingsTest {
    @TempDir
    Path dir;

    Path yaml(String text) throws Exception {
        Path f = dir.resolve("config.yaml");
        Files.writeString(f, text);
        return f;
    }

    @Test
    void readsGoChariotsConfigFile() throws Exception {
        Settings s = Settings.fromYaml(yaml("controller: \"controller:8081\"\nnum_dc: 2\nid: 1\n"));
        RoleConfig c = RoleConfig.resolve(Role.BATCHER, s);
        assertThat(c.controller()).isEqualTo(new HostPort("controller", 8081));
        assertThat(c.controllerGrpc()).isEqualTo(new HostPort("controller", 9081));
        assertThat(c.numDc()).isEqualTo(2);
        assertThat(c.datacenter()).isEqualTo(1);
        assertThat(c.port()).isEqualTo(9000);
        assertThat(c.adminPort()).isEqualTo(9100);
        assertThat(c.grpcPort()).isEqualTo(10000);
    }

    @Test
    void precedenceIsDefaultsThenFileThenEnvironmentThenCommandLine() throws Exception {
        Settings file = Settings.fromYaml(yaml("port: 9100\nnum_dc: 3\nid: 2\nbatcher:\n  linger_ms: 7\n"));
        Settings env = Settings.fromEnvironment(Map.of("CHARIOTS_NUM_DC", "4", "CHARIOTS_BATCHER__LINGER_MS", "9",
                "PATH", "/bin"));
        Settings cli = Settings.of(Map.of("port", 9200), "command line");
        Settings merged = file.overlay(env).overlay(cli);
        RoleConfig c = RoleConfig.resolve(Role.QUEUE, merged);
        assertThat(c.port()).isEqualTo(9200);          // command line beats file
        assertThat(c.numDc()).isEqualTo(4);            // environment beats file
        assertThat(c.datacenter()).isEqualTo(2);       // file beats default
        assertThat(c.grpcPort()).isEqualTo(9200);      // derived from the winning port
        assertThat(merged.getInt("batcher.linger_ms", 1, 0, 100)).isEqualTo(9);
        assertThat(merged.sourceOf("port")).isEqualTo("command line");
        assertThat(RoleConfig.resolve(Role.QUEUE, Settings.empty()).port()).isEqualTo(9020);
    }

    @Test
    void invalidValuesAreNamedWithTheirSource() throws Exception {
        Path f = yaml("num_dc: 2\nid: 5\n");
        assertThatThrownBy(() -> RoleConfig.resolve(Role.APP, Settings.fromYaml(f)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("id = 5").hasMessageContaining("below num_dc = 2").hasMessageContaining(f.toString());
        assertThatThrownBy(() -> RoleConfig.resolve(Role.APP, Settings.of(Map.of("port", "eighty"), "command line")))
                .hasMessageContaining("port = \"eighty\" (from command line) must be a whole number");
        assertThatThrownBy(() -> RoleConfig.resolve(Role.APP, Settings.of(Map.of("port", 70000), "command line")))
                .hasMessageContaining("between 1 and 65535");
        assertThatThrownBy(() -> RoleConfig.resolve(Role.APP, Settings.of(Map.of("controller", "nohost"), "x")))
                .hasMessageContaining("must be host:port");
        assertThatThrownBy(() -> Settings.fromYaml(dir.resolve("missing.yaml"))).hasMessageContaining("does not exist");
        assertThatThrownBy(() -> Settings.fromYaml(yaml("- a\n- b\n"))).hasMessageContaining("must hold a map");
        assertThatThrownBy(() -> Settings.fromYaml(yaml("a: [\n"))).hasMessageContaining("not valid YAML");
    }

    @Test
    void derivedPortsPerRole() {
        assertThat(RoleConfig.resolve(Role.APP, Settings.empty()).adminPort()).isEqualTo(8080);
        assertThat(RoleConfig.resolve(Role.CONTROLLER, Settings.empty()).grpcPort()).isEqualTo(9081);
        assertThat(RoleConfig.resolve(Role.MAINTAINER, Settings.empty()).adminPort()).isEqualTo(9130);
        assertThat(RoleConfig.resolve(Role.INDEXER, Settings.of(Map.of("port", 9041, "admin_port", 0), "t")).adminPort()).isZero();
    }
}
