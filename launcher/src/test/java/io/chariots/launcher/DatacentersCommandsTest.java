package io.chariots.launcher;

import io.chariots.launcher.cluster.ClusterStateFile;
import io.chariots.launcher.cluster.ClusterStateFile.Instance;
import io.chariots.launcher.cluster.ClusterStateFile.State;
import io.chariots.launcher.cluster.MultiDatacenter;
import io.chariots.launcher.cluster.PortPlan;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code up --dcs}, {@code status}, {@code down} and the commands on one instance over a run directory of
 * datacenters, where nothing needs to start: what they refuse, and how they report datacenters recorded as stopped.
 * (MultiDatacenterUpTest in system-tests starts real ones.)
 */
class DatacentersCommandsTest {
    @TempDir
    Path dir;

    record Ran(int exit, String out, String err) {
    }

    static Ran chariots(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cli = ChariotsCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(args);
        return new Ran(exit, out.toString(), err.toString());
    }

    /** Records, as up would have, a stopped cluster of one of each role on the default ports + offset in {@code runDir}. */
    static void recordStopped(Path runDir, int offset) throws Exception {
        PortPlan plan = PortPlan.defaults(r -> 1, offset);
        List<Instance> instances = new ArrayList<>();
        for (Role role : io.chariots.launcher.cluster.LocalCluster.ROLES) {
            RoleProcess.Ports p = plan.get(role, 0);
            instances.add(new Instance(io.chariots.common.config.RoleConfig.roleName(role), 0, "127.0.0.1", p.main(),
                    p.admin(), p.grpc(), null, runDir.resolve("logs").toString(), List.of(), 0, null));
        }
        ClusterStateFile.in(runDir).write(new State("http://127.0.0.1:" + plan.get(Role.CONTROLLER, 0).main(), instances));
    }

    @Test
    void refusesWhatItCannotStartNamingWhy() throws Exception {
        String d = dir.toString();
        Ran many = chariots("up", "--dcs", "7", "--dir", d);
        assertThat(many.exit()).isEqualTo(1);
        assertThat(many.err()).contains("--dcs must be 1..6");
        Ran tls = chariots("up", "--dcs", "2", "--tls", "--dir", d);
        assertThat(tls.exit()).isEqualTo(1);
        assertThat(tls.err()).contains("--tls and --dcs");

        recordStopped(dir, 0);
        Ran overSingle = chariots("up", "--dcs", "2", "--dir", d);
        assertThat(overSingle.exit()).isEqualTo(1);
        assertThat(overSingle.err()).contains("holds a single-datacenter cluster", "up --dcs 2 --fresh");
    }

    @Test
    void statusAndDownCoverEveryDatacenterAndOneInstanceIsNamedInItsOwnDirectory() throws Exception {
        String d = dir.toString();
        recordStopped(MultiDatacenter.dir(dir, 0), 0);
        recordStopped(MultiDatacenter.dir(dir, 1), 10_000);

        Ran status = chariots("status", "--dir", d);
        assertThat(status.exit()).as("none runs").isEqualTo(3);
        assertThat(status.out()).contains(
                "Datacenter 0 (" + d + "/dc0/): app http://127.0.0.1:8080, controller http://127.0.0.1:8081",
                "Datacenter 1 (" + d + "/dc1/): app http://127.0.0.1:18080, controller http://127.0.0.1:18081",
                "19020", "0 of 7 running; stopped:");

        Ran down = chariots("down", "--dir", d);
        assertThat(down.exit()).isZero();
        assertThat(down.out()).contains("Stopped 0 process(es) (none was running) of 2 datacenters", "up --dcs 2 --fresh");

        Ran kill = chariots("kill", "queue#1", "--dir", d);
        assertThat(kill.exit()).isEqualTo(1);
        assertThat(kill.err()).contains("holds 2 datacenters", "--dir " + d + "/dc0, " + d + "/dc1");
        Ran killThere = chariots("kill", "queue#1", "--dir", d + "/dc1");
        assertThat(killThere.exit()).isEqualTo(1);
        assertThat(killThere.err()).contains("queue#1 is stopped");

        Ran upOne = chariots("up", "--dir", d + "/dc1");
        assertThat(upOne.exit()).as("one datacenter alone would start on datacenter 0's ports").isEqualTo(1);
        assertThat(upOne.err()).contains("is datacenter 1 of those recorded in " + d + "/", "up --dir " + d);
        Ran downOne = chariots("down", "--dir", d + "/dc1");
        assertThat(downOne.exit()).isZero();
        assertThat(downOne.out()).contains("Datacenter 1 stays recorded", "start ROLE#N --dir " + d + "/dc1");
    }

    @Test
    void fewerDatacentersThanRecordedAreRefusedWhenOneLeftOutHoldsData() throws Exception {
        recordStopped(MultiDatacenter.dir(dir, 0), 0);
        recordStopped(MultiDatacenter.dir(dir, 1), 10_000);
        Path data = MultiDatacenter.dir(dir, 1).resolve("data").resolve("maintainer-19030");
        Files.createDirectories(data);
        Files.writeString(data.resolve("CURRENT"), "MANIFEST-000001\n");

        Ran fewer = chariots("up", "--dcs", "1", "--dir", dir.toString());
        assertThat(fewer.exit()).isEqualTo(1);
        assertThat(fewer.err()).contains("datacenter 1 keeps data in", "up --dcs 2", "--fresh");
    }
}
