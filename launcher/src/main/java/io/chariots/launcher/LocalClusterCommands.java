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
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
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
            description = "Stop exactly the processes ./chariots up started (of every datacenter, after up --dcs), and "
                    + "check that nothing is left listening. The cluster's shape stays recorded: a plain ./chariots up "
                    + "starts it again.")
    static final class Down implements Callable<Integer> {
        @Mixin
        RunDir run;

        /** What stopping one run directory's cluster did. */
        private record Stopped(RunDir dir, int processes, List<String> killed, List<String> stillListening) {
        }

        @Override
        public Integer call() throws Exception {
            List<RunDir> datacenters = run.datacenters();
            if (!run.recorded() && datacenters.isEmpty()) {
                run.out().println("No cluster recorded in " + run.file().path() + "; nothing to stop.");
                return 0;
            }
            List<RunDir> clusters = new ArrayList<>();
            if (run.recorded()) {
                clusters.add(run);
            }
            clusters.addAll(datacenters);
            List<Stopped> results;
            try (Closeable lock = datacenters.isEmpty() || run.recorded() ? () -> { } : run.lock()) {
                // Datacenters side by side: each stops its own processes, its controller last.
                results = clusters.parallelStream().map(Down::stopQuietly).toList();
            }
            int processes = results.stream().mapToInt(Stopped::processes).sum();
            String stopped = "Stopped " + processes + " process(es)" + (processes == 0 ? " (none was running)" : "")
                    + (datacenters.isEmpty() ? "" : " of " + datacenters.size() + " datacenters") + ". ";
            RunDir whole = run.whole();
            if (whole != null) {
                run.out().println(stopped + "Datacenter " + run.datacenterId() + " stays recorded in " + run.file().path()
                        + ": " + run.command("start ROLE#N") + " starts one of its instances again; once every datacenter "
                        + "is down, " + whole.command("up") + " starts them all.");
            } else if (datacenters.isEmpty()) {
                run.out().println(stopped + "The cluster stays recorded in " + run.file().path() + ": " + run.command("up")
                        + " starts it again, " + run.command("up --fresh") + " starts over.");
            } else {
                run.out().println(stopped + "The " + datacenters.size() + " datacenters stay recorded in " + run.dir + "/dc0.."
                        + (datacenters.size() - 1) + ": " + run.command("up") + " starts them again, "
                        + run.command("up --dcs " + datacenters.size() + " --fresh") + " starts over.");
            }
            int exit = 0;
            for (Stopped r : results) {
                String of = datacenters.isEmpty() ? "" : " (" + r.dir().dir + ")";
                if (!r.killed().isEmpty()) {
                    run.err().println("Killed (SIGKILL) after 10 s without exiting on SIGTERM" + of + ": " + String.join(", ", r.killed()));
                }
                if (!r.stillListening().isEmpty()) {
                    run.err().println("Still listening (not started by this cluster?)" + of + ": " + r.stillListening());
                    exit = 1;
                }
            }
            return exit;
        }

        private static Stopped stopQuietly(RunDir dir) {
            try {
                return stop(dir);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        /** Stops what {@code dir} records, under its lock, and records it all stopped. */
        private static Stopped stop(RunDir dir) throws IOException {
            try (Closeable lock = dir.lock()) {
                State s = dir.state();
                List<RoleProcess> running = s.processes().stream().filter(i -> i.process().isPresent())
                        .map(Instance::adopt).toList();
                List<String> killed = new ArrayList<>();
                // What takes records in first, so that nothing more is appended; then the queues one at a time,
                // each leaving the ring cleanly while the maintainers can still seal the epoch that leaves it out
                // (queues leaving together cannot leave a ring empty: they would be killed), so that each keeps
                // its dedup memory at a log end that no longer moves; then the maintainers and indexers; the
                // controller last, so that the others can still deregister.
                Set<Role> intake = EnumSet.of(Role.APP, Role.BATCHER, Role.FILTER);
                running.parallelStream().filter(p -> intake.contains(p.role())).forEach(p -> stopOrNote(p, killed));
                running.stream().filter(p -> p.role() == Role.QUEUE).forEach(p -> stopOrNote(p, killed));
                running.parallelStream().filter(p -> !intake.contains(p.role()) && p.role() != Role.QUEUE
                        && p.role() != Role.CONTROLLER).forEach(p -> stopOrNote(p, killed));
                running.stream().filter(p -> p.role() == Role.CONTROLLER).forEach(p -> stopOrNote(p, killed));
                dir.file().write(s.allStopped());
                List<String> stillListening = new ArrayList<>();
                for (Instance i : s.processes()) {
                    for (int port : new int[] {i.port(), i.admin(), i.grpc()}) {
                        if (port != 0 && FreePorts.listening("127.0.0.1", port)) {
                            stillListening.add(i.name() + ":" + port);
                        }
                    }
                }
                return new Stopped(dir, running.size(), killed, stillListening);
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
                    + "(running, paused, stopped, dead), and what the controller lists; after up --dcs, for each datacenter.",
                    "Exits 0 when all run, 3 when none does, 1 otherwise."})
    static final class StatusCommand implements Callable<Integer> {
        @Mixin
        RunDir run;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = run.out();
            Optional<State> s = run.file().read();
            List<RunDir> datacenters = run.datacenters();
            if (s.isEmpty() && datacenters.isEmpty()) {
                out.println("No cluster recorded in " + run.file().path() + ". Start one with " + run.command("up") + ".");
                return 3;
            }
            if (s.isPresent()) {
                return status(run, s.get());
            }
            List<Integer> exits = new ArrayList<>();
            for (RunDir dc : datacenters) {
                State state = dc.file().read().orElseThrow(() -> new IOException(dc.file().path() + " was moved away meanwhile"));
                out.println("Datacenter " + dc.datacenterId() + " (" + dc.dir + "/): app " + appUrl(state)
                        + ", controller " + state.controller());
                exits.add(status(dc, state));
                out.println();
            }
            return exits.stream().allMatch(e -> e == 0) ? 0 : exits.stream().allMatch(e -> e == 3) ? 3 : 1;
        }

        /** The first app's URL as recorded, in the controller's scheme. */
        private static String appUrl(State s) {
            String scheme = s.controller().startsWith("https") ? "https" : "http";
            return s.processes().stream().filter(i -> i.roleEnum() == Role.APP).findFirst()
                    .map(i -> scheme + "://" + i.host() + ":" + i.port()).orElse("none");
        }

        /** Prints one cluster's instances and controller view; 0 when all run, 3 when none does, 1 otherwise. */
        private static int status(RunDir run, State state) {
            PrintWriter out = run.out();
            Map<Status, List<String>> by = new EnumMap<>(Status.class);
            Status controller = Status.STOPPED;
            out.printf("  %-14s %-8s %-6s %-6s %-6s %s%n", "INSTANCE", "PID", "PORT", "ADMIN", "GRPC", "STATE");
            for (Instance i : state.processes()) {
                Status st = i.status();
                by.computeIfAbsent(st, k -> new ArrayList<>()).add(i.name());
                if (i.roleEnum() == Role.CONTROLLER) {
                    controller = st;
                }
                out.printf("  %-14s %-8s %-6d %-6d %-6s %s%n", i.name(), st.alive() ? Long.toString(i.pid()) : "-",
                        i.port(), i.admin(), i.grpc() == 0 ? "-" : Integer.toString(i.grpc()),
                        st.label() + (st == Status.DEAD ? " (log: " + i.log() + ")" : ""));
            }
            int total = state.processes().size();
            int running = by.getOrDefault(Status.RUNNING, List.of()).size();
            out.println(running + " of " + total + " running" + by.entrySet().stream().filter(e -> e.getKey() != Status.RUNNING)
                    .map(e -> "; " + e.getKey().label() + ": " + String.join(", ", e.getValue()))
                    .collect(Collectors.joining()) + ".");
            if (controller == Status.RUNNING) {
                printControllerView(out, state.controller(), run.dir.resolve("tls").resolve(io.chariots.launcher.cluster.LocalCa.CA),
                        state.processes().stream().anyMatch(i -> String.join(" ", i.command()).contains("tls.cert_file=")
                                && !i.command().contains("tls.edges=false")));
            }
            boolean noneAlive = by.getOrDefault(Status.RUNNING, List.of()).isEmpty()
                    && by.getOrDefault(Status.PAUSED, List.of()).isEmpty();
            return running == total ? 0 : noneAlive ? 3 : 1;
        }

        /**
         * The links to other datacenters, as the shipping maintainers report them in their heartbeats (state, lag in
         * records and ms, the error while one retries); nothing for a single datacenter.
         */
        private static void printReplication(PrintWriter out, HttpClient client, String url) {
            try {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(url + "/cluster"))
                        .timeout(Duration.ofSeconds(3)).build(), HttpResponse.BodyHandlers.ofString());
                com.fasterxml.jackson.databind.JsonNode cluster = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.body());
                for (com.fasterxml.jackson.databind.JsonNode i : cluster.path("instances")) {
                    String note = i.path("note").asText("");
                    if (note.startsWith("replication:")) {
                        out.println("  " + i.path("address").asText() + " " + note);
                    }
                }
            } catch (Exception e) {
                out.println("  (replication not known: " + e.getMessage() + ")");
            }
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
                printReplication(out, client, url);
            } catch (Exception e) {
                out.println("Controller " + controller + " is not answering (" + e.getMessage() + ").");
            }
        }
    }
}
