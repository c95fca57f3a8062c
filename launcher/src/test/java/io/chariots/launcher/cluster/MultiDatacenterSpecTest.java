package io.chariots.launcher.cluster;

import io.chariots.common.auth.ClusterSecret;
import io.chariots.common.config.HostPort;
import io.chariots.common.config.RemoteDatacenters;
import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;
import io.chariots.proto.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What {@code ./chariots up --dcs N} and the multi-datacenter tests start, before anything runs: each
 * datacenter's ports and the {@code config.yaml} every role of it reads, checked by the roles' own config parsing.
 */
class MultiDatacenterSpecTest {
    @TempDir
    Path dir;

    @Test
    void datacenterDRunsOnTheDefaultPortsPlusTenThousandTimesD() {
        List<LocalCluster.Spec> dcs = MultiDatacenter.spec(3).workDir(dir).defaultPorts(true)
                .each(s -> s.batchers(2).queues(2)).clusters();
        PortPlan single = LocalCluster.spec().defaultPorts(true).batchers(2).queues(2).plannedPorts();
        assertThat(dcs).hasSize(3);
        for (int d = 0; d < 3; d++) {
            PortPlan plan = dcs.get(d).plannedPorts();
            for (Role role : LocalCluster.ROLES) {
                List<RoleProcess.Ports> shifted = new ArrayList<>();
                for (RoleProcess.Ports p : single.of(role)) {
                    shifted.add(new RoleProcess.Ports(p.main() + 10_000 * d, p.admin() + 10_000 * d, p.grpc() + 10_000 * d));
                }
                assertThat(plan.of(role)).as("datacenter %d's %s", d, LocalCluster.listName(role)).isEqualTo(shifted);
            }
            assertThat(dcs.get(d).workDir()).isEqualTo(dir.resolve("dc" + d));
            assertThat(dcs.get(d).dataDir(Role.MAINTAINER, 0)).isEqualTo(dir.resolve("dc" + d).resolve("data")
                    .resolve("maintainer-" + (9030 + 10_000 * d)));
        }
        PortPlan dc1 = dcs.get(1).plannedPorts();
        assertThat(dc1.get(Role.CONTROLLER, 0)).isEqualTo(new RoleProcess.Ports(18081, 18081, 19081));
        assertThat(dc1.get(Role.APP, 0)).isEqualTo(new RoleProcess.Ports(18080, 18080, 19080));
        assertThat(dc1.get(Role.BATCHER, 1)).isEqualTo(new RoleProcess.Ports(19001, 19101, 20001));
        assertThat(dc1.get(Role.QUEUE, 1)).isEqualTo(new RoleProcess.Ports(19021, 19121, 19021));
    }

    @Test
    void eachDatacentersConfigNamesEveryOtherDatacentersFirstBatcherAndSecretAsItsRolesReadIt() throws Exception {
        List<LocalCluster.Spec> dcs = MultiDatacenter.spec(3).workDir(dir).defaultPorts(true).clusters();
        List<ClusterSecret> secrets = new ArrayList<>();
        for (int d = 0; d < 3; d++) {
            secrets.add(LocalCluster.ensureSecret(MultiDatacenter.dir(dir, d)));
        }
        for (int d = 0; d < 3; d++) {
            DatacenterConfig config = dcs.get(d).datacenterConfig();
            assertThat(config.id()).isEqualTo(d);
            assertThat(config.numDc()).isEqualTo(3);
            List<String> expected = new ArrayList<>();
            for (int other = 0; other < 3; other++) {
                if (other != d) {
                    expected.add(other + " 127.0.0.1:" + (9000 + 10_000 * other) + " 127.0.0.1:" + (10_000 + 10_000 * other)
                            + " " + dir.resolve("dc" + other).resolve("cluster_secret").toAbsolutePath());
                }
            }
            assertThat(config.remoteBatchers()).extracting(r -> r.datacenter() + " " + r.address() + " " + r.grpc() + " "
                    + r.secretFile()).containsExactlyElementsOf(expected);

            Path file = config.write(MultiDatacenter.dir(dir, d));
            RoleConfig role = RoleConfig.resolve(Role.MAINTAINER, Settings.fromYaml(file));
            assertThat(role.numDc()).isEqualTo(3);
            assertThat(role.datacenter()).isEqualTo(d);
            Map<Integer, RemoteDatacenters.Remote> remotes = role.remoteDatacenters().all();
            assertThat(remotes.keySet()).containsExactlyElementsOf(expected.stream()
                    .map(e -> Integer.parseInt(e.substring(0, 1))).toList());
            for (RemoteDatacenters.Remote r : remotes.values()) {
                int other = r.datacenter();
                assertThat(r.address()).isEqualTo(new HostPort("127.0.0.1", 9000 + 10_000 * other));
                assertThat(r.grpc()).isEqualTo(new HostPort("127.0.0.1", 10_000 + 10_000 * other));
                byte[] challenge = ClusterSecret.challenge();
                String answer = role.remoteDatacenters().secretOf(other, null).answer(challenge, "test");
                for (int any = 0; any < 3; any++) {
                    assertThat(secrets.get(any).isAnswer(answer, challenge, "test"))
                            .as("datacenter %d's config proves datacenter %d's secret, not %d's", d, other, any).isEqualTo(any == other);
                }
            }
        }
        assertThat(Files.readString(dir.resolve("dc1").resolve("config.yaml"))).startsWith("""
                # Datacenter 1 of 3, written by the cluster harness at every start.
                num_dc: 3
                id: 1
                remote_batchers:
                  0:
                    address: "127.0.0.1:9000"
                    grpc: "127.0.0.1:10000"
                    secret_file:""");
    }

