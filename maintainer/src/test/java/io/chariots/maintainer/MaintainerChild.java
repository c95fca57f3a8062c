package io.chariots.maintainer;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;
import io.chariots.proto.Role;

import java.util.Map;

/**
 * A maintainer in its own JVM, for the SIGKILL test:
 * {@code MaintainerChild <data_dir> <controller port> <grpc port>} (a fixed port, so that a restart keeps the
 * address its layout names it by).
 * Prints {@code MAINTAINER-READY <grpc port>} once serving, then runs until killed.
 */
public final class MaintainerChild {
    private MaintainerChild() {
    }

    public static void main(String[] args) throws Exception {
        Maintainer.Running m = Maintainer.launch(RoleConfig.resolve(Role.MAINTAINER, Settings.of(Map.of(
                "data_dir", args[0], "controller", "127.0.0.1:" + args[1], "grpc_port", Integer.parseInt(args[2]),
                "admin_port", 0, "bind", "127.0.0.1", "advertise", "127.0.0.1"), "child")));
        System.out.println("MAINTAINER-READY " + m.grpcPort());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
