package io.chariots.launcher.cluster;

import io.chariots.common.config.RoleConfig;
import io.chariots.proto.Role;
import io.chariots.testkit.FreePorts;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.PrimitiveIterator;
import java.util.function.ToIntFunction;
import java.util.stream.IntStream;

/**
 * The ports of every instance of one cluster, chosen before any instance
 * starts — so that the clusters of several datacenters can name each other's
 * batchers in their configs before the first of them runs.
 */
public final class PortPlan {
    private final Map<Role, List<RoleProcess.Ports>> ports;

    private PortPlan(Map<Role, List<RoleProcess.Ports>> ports) {
        this.ports = ports;
    }

    /**
     * GoChariots' ports shifted by {@code offset}: instance i of a role on its
     * default port + i + offset, its admin and gRPC ports where a single
     * {@code ./chariots up} puts them, shifted alike.
     *
     * @param counts how many instances of each role
     * @throws IllegalArgumentException when a port would pass 65535
     */
    public static PortPlan defaults(ToIntFunction<Role> counts, int offset) {
        Map<Role, List<RoleProcess.Ports>> out = new EnumMap<>(Role.class);
        for (Role role : LocalCluster.ROLES) {
            List<RoleProcess.Ports> list = new ArrayList<>();
            for (int i = 0; i < counts.applyAsInt(role); i++) {
                int main = defaultMainPort(role, i, offset);
                RoleProcess.Ports p = new RoleProcess.Ports(main, RoleConfig.defaultAdminPort(role, main),
                        RoleConfig.defaultGrpcPort(role, main));
                if (Math.max(p.main(), Math.max(p.admin(), p.grpc())) > 65535) {
                    throw new IllegalArgumentException(RoleProcess.name(role, i) + " would listen on a port above 65535 ("
                            + p + ") with every default port shifted by " + offset);
                }
                list.add(p);
            }
            out.put(role, List.copyOf(list));
        }
        return new PortPlan(out);
    }

    /** The main port of instance {@code index} of {@code role} among GoChariots' ports shifted by {@code offset}. */
    public static int defaultMainPort(Role role, int index, int offset) {
        return RoleConfig.defaultPort(role) + index + offset;
    }

    /** Free ports on 127.0.0.1 for one cluster of {@code counts}. */
    public static PortPlan free(ToIntFunction<Role> counts) {
        return free(List.of(counts)).get(0);
    }

    /**
     * Free ports for several clusters at once, chosen in one go so that no
     * two instances of any of them get the same port.
     */
    public static List<PortPlan> free(List<? extends ToIntFunction<Role>> clusters) {
        int needed = clusters.stream().mapToInt(PortPlan::portsNeeded).sum();
        PrimitiveIterator.OfInt free = IntStream.of(FreePorts.freePorts(needed)).iterator();
        List<PortPlan> out = new ArrayList<>();
        for (ToIntFunction<Role> counts : clusters) {
            Map<Role, List<RoleProcess.Ports>> plan = new EnumMap<>(Role.class);
            for (Role role : LocalCluster.ROLES) {
                List<RoleProcess.Ports> list = new ArrayList<>();
                for (int i = 0; i < counts.applyAsInt(role); i++) {
                    int main = free.nextInt();
                    int admin = ownAdminPort(role) ? free.nextInt() : main;
                    int grpc = ownGrpcPort(role) ? free.nextInt() : main;
                    list.add(new RoleProcess.Ports(main, admin, grpc));
                }
                plan.put(role, List.copyOf(list));
            }
            out.add(new PortPlan(plan));
        }
        return out;
    }

    private static int portsNeeded(ToIntFunction<Role> counts) {
        int n = 0;
        for (Role role : LocalCluster.ROLES) {
            n += counts.applyAsInt(role) * (1 + (ownAdminPort(role) ? 1 : 0) + (ownGrpcPort(role) ? 1 : 0));
        }
        return n;
    }

    /** Apps and the controller serve /health on their HTTP port; the others on one of their own. */
    private static boolean ownAdminPort(Role role) {
        return role != Role.APP && role != Role.CONTROLLER;
    }

    /** Apps, batchers and the controller serve gRPC beside their main port; the others on it. */
    private static boolean ownGrpcPort(Role role) {
        return role == Role.APP || role == Role.BATCHER || role == Role.CONTROLLER;
    }

    /** Instance {@code index} of {@code role}'s ports. */
    public RoleProcess.Ports get(Role role, int index) {
        List<RoleProcess.Ports> list = of(role);
        if (index < 0 || index >= list.size()) {
            throw new IllegalArgumentException("no " + RoleProcess.name(role, index) + ": the plan has "
                    + list.size() + " " + LocalCluster.listName(role));
        }
        return list.get(index);
    }

    /** The ports of every instance of {@code role}, in start order. */
    public List<RoleProcess.Ports> of(Role role) {
        return ports.getOrDefault(role, Collections.emptyList());
    }

    /** How many instances of {@code role} the plan has ports for. */
    public int count(Role role) {
        return of(role).size();
    }

    /** Refuses, naming the first port something already listens on (another cluster still running). */
    public void checkBindable() throws IOException {
        for (Role role : LocalCluster.ROLES) {
            for (RoleProcess.Ports p : of(role)) {
                for (int port : new int[] {p.main(), p.admin(), p.grpc()}) {
                    if (port != 0 && !FreePorts.bindable(port)) {
                        throw new IOException("port " + port + " (" + RoleConfig.roleName(role) + ") is already in use"
                                + " - is another cluster running? (./chariots status / ./chariots down)");
                    }
                }
            }
        }
    }

    @Override
    public String toString() {
        return ports.toString();
    }
}