    @Test
    void freePortsAreDistinctAcrossDatacentersAndTheConfigsNameTheOthersPlannedBatchers() {
        List<LocalCluster.Spec> dcs = MultiDatacenter.spec(2).workDir(dir)
                .each(s -> s.open(true)).datacenter(1, s -> s.batchers(2).maintainers(2)).clusters();
        assertThat(dcs.get(0).count(Role.BATCHER)).isEqualTo(1);
        assertThat(dcs.get(1).count(Role.MAINTAINER)).isEqualTo(2);
        Set<Integer> seen = new HashSet<>();
        int ports = 0;
        for (LocalCluster.Spec s : dcs) {
            PortPlan plan = s.plannedPorts();
            assertThat(s.plannedPorts()).as("fixed once built").isSameAs(plan);
            for (Role role : LocalCluster.ROLES) {
                for (RoleProcess.Ports p : plan.of(role)) {
                    for (int port : java.util.stream.IntStream.of(p.main(), p.admin(), p.grpc()).distinct().toArray()) {
                        seen.add(port);
                        ports++;
                    }
                }
            }
        }
        assertThat(seen).as("no port twice").hasSize(ports);
        RoleProcess.Ports dc1Batcher = dcs.get(1).plannedPorts().get(Role.BATCHER, 0);
        DatacenterConfig.RemoteBatcher named = dcs.get(0).datacenterConfig().remoteBatchers().get(0);
        assertThat(named).isEqualTo(new DatacenterConfig.RemoteBatcher(1, "127.0.0.1:" + dc1Batcher.main(),
                "127.0.0.1:" + dc1Batcher.grpc(), null));
        assertThat(dcs.get(0).datacenterConfig().yaml()).as("an open cluster names no secret").doesNotContain("secret");
    }

    @Test
    void refusesWhatCannotBeStartedNamingWhy() {
        assertThatThrownBy(() -> MultiDatacenter.spec(7).workDir(dir).defaultPorts(true).clusters())
                .hasMessageContaining("at most 6 datacenters run on the default ports");
        assertThatThrownBy(() -> MultiDatacenter.spec(2).workDir(dir).datacenter(1, s -> s.batchers(0)).clusters())
                .hasMessageContaining("datacenter 1 has no batcher");
        assertThatThrownBy(() -> MultiDatacenter.spec(2).datacenter(2, s -> { }))
                .hasMessageContaining("datacenter 2 does not exist: datacenters are 0..1");
        assertThatThrownBy(() -> MultiDatacenter.spec(0)).hasMessageContaining("at least one datacenter");
        assertThatThrownBy(() -> new DatacenterConfig(2, 2, List.of())).hasMessageContaining("not below num_dc = 2");
    }
}
