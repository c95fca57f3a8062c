package io.chariots.common.config;

import io.chariots.proto.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RemoteDatacentersTest {
    @TempDir
    Path dir;

    Settings yaml(String text) throws Exception {
        Path f = dir.resolve("config.yaml");
        Files.writeString(f, text);
        return Settings.fromYaml(f);
    }

    @Test
    void readsTheShortAndTheLongFormWithEachDatacentersSecret() throws Exception {
        Path secret = dir.resolve("dc2_secret");
        Files.writeString(secret, "dc-two-secret-0123456789\n");
        RoleConfig c = RoleConfig.resolve(Role.MAINTAINER, yaml("num_dc: 3\nid: 0\nremote_batchers:\n"
                + "  1: \"dc1-lb:9000\"\n"
                + "  2:\n    address: \"dc2-lb:19000\"\n    grpc: \"dc2-grpc:20500\"\n    secret_file: \"" + secret + "\"\n"));
        RemoteDatacenters r = c.remoteDatacenters();
        assertThat(r.all()).containsOnlyKeys(1, 2);
        assertThat(r.get(1).address()).isEqualTo(new HostPort("dc1-lb", 9000));
        assertThat(r.get(1).grpc()).as("gRPC on the port + 1000 by default").isEqualTo(new HostPort("dc1-lb", 10000));
        assertThat(r.get(1).secret()).isNull();
        assertThat(r.get(2).grpc()).isEqualTo(new HostPort("dc2-grpc", 20500));
        assertThat(r.get(2).secret()).isNotNull();
        assertThat(r.secretOf(2, null)).isSameAs(r.get(2).secret());
        assertThat(r.secretOf(1, null)).as("this cluster's, when none is configured").isNull();
        assertThat(c.settings().toString()).doesNotContain("dc-two-secret");
    }

    @Test
    void refusesWhatCannotBeADatacenterNamingTheKey() throws Exception {
        assertThatThrownBy(() -> RoleConfig.resolve(Role.MAINTAINER, yaml("num_dc: 2\nid: 0\nremote_batchers:\n  2: \"h:9000\"\n")))
                .hasMessageContaining("remote_batchers.2").hasMessageContaining("num_dc = 2");
        assertThatThrownBy(() -> RoleConfig.resolve(Role.MAINTAINER, yaml("num_dc: 2\nid: 0\nremote_batchers:\n  0: \"h:9000\"\n")))
                .hasMessageContaining("is this one");
        assertThatThrownBy(() -> RoleConfig.resolve(Role.MAINTAINER, yaml("num_dc: 2\nid: 0\nremote_batchers:\n  one: \"h:9000\"\n")))
                .hasMessageContaining("\"one\" is not a datacenter id");
        assertThatThrownBy(() -> RoleConfig.resolve(Role.MAINTAINER, yaml("num_dc: 2\nid: 0\nremote_batchers:\n  1:\n    grpc: \"h:1\"\n")))
                .hasMessageContaining("remote_batchers.1 needs an address");
        assertThatThrownBy(() -> RoleConfig.resolve(Role.MAINTAINER, yaml("num_dc: 2\nid: 0\nremote_batchers:\n  1:\n    address: \"h:9000\"\n    secret: \"short\"\n")))
                .hasMessageContaining("at least 16");
        assertThatThrownBy(() -> RoleConfig.resolve(Role.MAINTAINER, yaml("num_dc: 2\nid: 0\nremote_batchers:\n  1:\n    address: \"h:9000\"\n    colour: red\n")))
                .hasMessageContaining("remote_batchers.1.colour").hasMessageContaining("not a setting");
        assertThat(RoleConfig.resolve(Role.MAINTAINER, yaml("num_dc: 1\n")).remoteDatacenters().isEmpty()).isTrue();
    }
}
