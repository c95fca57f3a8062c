package io.chariots.testkit;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A process started by a test or by the cluster harness: a role JVM, a child
 * JVM running a test's own {@code main}, or a real tool (HAProxy, dnsmasq,
 * python3). Its standard output and error go to a log file (appended, so a
 * restarted process continues the same log); it can be killed (SIGKILL),
 * stopped (SIGTERM, then SIGKILL after a grace period), paused (SIGSTOP),
 * resumed (SIGCONT) or sent any other signal, and its log can be waited on
 * and read back for failure messages.
 *
 * <p>This is the only place that starts child processes, so that every one
 * is started, signalled and cleaned up the same way.
 */
public final class ChildProcess implements AutoCloseable {
    private final String name;
    private final List<String> command;
    private final Process process; // null when adopted from a pid
    private final ProcessHandle handle;
    private final Path log;
    private volatile boolean paused;

    private ChildProcess(String name, List<String> command, Process process, ProcessHandle handle, Path log) {
        this.name = name;
        this.command = List.copyOf(command);
        this.process = process;
        this.handle = handle;
        this.log = log;
    }

    /** How to start a process; {@link #start()} or {@link #run(Duration)} it. */
    public static Spec command(List<String> command) {
        return new Spec(command);
    }

    /** A JVM running {@code mainClass} with this JVM's {@code java} and classpath. */
    public static Spec java(List<String> jvmOptions, String mainClass, List<String> args) {
        return new Spec(javaCommand(javaBinary(), jvmOptions, System.getProperty("java.class.path"), mainClass, args));
    }

    /** The command line of a JVM: {@code java OPTIONS -cp CLASSPATH MAIN ARGS}. */
    public static List<String> javaCommand(String java, List<String> jvmOptions, String classpath, String mainClass,
            List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(classpath);
        cmd.add(mainClass);
        cmd.addAll(args);
        return cmd;
    }

    /** This JVM's {@code java} executable. */
    public static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /**
     * A process started elsewhere (e.g. by an earlier {@code ./chariots up}), known by its handle. It counts as
     * {@link #paused()} when it is stopped by a signal now, so that {@link #stop} resumes it first and a
     * separate command can {@link #resume()} what another one paused.
     */
    public static ChildProcess adopt(String name, ProcessHandle handle, Path log) {
        ChildProcess c = new ChildProcess(name, List.of(), null, handle, log);
        c.paused = signalStopped(handle.pid());
        return c;
    }

