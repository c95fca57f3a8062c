package io.chariots.launcher.cluster;

import io.chariots.common.config.RoleConfig;
import io.chariots.proto.Role;

import io.chariots.testkit.ChildProcess;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

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
    private volatile ChildProcess child;

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
        this.child = ChildProcess.adopt(toString(), handle, log);
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
    public synchronized RoleProcess start() {
        if (alive()) {
            throw new IllegalStateException(this + " is already running");
        }
        child = ChildProcess.command(command).name(toString()).log(log).start();
        return this;
    }

    public boolean alive() {
        ChildProcess c = child;
        return c != null && c.alive();
    }

    public long pid() {
        ChildProcess c = child;
        return c == null ? -1 : c.pid();
    }

    public Optional<ProcessHandle> handle() {
        ChildProcess c = child;
        return c == null ? Optional.empty() : Optional.of(c.handle());
    }

    /** SIGKILL, and wait for the process to be gone. */
    public synchronized void kill() {
        if (child != null) {
            child.kill();
        }
    }

    /** SIGTERM (a clean shutdown), then SIGKILL if it has not exited within {@code grace}. */
    public synchronized void stop(Duration grace) {
        if (child != null) {
            child.stop(grace);
        }
    }

    public void stop() {
        stop(Duration.ofSeconds(10));
    }

    /** SIGSTOP: the process keeps its sockets but stops answering, like a hung JVM. */
    public synchronized void pause() {
        running().pause();
    }

    /** SIGCONT after {@link #pause}. */
    public synchronized void resume() {
        running().resume();
    }

    public synchronized boolean paused() {
        return child != null && child.paused();
    }

    /** Stops (if running) and starts again with the same command line. */
    public synchronized RoleProcess restart() {
        stop();
        return start();
    }

    private ChildProcess running() {
        if (child == null || !child.alive()) {
            throw new IllegalStateException(this + " is not running");
        }
        return child;
    }

    /** The last {@code lines} lines of its log. */
    public String tail(int lines) {
        return ChildProcess.tail(log, lines);
    }

    @Override
    public String toString() {
        return roleName() + "#" + index + "@" + ports.main();
    }
}
