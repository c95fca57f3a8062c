package io.chariots.launcher;

import io.chariots.launcher.cluster.ClusterStateFile.Instance;
import io.chariots.launcher.cluster.ClusterStateFile.State;
import io.chariots.launcher.cluster.ClusterStateFile.Status;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.Role;
import io.chariots.testkit.FreePorts;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.Closeable;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * {@code down} and {@code status} of the local cluster {@code up} started ({@link UpCommand}); commands on one
 * instance are in {@link MemberCommands}.
 */
final class LocalClusterCommands {
    private LocalClusterCommands() {
    }

    @Command(name = "down", mixinStandardHelpOptions = true,
            description = "Stop exactly the processes ./chariots up started, and check that nothing is left listening. "
                    + "The cluster's shape stays recorded: a plain ./chariots up starts it again.")
    static final class Down implements Callable<Integer> {
        @Mixin
        RunDir run;

        @Override
        public Integer call() throws Exception {
            if (!run.recorded()) {
                run.out().println("No cluster recorded in " + run.file().path() + "; nothing to stop.");
                return 0;
            }
            try (Closeable lock = run.lock()) {
                State s = run.state();
                List<RoleProcess> running = s.processes().stream().filter(i -> i.process().isPresent())
                        .map(Instance::adopt).toList();
                List<String> killed = new ArrayList<>();
                // The controller last, so that the others can still deregister.
                running.parallelStream().filter(p -> p.role() != Role.CONTROLLER)
                        .forEach(p -> stopOrNote(p, killed));
                running.stream().filter(p -> p.role() == Role.CONTROLLER).forEach(p -> stopOrNote(p, killed));
                run.file().write(s.allStopped());
                List<String> stillListening = new ArrayList<>();
                for (Instance i : s.processes()) {
                    for (int port : new int[] {i.port(), i.admin(), i.grpc()}) {
                        if (port != 0 && FreePorts.listening("127.0.0.1", port)) {
                            stillListening.add(i.name() + ":" + port);
                        }
                    }
                }
                run.out().println("Stopped " + running.size() + " process(es)" + (running.isEmpty() ? " (none was running)" : "")
                        + ". The cluster stays recorded in " + run.file().path() + ": " + run.command("up")
                        + " starts it again, " + run.command("up --fresh") + " starts over.");
                if (!killed.isEmpty()) {
                    run.err().println("Killed (SIGKILL) after 10 s without exiting on SIGTERM: " + String.join(", ", killed));
                }
                if (!stillListening.isEmpty()) {
                    run.err().println("Still listening (not started by this cluster?): " + stillListening);
                    return 1;
                }
                return 0;
            }
        }

        private static void stopOrNote(RoleProcess p, List<String> killed) {
            if (!p.stop(Duration.ofSeconds(10))) {
                synchronized (killed) {
                    killed.add(p.name());
                }
            }
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = {"Show every instance ./chariots up started, as ROLE#N with pid, ports and state "
                    + "(running, paused, stopped, dead), and what the controller lists.",
                    "Exits 0 when all run, 3 when none does, 1 otherwise."})
    static final class StatusCommand implements Callable<Integer> {
        @Mixin
        RunDir run;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = run.out();
            Optional<State> s = run.file().read();
            if (s.isEmpty()) {
                out.println("No cluster recorded in " + run.file().path() + ". Start one with " + run.command("up") + ".");
                return 3;
            }
            Map<Status, List<String>> by = new EnumMap<>(Status.class);
            Status controller = Status.STOPPED;
            out.printf("  %-14s %-8s %-6s %-6s %-6s %s%n", "INSTANCE", "PID", "PORT", "ADMIN", "GRPC", "STATE");
            for (Instance i : s.get().processes()) {
                Status st = i.status();
                by.computeIfAbsent(st, k -> new ArrayList<>()).add(i.name());
                if (i.roleEnum() == Role.CONTROLLER) {
                    controller = st;
                }
                out.printf("  %-14s %-8s %-6d %-6d %-6s %s%n", i.name(), st.alive() ? Long.toString(i.pid()) : "-",
                        i.port(), i.admin(), i.grpc() == 0 ? "-" : Integer.toString(i.grpc()),
                        st.label() + (st == Status.DEAD ? " (log: " + i.log() + ")" : ""));
            }
            int total = s.get().processes().size();
            int running = by.getOrDefault(Status.RUNNING, List.of()).size();
            out.println(running + " of " + total + " running" + by.entrySet().stream().filter(e -> e.getKey() != Status.RUNNING)
                    .map(e -> "; " + e.getKey().label() + ": " + String.join(", ", e.getValue()))
                    .collect(Collectors.joining()) + ".");
            if (controller == Status.RUNNING) {
                printControllerView(out, s.get().controller(), run.dir.resolve("tls").resolve(io.chariots.launcher.cluster.LocalCa.CA),
                        s.get().processes().stream().anyMatch(i -> String.join(" ", i.command()).contains("tls.cert_file=")
                                && !i.command().contains("tls.edges=false")));
            }
            boolean noneAlive = by.getOrDefault(Status.RUNNING, List.of()).isEmpty()
                    && by.getOrDefault(Status.PAUSED, List.of()).isEmpty();
            return running == total ? 0 : noneAlive ? 3 : 1;
        }

        private static void printControllerView(PrintWriter out, String controller, java.nio.file.Path tlsCa, boolean tlsCluster) {
            try {
                // In a cluster up --tls, the controller's port serves TLS: asked trusting the cluster's CA.
                boolean tls = tlsCluster && java.nio.file.Files.exists(tlsCa);
                String url = tls ? controller.replace("http://", "https://") : controller;
                HttpClient client = tls ? HttpClient.newBuilder().sslContext(io.chariots.launcher.cluster.LocalCluster.sslContext(
                        new io.chariots.launcher.cluster.LocalCa.Files3(tlsCa, null, null))).build() : HttpClient.newHttpClient();
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(url + "/"))
                        .timeout(Duration.ofSeconds(3)).build(), HttpResponse.BodyHandlers.ofString());
                out.println("Controller " + url + " lists: " + r.body().trim());
            } catch (Exception e) {
                out.println("Controller " + controller + " is not answering (" + e.getMessage() + ").");
            }
        }
    }
}