    /** Whether process {@code pid} is stopped by a signal: state 'T' in /proc/PID/stat (false without /proc). */
    private static boolean signalStopped(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // The state follows the command name, which is in parentheses and may itself contain ") ".
            return stat.substring(stat.lastIndexOf(')') + 1).trim().startsWith("T");
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether {@code program} is installed: on the PATH, or in /usr/sbin (where Debian puts daemons). */
    public static boolean onPath(String program) {
        if (program.contains("/")) {
            return Files.isExecutable(Path.of(program));
        }
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return Files.isExecutable(Path.of("/usr/sbin", program));
    }

    /** Fails, naming the Debian package that provides it, when {@code program} is not installed. */
    public static void require(String program, String debianPackage) {
        if (!onPath(program)) {
            throw new AssertionError(program + " is needed by this test and is not installed: apt-get install -y "
                    + debianPackage + " (.ci/run installs it)");
        }
    }

    /** What a finished command printed and how it exited. */
    public record Finished(List<String> command, int exit, String out, String err) {
        /** The command line and both outputs, for a failure message. */
        public String describe() {
            return String.join(" ", command) + " exited " + exit + "\n--- stdout ---\n" + out + "\n--- stderr ---\n" + err;
        }
    }

    /** How to start a child process. */
    public static final class Spec {
        private final List<String> command;
        private final Map<String, String> env = new LinkedHashMap<>();
        private final List<String> unset = new ArrayList<>();
        private Path directory;
        private Path log;
        private String name;
        private boolean killOnExit;

        private Spec(List<String> command) {
            if (command.isEmpty()) {
                throw new IllegalArgumentException("an empty command");
            }
            this.command = new ArrayList<>(command);
        }

        /** Adds to (or replaces in) the inherited environment. */
        public Spec env(String key, String value) {
            env.put(key, value);
            unset.remove(key);
            return this;
        }

        public Spec env(Map<String, String> more) {
            more.forEach(this::env);
            return this;
        }

        /** Removes a variable from the inherited environment. */
        public Spec unsetEnv(String key) {
            env.remove(key);
            unset.add(key);
            return this;
        }

        public Spec directory(Path dir) {
            this.directory = dir;
            return this;
        }

        /** Where standard output and error go, appended (default: discarded). */
        public Spec log(Path file) {
            this.log = file;
            return this;
        }

        /** How messages name it (default: the program's file name). */
        public Spec name(String n) {
            this.name = n;
            return this;
        }

        /** SIGKILL it if this JVM exits first (a test timing out, Ctrl-C). */
        public Spec killOnExit() {
            this.killOnExit = true;
            return this;
        }

        private ProcessBuilder builder() {
            ProcessBuilder pb = new ProcessBuilder(command);
            pb.environment().putAll(env);
            unset.forEach(pb.environment()::remove);
            if (directory != null) {
                pb.directory(directory.toFile());
            }
            return pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        }

        /** Starts it; standard output and error go to the log. */
        public ChildProcess start() {
            ProcessBuilder pb = builder().redirectErrorStream(true);
            try {
                if (log != null) {
                    Files.createDirectories(log.toAbsolutePath().getParent());
                    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
                } else {
                    pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
                }
                Process p = pb.start();
                if (killOnExit) {
                    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                        p.descendants().forEach(ProcessHandle::destroyForcibly);
                        p.destroyForcibly();
                    }, displayName() + "-cleanup"));
                }
                return new ChildProcess(displayName(), command, p, p.toHandle(), log);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot start " + String.join(" ", command) + ": " + e.getMessage(), e);
            }
        }

        /**
         * Runs it to completion and returns what it printed. If it has not
         * finished within {@code timeout}, it and its descendants are killed
         * and this fails with what it printed so far.
         */
        public Finished run(Duration timeout) throws InterruptedException {
            Path out = null;
            Path err = null;
            try {
                out = Files.createTempFile("child-out", ".txt");
                err = Files.createTempFile("child-err", ".txt");
                Process p = builder().redirectOutput(out.toFile()).redirectError(err.toFile()).start();
                boolean done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
                if (!done) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
                Finished f = new Finished(List.copyOf(command), done ? p.exitValue() : -1, Files.readString(out),
                        Files.readString(err));
                if (!done) {
                    throw new IllegalStateException("did not finish within " + timeout + ": " + f.describe());
                }
                return f;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot run " + String.join(" ", command) + ": " + e.getMessage(), e);
            } finally {
                deleteQuietly(out);
                deleteQuietly(err);
            }
        }

        private String displayName() {
            return name != null ? name : Path.of(command.get(0)).getFileName().toString();
        }
    }

    public String name() {
        return name;
    }

    public List<String> command() {
        return command;
    }

    public Optional<Path> log() {
        return Optional.ofNullable(log);
    }

    public ProcessHandle handle() {
        return handle;
    }

    public long pid() {
        return handle.pid();
    }

    public boolean alive() {
        return handle.isAlive();
    }

    /** Whether it was paused with {@link #pause()} and not resumed since. */
    public boolean paused() {
        return paused;
    }

    /** Its exit code, waiting for it to exit; only for a process this JVM started. */
    public int exitValue() {
        if (process == null) {
            throw new IllegalStateException(name + " was adopted: its exit code is not known here");
        }
        try {
            return process.waitFor(); // not exitValue(): the handle may report the exit a moment before the Process does
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(name + ": interrupted while reading its exit code", e);
        }
    }

    /** Waits for it to exit; whether it did within {@code timeout}. */
    public boolean awaitExit(Duration timeout) {
        try {
            handle.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !handle.isAlive();
        } catch (Exception e) {
            return !handle.isAlive();
        }
    }

    /** SIGKILL (no shutdown hook, no flush), and wait for it to be gone. */
    public void kill() {
        if (handle.isAlive()) {
            handle.destroyForcibly();
            awaitExit(Duration.ofSeconds(10));
        }
        paused = false;
    }

    /**
     * SIGTERM (a clean shutdown), then SIGKILL if it has not exited within {@code grace}.
     *
     * @return false if it had to be killed; true if it exited on the SIGTERM or was not running
     */
    public boolean stop(Duration grace) {
        if (!handle.isAlive()) {
            return true;
        }
        if (paused) {
            resume(); // a stopped process cannot act on SIGTERM
        }
        handle.destroy();
        if (awaitExit(grace)) {
            return true;
        }
        kill();
        return false;
    }

    /** SIGSTOP: it keeps its sockets but stops answering, like a hung process. */
    public void pause() {
        signal("STOP");
        paused = true;
    }

    /** SIGCONT after {@link #pause()}. */
    public void resume() {
        signal("CONT");
        paused = false;
    }

    /** Sends signal {@code sig} ("HUP", "STOP", …). */
    public void signal(String sig) {
        if (!handle.isAlive()) {
            throw new IllegalStateException(name + " (pid " + handle.pid() + ") is not running");
        }
        try {
            Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(handle.pid())).inheritIO().start();
            if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("kill -" + sig + " " + handle.pid() + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot signal " + name + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Waits until its log matches {@code pattern} and returns the match of
     * the first occurrence; fails with the log's last lines if it exits
     * first or nothing matches within {@code timeout}.
     */
    public Matcher awaitLog(Pattern pattern, Duration timeout) throws InterruptedException {
        if (log == null) {
            throw new IllegalStateException(name + " has no log");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Matcher m = pattern.matcher(readLog());
            if (m.find()) {
                return m;
            }
            if (!handle.isAlive()) {
                throw new IllegalStateException(name + " exited before printing /" + pattern + "/:\n" + tail(30));
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(name + " did not print /" + pattern + "/ within " + timeout + ":\n"
                        + tail(30));
            }
            Thread.sleep(50);
        }
    }

    private String readLog() {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return "";
        }
    }

    /** The last {@code lines} lines of its log (at most its last 64 KiB). */
    public String tail(int lines) {
        return log == null ? "(" + name + " has no log)" : tail(log, lines);
    }

    /** The last {@code lines} lines of a log file (at most its last 64 KiB). */
    public static String tail(Path log, int lines) {
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
            long len = f.length();
            long from = Math.max(0, len - 64 * 1024);
            byte[] buf = new byte[(int) (len - from)];
            f.seek(from);
            f.readFully(buf);
            String[] all = new String(buf, StandardCharsets.UTF_8).split("\n");
            int start = Math.max(0, all.length - lines);
            return String.join("\n", Arrays.copyOfRange(all, start, all.length));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** {@link #stop(Duration)} with 5 seconds' grace. */
    @Override
    public void close() {
        stop(Duration.ofSeconds(5));
    }

    @Override
    public String toString() {
        return name + " (pid " + handle.pid() + ")";
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // a temp file left behind
            }
        }
    }
}
