package io.chariots.dist;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A third-party server a test runs for real (HAProxy, dnsmasq): started in
 * the foreground with its output in a log file, stopped (and waited for) on
 * close, also if the test JVM exits early.
 */
final class Daemon implements AutoCloseable {
    private final String name;
    private final Process process;
    private final Path log;

    private Daemon(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    /** Starts {@code command} with extra environment; fails naming the Debian package if the program is missing. */
    static Daemon start(String name, String debianPackage, List<String> command, Map<String, String> env, Path log)
            throws IOException {
        require(command.get(0), debianPackage);
        Files.createDirectories(log.getParent());
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().putAll(env);
        Process p = pb.start();
        Runtime.getRuntime().addShutdownHook(new Thread(p::destroyForcibly, name + "-cleanup"));
        return new Daemon(name, p, log);
    }

    /** Fails, naming the Debian package to install, when {@code program} is not installed. */
    static void require(String program, String debianPackage) {
        if (!onPath(program)) {
            throw new AssertionError(program + " is needed by this test and is not installed: apt-get install -y "
                    + debianPackage + " (.ci/run installs it)");
        }
    }

    static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return Files.isExecutable(Path.of("/usr/sbin", program));
    }

    boolean alive() {
        return process.isAlive();
    }

    long pid() {
        return process.pid();
    }

    /** Sends SIGHUP (dnsmasq: re-read its hosts files). */
    void hangUp() throws IOException, InterruptedException {
        new ProcessBuilder("kill", "-HUP", Long.toString(process.pid())).inheritIO().start().waitFor();
    }

    /** The last lines of its output, for failure messages. */
    String tail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return name + " log:\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return name + " log unreadable: " + e;
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }
}
