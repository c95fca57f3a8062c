package io.chariots.launcher.cluster;

import io.chariots.common.config.RoleConfig;
import io.chariots.proto.Role;

import io.chariots.testkit.ChildProcess;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * One role instance run as its own JVM: started, killed with SIGKILL, stopped
 * with SIGTERM, paused with SIGSTOP, resumed and restarted with the same
 * command line (so it comes back at the same address and data directory).
 * It is named {@code ROLE#N}, N counted from 1 in start order: {@code queue#1}
 * is instance 0 of the queues.
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

    /**
     * An instance recorded by an earlier {@code ./chariots up}: adopted from its live process, or not running
     * ({@code handle} null) until {@link #start()} runs its recorded command line.
     */
    RoleProcess(Role role, int index, String host, Ports ports, List<String> command, Path log, ProcessHandle handle) {
        this(role, index, host, ports, command, log);
        this.child = handle == null ? null : ChildProcess.adopt(toString(), handle, log);
    }

    /** The name of instance {@code index} of {@code role}: {@code queue#1} for index 0. */
    public static String name(Role role, int index) {
        return RoleConfig.roleName(role) + "#" + (index + 1);
    }

    public Role role() {
        return role;
    }

    public String roleName() {
        return RoleConfig.roleName(role);
    }

    /** Its position among the instances of its role, from 0. */
    public int index() {
        return index;
    }

    /** {@code ROLE#N}, as {@code ./chariots status} lists it. */
    public String name() {
        return name(role, index);
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

    /** The data directory its command line gives ({@code --data-dir}), or null if it gives none. */
    public Path dataDir() {
        int at = command.indexOf("--data-dir");
        return at < 0 ? null : Path.of(command.get(at + 1));
    }

    /** Starts (or restarts) the process, appending to its log. */
    public synchronized RoleProcess start() {
        if (alive()) {
            throw new IllegalStateException(this + " is already running");
        }
        child = ChildProcess.command(command).name(toString()).log(log).start();
        return this;
    }

    /**
     * Waits up to {@code timeout} for it to exit on its own.
     *
     * @return its exit code
     * @throws IllegalStateException if it is still running then
     */
    public int awaitExit(Duration timeout) {
        ChildProcess c = child;
        if (c == null || !c.awaitExit(timeout)) {
            throw new IllegalStateException(this + " did not exit within " + timeout.toSeconds() + " s:\n" + tail(30));
        }
        return c.exitValue();
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

    /**
     * SIGTERM (a clean shutdown), then SIGKILL if it has not exited within {@code grace}.
     *
     * @return false if it had to be killed
     */
    public synchronized boolean stop(Duration grace) {
        return child == null || child.stop(grace);
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

    /**
     * Waits until it serves: its {@code /health} answers 200.
     *
     * @throws IllegalStateException with its log's last lines, if it exits first or does not serve in time
     *     (it is left running then)
     */
    public void awaitServing(Duration timeout) throws InterruptedException {
        // An app's or controller's /health is on its client-facing port, which serves TLS when the role has
        // certificates: asked over TLS then, without checking the certificate (this only asks whether it serves).
        boolean tls = (role == Role.APP || role == Role.CONTROLLER)
                && command.stream().anyMatch(a -> a.startsWith(io.chariots.common.net.ClusterTls.CERT_KEY + "="))
                && command.stream().noneMatch(a -> a.equals("tls.edges=false"));
        URI health = URI.create((tls ? "https://" : "http://") + host + ":" + ports.admin() + "/health");
        HttpClient.Builder hb = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1));
        if (tls) {
            hb.sslContext(LocalCluster.trustingAnyCertificate());
        }
        HttpClient http = hb.build();
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "no answer";
        while (true) {
            if (!alive()) {
                throw new IllegalStateException(this + " exited before serving:\n" + tail(30));
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(health).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
                last = r.statusCode() + " " + r.body();
            } catch (IOException e) {
                last = e.toString();
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(this + " did not serve within " + timeout.toSeconds() + " s (" + health
                        + ": " + last + "); it is still running as pid " + pid() + ":\n" + tail(30));
            }
            Thread.sleep(100);
        }
    }

    /** The last {@code lines} lines of its log. */
    public String tail(int lines) {
        return ChildProcess.tail(log, lines);
    }

    @Override
    public String toString() {
        return name() + "@" + ports.main();
    }
}
