package io.chariots.dist.cluster;

import io.chariots.common.config.RoleConfig;
import io.chariots.proto.Role;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One role instance run as its own JVM: started, killed with SIGKILL, stopped
 * with SIGTERM, paused with SIGSTOP, resumed and restarted with the same
 * command line (so it comes back at the same address and data directory).
 */
public final class RoleProcess {
    private final Role role;
    private final int index;
    private final String host;
    private final Ports ports;
    private final List<String> command;
    private final Path log;
    private volatile ProcessHandle handle;
    private boolean paused;

    /** The ports an instance listens on; {@code grpc} is 0 for roles without gRPC. */
    public record Ports(int main, int admin, int grpc) {
    }

    RoleProcess(Role role, int index, String host, Ports ports, List<String> command, Path log) {
        this.role = role;
        this.index = index;
        this.host = host;
        this.ports = ports;
        this.command = List.copyOf(command);
        this.log = log;
    }

    /** Adopts a process started earlier (by {@code ./chariots up}) from its recorded pid. */
    RoleProcess(Role role, int index, Ports ports, Path log, ProcessHandle handle) {
        this(role, index, "127.0.0.1", ports, List.of(), log);
        this.handle = handle;
    }

    public Role role() {
        return role;
    }

    public String roleName() {
        return RoleConfig.roleName(role);
    }

    public int index() {
        return index;
    }

    public Ports ports() {
        return ports;
    }

    /** The address it listens on and advertises: 127.0.0.1 unless started on another. */
    public String host() {
        return host;
    }

    /** {@code host:port} of the main port, as the controller lists it. */
    public String address() {
        return host + ":" + ports.main();
    }

    public Path log() {
        return log;
    }

    public List<String> command() {
        return command;
    }

    /** Starts (or restarts) the process, appending to its log. */
    public synchronized RoleProcess start() throws IOException {
        if (alive()) {
            throw new IllegalStateException(this + " is already running");
        }
        Files.createDirectories(log.getParent());
        Process p = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        handle = p.toHandle();
        paused = false;
        return this;
    }

    public boolean alive() {
        ProcessHandle h = handle;
        return h != null && h.isAlive();
    }

    public long pid() {
        ProcessHandle h = handle;
        return h == null ? -1 : h.pid();
    }

    public Optional<ProcessHandle> handle() {
        return Optional.ofNullable(handle);
    }

    /** SIGKILL, and wait for the process to be gone. */
    public synchronized void kill() {
        ProcessHandle h = handle;
        if (h != null && h.isAlive()) {
            h.destroyForcibly();
            await(h, Duration.ofSeconds(10));
        }
        paused = false;
    }

    /** SIGTERM (a clean shutdown), then SIGKILL if it has not exited within {@code grace}. */
    public synchronized void stop(Duration grace) {
        ProcessHandle h = handle;
        if (h == null || !h.isAlive()) {
            return;
        }
        if (paused) {
            resume();
        }
        h.destroy();
        if (!await(h, grace)) {
            h.destroyForcibly();
            await(h, Duration.ofSeconds(10));
        }
    }

    public void stop() {
        stop(Duration.ofSeconds(10));
    }

    /** SIGSTOP: the process keeps its sockets but stops answering, like a hung JVM. */
    public synchronized void pause() {
        signal("-STOP");
        paused = true;
    }

    /** SIGCONT after {@link #pause}. */
    public synchronized void resume() {
        signal("-CONT");
        paused = false;
    }

    public synchronized boolean paused() {
        return paused;
    }

    /** Stops (if running) and starts again with the same command line. */
    public synchronized RoleProcess restart() throws IOException {
        stop();
        return start();
    }

    private void signal(String sig) {
        ProcessHandle h = handle;
        if (h == null || !h.isAlive()) {
            throw new IllegalStateException(this + " is not running");
        }
        try {
            Process p = new ProcessBuilder("kill", sig, Long.toString(h.pid())).inheritIO().start();
            if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("kill " + sig + " " + h.pid() + " failed");
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot signal " + this + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static boolean await(ProcessHandle h, Duration d) {
        try {
            h.onExit().get(d.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (Exception e) {
            return !h.isAlive();
        }
    }

    /** The last {@code lines} lines of its log. */
    public String tail(int lines) {
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
            long len = f.length();
            long from = Math.max(0, len - 64 * 1024);
            byte[] buf = new byte[(int) (len - from)];
            f.seek(from);
            f.readFully(buf);
            String[] all = new String(buf, StandardCharsets.UTF_8).split("\n");
            int start = Math.max(0, all.length - lines);
            return String.join("\n", java.util.Arrays.copyOfRange(all, start, all.length));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public String toString() {
        return roleName() + "#" + index + "@" + ports.main();
    }
}
