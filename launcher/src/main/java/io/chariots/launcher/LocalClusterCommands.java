package io.chariots.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import io.chariots.launcher.cluster.ClusterStateFile;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.Role;
import io.chariots.testkit.FreePorts;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

/** {@code up}, {@code down} and {@code status}: a single-datacenter cluster on this machine. */
final class LocalClusterCommands {
    private LocalClusterCommands() {
    }

    static Path stateFile(Path dir) {
        return dir.resolve("cluster.json");
    }

    @Command(name = "up", mixinStandardHelpOptions = true, sortOptions = false,
            description = "Start a local cluster: every role its own JVM on 127.0.0.1, on the default ports "
                    + "(app 8080, controller 8081, batcher 9000, filter 9010, queue 9020, maintainer 9030, indexer 9040; "
                    + "more instances on the next ports). Waits until all have registered.")
    static final class Up implements Callable<Integer> {
        @Option(names = "--batchers", defaultValue = "1", description = "Batchers (default ${DEFAULT-VALUE}).")
        int batchers;
        @Option(names = "--filters", defaultValue = "1", description = "Filters (default ${DEFAULT-VALUE}).")
        int filters;
        @Option(names = "--queues", defaultValue = "1", description = "Queues in the token ring (default ${DEFAULT-VALUE}).")
        int queues;
        @Option(names = "--maintainers", defaultValue = "1", description = "Maintainers (default ${DEFAULT-VALUE}).")
        int maintainers;
        @Option(names = "--indexers", defaultValue = "1", description = "Indexers (default ${DEFAULT-VALUE}).")
        int indexers;
        @Option(names = "--dir", defaultValue = "run", description = "Logs, data and state (default ./${DEFAULT-VALUE}).")
        Path dir;
        @Option(names = "--set", paramLabel = "KEY=VALUE", description = "A setting passed to every role.")
        java.util.Map<String, String> settings = new java.util.LinkedHashMap<>();
        @Option(names = "-d", description = "Roles log at DEBUG.")
        boolean debug;

        @Override
        public Integer call() throws Exception {
            Path state = stateFile(dir);
            Optional<ClusterStateFile.State> old = ClusterStateFile.read(state);
            if (old.isPresent() && old.get().processes().stream().anyMatch(e -> e.process().isPresent())) {
                System.err.println("A cluster started from " + dir + " is still running: see ./chariots status, stop it with ./chariots down.");
                return 1;
            }
            LocalCluster.Spec spec = LocalCluster.spec().defaultPorts(true).detached(true).workDir(dir.toAbsolutePath())
                    .batchers(batchers).filters(filters).queues(queues).maintainers(maintainers).indexers(indexers)
                    .debug(debug);
            String jvm = System.getenv("CHARIOTS_JVM_OPTS");
            if (jvm != null && !jvm.isBlank()) {
                spec.jvmOptions(Arrays.asList(jvm.trim().split("\\s+")));
            }
            settings.forEach(spec::setting);
            long t0 = System.nanoTime();
            LocalCluster cluster;
            try {
                cluster = spec.start();
            } catch (IOException e) {
                System.err.println("chariots up: " + e.getMessage());
                return 1;
            }
            ClusterStateFile.write(state, cluster);
            try {
                cluster.awaitRegistered(Duration.ofSeconds(90));
            } catch (IllegalStateException e) {
                System.err.println("chariots up: " + e.getMessage());
                System.err.println("Stopping what was started.");
                cluster.close();
                Files.deleteIfExists(state);
                return 1;
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            System.out.printf("Chariots is up: %d processes registered in %.1f s.%n%n", cluster.all().size(), secs);
            printEndpoints(cluster.all());
            System.out.println();
            System.out.println("Logs and data: " + dir + "/   Status: ./chariots status   Stop: ./chariots down");
            return 0;
        }
    }

