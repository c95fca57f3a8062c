package io.chariots.launcher.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.chariots.proto.Role;
import io.chariots.testkit.ChildProcess;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The cluster {@code ./chariots up} started from a run directory, in {@code DIR/cluster.json}, for the commands
 * that come after it. For every instance it records role, host, ports, data directory, log and full command
 * line: the cluster's shape, which outlives its processes. {@code down} and {@code stop} only clear an
 * instance's pid, so that a later {@code up} starts the same shape on the same ports and data, and
 * {@code restart} runs the very same command line.
 *
 * <p>While an instance is meant to run, its pid and start time are recorded too. The pid is trusted only while
 * the start time and the command line still match, so a stranger that reused it is never signalled.
 */
public final class ClusterStateFile {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path dir;

    private ClusterStateFile(Path dir) {
        this.dir = dir;
    }

    /** The record kept in run directory {@code dir}. */
    public static ClusterStateFile in(Path dir) {
        return new ClusterStateFile(dir);
    }

    /** {@code DIR/cluster.json}. */
    public Path path() {
        return dir.resolve("cluster.json");
    }

    /** What an instance's process is doing, as far as its record and /proc tell. */
    public enum Status {
        RUNNING,
        /** Stopped by SIGSTOP. */
        PAUSED,
        /** Not running, as asked ({@code down}, {@code stop}). */
        STOPPED,
        /** Not running although it should be: killed, or crashed. */
        DEAD;

        /** Lower case, as printed. */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** Running or paused: it has a process. */
        public boolean alive() {
            return this == RUNNING || this == PAUSED;
        }
    }

    /**
     * One instance: where it listens and keeps its data, how it is started, and — with {@code pid} above 0 —
     * which process should be running it. {@code host} and {@code command} may be missing from a file an older
     * {@code ./chariots} wrote; they read as 127.0.0.1 and an empty command.
     */
    public record Instance(String role, int index, String host, int port, int admin, int grpc, String dataDir,
            String log, List<String> command, long pid, String started) {
        public Instance {
            host = host == null ? "127.0.0.1" : host;
            command = command == null ? List.of() : List.copyOf(command);
        }

        /** The record of {@code p}, with its process if it has one. */
        public static Instance of(RoleProcess p) {
            Optional<ProcessHandle> h = p.alive() ? p.handle() : Optional.empty();
            return new Instance(p.roleName(), p.index(), p.host(), p.ports().main(), p.ports().admin(), p.ports().grpc(),
                    p.dataDir() == null ? null : p.dataDir().toString(), p.log().toString(), p.command(),
                    h.map(ProcessHandle::pid).orElse(0L),
                    h.flatMap(x -> x.info().startInstant()).map(Instant::toString).orElse(null));
        }

        public Role roleEnum() {
            return Role.valueOf(role.toUpperCase(Locale.ROOT));
        }

        /** {@code ROLE#N}, as the commands take it. */
        public String name() {
            return RoleProcess.name(roleEnum(), index);
        }

        /** The live process, if the recorded pid still belongs to it. */
        public Optional<ProcessHandle> process() {
            if (pid <= 0) {
                return Optional.empty();
            }
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).filter(h -> {
                Optional<Instant> start = h.info().startInstant();
                boolean sameStart = start.isEmpty() || started == null
                        || Math.abs(start.get().toEpochMilli() - Instant.parse(started).toEpochMilli()) < 2000;
                boolean ours = commandLine(h.pid()).map(c -> c.contains("io.chariots.launcher.ChariotsCli")).orElse(true);
                return sameStart && ours;
            });
        }

        public Status status() {
            if (pid <= 0) {
                return Status.STOPPED;
            }
            return process().map(h -> ChildProcess.adopt(name(), h, null).paused() ? Status.PAUSED : Status.RUNNING)
                    .orElse(Status.DEAD);
        }

        /** It as a {@link RoleProcess}: adopted if it runs, else ready to {@link RoleProcess#start()}. */
        public RoleProcess adopt() {
            return new RoleProcess(roleEnum(), index, host, new RoleProcess.Ports(port, admin, grpc), command, Path.of(log),
                    process().orElse(null));
        }

        /** The same instance, recorded as stopped on purpose. */
        public Instance stopped() {
            return new Instance(role, index, host, port, admin, grpc, dataDir, log, command, 0, null);
        }
    }

    /** The whole file: the controller's URL and every instance, in start order. */
    public record State(String controller, List<Instance> processes) {
        /** What {@code cluster} started, and the processes it runs now. */
        public static State of(LocalCluster cluster) {
            return new State(cluster.controllerUrl(), cluster.all().stream().map(Instance::of).toList());
        }

        /** The instance named {@code name} ({@code queue#1}; case does not matter). */
        public Optional<Instance> find(String name) {
            return processes.stream().filter(i -> i.name().equalsIgnoreCase(name)).findFirst();
        }

        /** This state with {@code changed} in place of the instance of the same name. */
        public State with(Instance changed) {
            List<Instance> out = new ArrayList<>();
            for (Instance i : processes) {
                out.add(i.name().equals(changed.name()) ? changed : i);
            }
            return new State(controller, out);
        }

        /** Every instance recorded as stopped on purpose. */
        public State allStopped() {
            return new State(controller, processes.stream().map(Instance::stopped).toList());
        }

        /** How many instances of {@code role} the shape has. */
        public int count(Role role) {
            return (int) processes.stream().filter(i -> i.roleEnum() == role).count();
        }
    }

    /**
     * The full command line of a process from /proc ({@code ProcessHandle.Info}
     * truncates long ones, and ours carry a long classpath).
     */
    public static Optional<String> commandLine(long pid) {
        try {
            byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            return Optional.of(new String(raw, StandardCharsets.UTF_8).replace('\0', ' '));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The recorded state, if {@code up} ever ran in this directory. */
    public Optional<State> read() throws IOException {
        if (!Files.exists(path())) {
            return Optional.empty();
        }
        return Optional.of(JSON.readValue(path().toFile(), State.class));
    }

    /** Replaces the file in one step, so that a reader never sees half of it. */
    public void write(State state) throws IOException {
        Files.createDirectories(dir);
        Path tmp = dir.resolve("cluster.json.tmp");
        JSON.writeValue(tmp.toFile(), state);
        Files.move(tmp, path(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The lock file, which stays in the directory even when {@code up --fresh} moves the rest aside. */
    public Path lockFile() {
        return dir.resolve("cluster.lock");
    }

    /**
     * Takes the directory's lock if no other command holds it, so that two commands never act on the same
     * instances or overwrite each other's record; closing the result releases it.
     */
    public Optional<Closeable> tryLock() throws IOException {
        FileChannel ch = openLockFile();
        FileLock lock = ch.tryLock();
        if (lock == null) {
            ch.close();
            return Optional.empty();
        }
        return Optional.of(ch);
    }

    /** Takes the directory's lock, waiting for whoever holds it. */
    public Closeable lock() throws IOException {
        FileChannel ch = openLockFile();
        try {
            ch.lock();
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        return ch;
    }

    private FileChannel openLockFile() throws IOException {
        Files.createDirectories(dir);
        return FileChannel.open(lockFile(), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    }
}
