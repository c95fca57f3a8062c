package io.chariots.launcher.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.chariots.proto.Role;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * What {@code ./chariots up} started, in {@code run/cluster.json}: each
 * process's pid and start time, so that {@code down} stops exactly those
 * processes and never a stranger that reused a pid.
 */
public final class ClusterStateFile {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** One recorded process. */
    public record Entry(String role, int index, long pid, String started, int port, int admin, int grpc, String log) {
        Role roleEnum() {
            return Role.valueOf(role.toUpperCase(Locale.ROOT));
        }

        /** The live process, if the recorded pid still belongs to it. */
        public Optional<ProcessHandle> process() {
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).filter(h -> {
                Optional<Instant> start = h.info().startInstant();
                boolean sameStart = start.isEmpty() || started == null
                        || Math.abs(start.get().toEpochMilli() - Instant.parse(started).toEpochMilli()) < 2000;
                boolean ours = commandLine(h.pid()).map(c -> c.contains("io.chariots.launcher.ChariotsCli")).orElse(true);
                return sameStart && ours;
            });
        }

        public RoleProcess adopt() {
            return new RoleProcess(roleEnum(), index, new RoleProcess.Ports(port, admin, grpc), Path.of(log),
                    process().orElse(null));
        }
    }

    /**
     * The full command line of a process from /proc ({@code ProcessHandle.Info}
     * truncates long ones, and ours carry a long classpath).
     */
    public static Optional<String> commandLine(long pid) {
        try {
            byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            return Optional.of(new String(raw, java.nio.charset.StandardCharsets.UTF_8).replace('\0', ' '));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The whole file. */
    public record State(String controller, List<Entry> processes) {
    }

    private ClusterStateFile() {
    }

    public static void write(Path file, LocalCluster cluster) throws IOException {
        List<Entry> entries = new ArrayList<>();
        for (RoleProcess p : cluster.all()) {
            String started = p.handle().flatMap(h -> h.info().startInstant()).map(Instant::toString).orElse(null);
            entries.add(new Entry(p.roleName(), p.index(), p.pid(), started, p.ports().main(), p.ports().admin(),
                    p.ports().grpc(), p.log().toString()));
        }
        Files.createDirectories(file.getParent());
        JSON.writeValue(file.toFile(), new State(cluster.controllerUrl(), entries));
    }

    public static Optional<State> read(Path file) throws IOException {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        return Optional.of(JSON.readValue(file.toFile(), State.class));
    }
}