    static void printEndpoints(List<RoleProcess> all) {
        for (RoleProcess p : all) {
            String what = switch (p.role()) {
                case APP -> "http://127.0.0.1:" + p.ports().main() + "  POST /record";
                case CONTROLLER -> "http://127.0.0.1:" + p.ports().main() + "  GET / , GET /cluster";
                case BATCHER -> "127.0.0.1:" + p.ports().main() + "  raw TCP frames";
                default -> "127.0.0.1:" + p.ports().main() + "  gRPC";
            };
            System.out.printf("  %-10s %-48s metrics http://127.0.0.1:%d/metrics%n", p.roleName(), what, p.ports().admin());
        }
    }

    @Command(name = "down", mixinStandardHelpOptions = true,
            description = "Stop exactly the processes ./chariots up started, and check that nothing is left listening.")
    static final class Down implements Callable<Integer> {
        @Option(names = "--dir", defaultValue = "run", description = "Where up recorded the cluster (default ./${DEFAULT-VALUE}).")
        Path dir;

        @Override
        public Integer call() throws Exception {
            Path state = stateFile(dir);
            Optional<ClusterStateFile.State> s = ClusterStateFile.read(state);
            if (s.isEmpty()) {
                System.out.println("No cluster recorded in " + state + "; nothing to stop.");
                return 0;
            }
            List<RoleProcess> running = new ArrayList<>();
            for (ClusterStateFile.Entry e : s.get().processes()) {
                RoleProcess p = e.adopt();
                if (p.alive()) {
                    running.add(p);
                }
            }
            running.parallelStream().filter(p -> p.role() != Role.CONTROLLER).forEach(p -> p.stop(Duration.ofSeconds(10)));
            running.stream().filter(p -> p.role() == Role.CONTROLLER).forEach(p -> p.stop(Duration.ofSeconds(10)));
            List<String> stillListening = new ArrayList<>();
            for (ClusterStateFile.Entry e : s.get().processes()) {
                for (int port : new int[] {e.port(), e.admin(), e.grpc()}) {
                    if (port != 0 && FreePorts.listening("127.0.0.1", port)) {
                        stillListening.add(e.role() + ":" + port);
                    }
                }
            }
            Files.deleteIfExists(state);
            System.out.println("Stopped " + running.size() + " process(es)" + (running.isEmpty() ? " (none was running)" : "") + ".");
            if (!stillListening.isEmpty()) {
                System.err.println("Still listening (not started by this cluster?): " + stillListening);
                return 1;
            }
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Show the processes ./chariots up started and what the controller lists.")
    static final class Status implements Callable<Integer> {
        @Option(names = "--dir", defaultValue = "run", description = "Where up recorded the cluster (default ./${DEFAULT-VALUE}).")
        Path dir;

        @Override
        public Integer call() throws Exception {
            Optional<ClusterStateFile.State> s = ClusterStateFile.read(stateFile(dir));
            if (s.isEmpty()) {
                System.out.println("No cluster running (nothing recorded in " + stateFile(dir) + "). Start one with ./chariots up.");
                return 3;
            }
            int alive = 0;
            for (ClusterStateFile.Entry e : s.get().processes()) {
                boolean up = e.process().isPresent();
                alive += up ? 1 : 0;
                System.out.printf("  %-10s #%d  pid %-7d port %-5d %s%n", e.role(), e.index(), e.pid(), e.port(), up ? "running" : "NOT RUNNING");
            }
            System.out.printf("%d of %d processes running.%n", alive, s.get().processes().size());
            try {
                HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(s.get().controller() + "/"))
                        .timeout(Duration.ofSeconds(3)).build(), HttpResponse.BodyHandlers.ofString());
                JsonNode n = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.body());
                System.out.println("Controller " + s.get().controller() + " lists: " + n);
            } catch (Exception e) {
                System.out.println("Controller " + s.get().controller() + " is not answering (" + e.getMessage() + ").");
            }
            return alive == s.get().processes().size() ? 0 : 1;
        }
    }
}
