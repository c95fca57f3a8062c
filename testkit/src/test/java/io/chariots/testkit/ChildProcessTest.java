package io.chariots.testkit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ChildProcessTest {
    @TempDir
    Path dir;

    /** A child JVM's main: says it is ready, then waits to be ended. */
    public static final class Sleeper {
        public static void main(String[] args) throws InterruptedException {
            System.out.println("sleeper " + String.join(",", args) + " ready in pid " + ProcessHandle.current().pid());
            System.out.flush();
            Thread.sleep(60_000);
        }
    }

    private ChildProcess startSleeper(String arg) {
        return ChildProcess.java(List.of("-Xmx32m", "-XX:TieredStopAtLevel=1", "-Xshare:auto"),
                Sleeper.class.getName(), List.of(arg)).log(dir.resolve("sleeper.log")).name("sleeper").killOnExit()
                .start();
    }

    private ChildProcess startSh(String script, Path log) {
        return ChildProcess.command(List.of("/bin/sh", "-c", script)).log(log).killOnExit().start();
    }

    /** Field 3 of /proc/PID/stat: R, S, T (stopped), Z (zombie), ...; empty if the process is gone. */
    private static Optional<Character> state(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String afterName = stat.substring(stat.lastIndexOf(')') + 1).trim();
            return Optional.of(afterName.charAt(0));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    /** Polls until the process's state is (or is not) {@code expected}; returns the last state seen. */
    private static Optional<Character> awaitState(long pid, char expected, boolean is) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        Optional<Character> s = state(pid);
        while (System.nanoTime() < deadline && s.map(c -> c == expected).orElse(false) != is) {
            Thread.sleep(20);
            s = state(pid);
        }
        return s;
    }

    /** Gone, or a zombie nobody reaped yet (an orphan under a PID 1 that does not reap). */
    private static boolean ended(long pid) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            Optional<Character> s = state(pid);
            if (s.isEmpty() || s.get() == 'Z' || s.get() == 'X') {
                return true;
            }
            Thread.sleep(20);
        }
        return false;
    }

    @Test
    void aChildJvmRunsTheGivenMainAndItsLineIsFoundInTheLog() throws Exception {
        ChildProcess child = startSleeper("alpha");
        try {
            Matcher m = child.awaitLog(Pattern.compile("sleeper (\\w+) ready in pid (\\d+)"), Duration.ofSeconds(8));
            assertThat(m.group(1)).isEqualTo("alpha");
            assertThat(Long.parseLong(m.group(2))).isEqualTo(child.pid());
            assertThat(child.alive()).isTrue();
            assertThat(child.name()).isEqualTo("sleeper");
            assertThat(child.log()).contains(dir.resolve("sleeper.log"));
            assertThat(child.command()).contains(Sleeper.class.getName(), "alpha");
            assertThat(child.tail(5)).contains("sleeper alpha ready");

            child.kill();
            assertThat(child.alive()).isFalse();
            assertThat(child.exitValue()).isEqualTo(137);
            assertThat(state(child.pid())).isEmpty();
        } finally {
            child.kill();
        }
    }

    @Test
    void aPausedChildIsStoppedUntilResumedAndStopEndsItEvenWhilePaused() throws Exception {
        ChildProcess child = startSleeper("beta");
        try {
            child.awaitLog(Pattern.compile("sleeper beta ready"), Duration.ofSeconds(8));

            child.pause();
            assertThat(child.paused()).isTrue();
            assertThat(awaitState(child.pid(), 'T', true)).contains('T');
            assertThat(child.alive()).isTrue();

            child.resume();
            assertThat(child.paused()).isFalse();
            assertThat(awaitState(child.pid(), 'T', false)).isPresent().get().isNotEqualTo('T');

            child.pause();
            assertThat(awaitState(child.pid(), 'T', true)).contains('T');
            assertThat(child.stop(Duration.ofSeconds(5))).as("exited on the SIGTERM").isTrue();
            assertThat(child.alive()).isFalse();
            assertThat(child.paused()).isFalse();
            // Ended by the SIGTERM (128 + 15), not by the SIGKILL after the grace period.
            assertThat(child.exitValue()).isEqualTo(143);
        } finally {
            child.kill();
        }
    }

    @Test
    void stopSendsTermAndKillsWhatIgnoresItAfterTheGracePeriod() throws Exception {
        Path log = dir.resolve("stubborn.log");
        ChildProcess child = startSh("trap 'echo got TERM' TERM; echo trapped; while :; do sleep 0.05; done", log);
        try {
            child.awaitLog(Pattern.compile("trapped"), Duration.ofSeconds(5));
            long start = System.nanoTime();
            assertThat(child.stop(Duration.ofMillis(500))).as("had to be killed").isFalse();
            assertThat(child.alive()).isFalse();
            assertThat(child.exitValue()).isEqualTo(137);
            assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(400_000_000L);
            assertThat(child.tail(5)).contains("got TERM");
        } finally {
            child.kill();
        }
    }

    @Test
    void awaitLogFailsWithTheLogTailWhenTheProcessExitsWithoutPrintingTheLine() throws Exception {
        Path log = dir.resolve("quitter.log");
        ChildProcess child = startSh("for i in 1 2 3 4 5; do echo line$i; done; echo 'giving up' >&2; exit 3", log);
        try {
            assertThatThrownBy(() -> child.awaitLog(Pattern.compile("ready"), Duration.ofSeconds(8)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("exited before printing /ready/")
                    .hasMessageContaining("line5")
                    .hasMessageContaining("giving up");
            assertThat(child.awaitExit(Duration.ofSeconds(5))).isTrue();
            assertThat(child.exitValue()).isEqualTo(3);
        } finally {
            child.kill();
        }
    }

    @Test
    void awaitLogFailsWhenARunningProcessDoesNotPrintTheLineInTime() throws Exception {
        ChildProcess child = startSh("echo hello; exec sleep 30", dir.resolve("quiet.log"));
        try {
            long start = System.nanoTime();
            assertThatThrownBy(() -> child.awaitLog(Pattern.compile("ready"), Duration.ofMillis(300)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("did not print /ready/")
                    .hasMessageContaining("hello");
            assertThat(System.nanoTime() - start).isLessThan(5_000_000_000L);
            assertThat(child.alive()).isTrue();
        } finally {
            child.kill();
        }
        assertThat(child.alive()).isFalse();
    }

    @Test
    void runReturnsTheExitCodeAndBothOutputsSeparately() throws Exception {
        ChildProcess.Finished f = ChildProcess.command(List.of("/bin/sh", "-c", "echo out1; echo err1 >&2; echo out2; exit 3"))
                .run(Duration.ofSeconds(5));
        assertThat(f.exit()).isEqualTo(3);
        assertThat(f.out()).isEqualTo("out1\nout2\n");
        assertThat(f.err()).isEqualTo("err1\n");
        assertThat(f.command()).containsExactly("/bin/sh", "-c", "echo out1; echo err1 >&2; echo out2; exit 3");
        assertThat(f.describe()).contains("exited 3", "out2", "err1");

        assertThat(ChildProcess.command(List.of("true")).run(Duration.ofSeconds(5)).exit()).isZero();
    }

    @Test
    void aCommandPastItsTimeoutIsKilledWithItsChildrenAndReported() throws Exception {
        Path pids = dir.resolve("pids");
        String script = "echo $$ > " + pids + "; sleep 30 & echo $! >> " + pids + "; echo started; wait";
        long start = System.nanoTime();
        assertThatThrownBy(() -> ChildProcess.command(List.of("/bin/sh", "-c", script)).run(Duration.ofSeconds(1)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("did not finish within PT1S")
                .hasMessageContaining("started");
        assertThat(System.nanoTime() - start).isLessThan(8_000_000_000L);
        List<String> started = Files.readAllLines(pids);
        assertThat(started).hasSize(2);
        for (String pid : started) {
            assertThat(ended(Long.parseLong(pid.trim()))).as("pid %s ended", pid).isTrue();
        }
    }

    @Test
    void envAddsReplacesAndUnsetsVariables() throws Exception {
        Map.Entry<String, String> inherited = System.getenv().entrySet().stream()
                .filter(e -> e.getKey().matches("[A-Za-z_][A-Za-z0-9_]*") && !e.getValue().isEmpty()
                        && !List.of("PATH", "PWD", "OLDPWD", "SHLVL", "IFS", "PS1", "PS2", "PS4", "OPTIND")
                                .contains(e.getKey()))
                .findFirst().orElseThrow(() -> new AssertionError("no environment variable to inherit"));
        String k = inherited.getKey();
        String script = "echo \"X=${X-unset} Y=${Y-unset} Z=${Z-unset} K=${" + k + "-unset}\"";

        ChildProcess.Finished plain = ChildProcess.command(List.of("/bin/sh", "-c", script)).run(Duration.ofSeconds(5));
        assertThat(plain.out().trim()).isEqualTo("X=unset Y=unset Z=unset K=" + inherited.getValue());

        ChildProcess.Finished f = ChildProcess.command(List.of("/bin/sh", "-c", script))
                .env("X", "hello world")
                .env("Y", "gone").unsetEnv("Y") // unset after set: unset
                .unsetEnv("Z").env(Map.of("Z", "back")) // set after unset: set
                .unsetEnv(k) // an inherited variable
                .run(Duration.ofSeconds(5));
        assertThat(f.out().trim()).isEqualTo("X=hello world Y=unset Z=back K=unset");

        ChildProcess.Finished replaced = ChildProcess.command(List.of("/bin/sh", "-c", script)).env(k, "mine")
                .run(Duration.ofSeconds(5));
        assertThat(replaced.out().trim()).endsWith("K=mine");
    }

    @Test
    void envAndDirectoryReachAStartedProcessToo() throws Exception {
        Path log = dir.resolve("env.log");
        Path work = Files.createDirectories(dir.resolve("work"));
        ChildProcess child = ChildProcess.command(List.of("/bin/sh", "-c", "echo \"X=$X in $(pwd)\""))
                .env("X", "42").directory(work).log(log).start();
        try {
            assertThat(child.awaitExit(Duration.ofSeconds(5))).isTrue();
            assertThat(Files.readString(log).trim()).isEqualTo("X=42 in " + work.toRealPath());
            assertThat(child.name()).isEqualTo("sh");
        } finally {
            child.kill();
        }
    }

    @Test
    void tailReturnsTheLastLinesOfTheLogWhichARestartAppendsTo() throws Exception {
        Path log = dir.resolve("lines.log");
        ChildProcess first = startSh("for i in 1 2 3 4 5 6 7 8 9 10; do echo line$i; done", log);
        try {
            assertThat(first.awaitExit(Duration.ofSeconds(5))).isTrue();
            assertThat(first.tail(3)).isEqualTo("line8\nline9\nline10");
            assertThat(first.tail(1)).isEqualTo("line10");
            assertThat(first.tail(100).split("\n")).hasSize(10).startsWith("line1");
        } finally {
            first.kill();
        }
        ChildProcess second = startSh("echo again", log);
        try {
            assertThat(second.awaitExit(Duration.ofSeconds(5))).isTrue();
            assertThat(second.tail(2)).isEqualTo("line10\nagain");
            assertThat(ChildProcess.tail(log, 2)).isEqualTo("line10\nagain");
        } finally {
            second.kill();
        }
    }

    @Test
    void withoutALogTailSaysSoAndAwaitLogRefuses() throws Exception {
        ChildProcess child = ChildProcess.command(List.of("sleep", "30")).start();
        try {
            assertThat(child.log()).isEmpty();
            assertThat(child.tail(5)).contains("has no log");
            assertThatThrownBy(() -> child.awaitLog(Pattern.compile("x"), Duration.ofSeconds(1)))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("has no log");
        } finally {
            child.kill();
        }
        assertThat(child.alive()).isFalse();
    }

    @Test
    void signallingAnEndedProcessFails() throws Exception {
        ChildProcess child = ChildProcess.command(List.of("true")).start();
        assertThat(child.awaitExit(Duration.ofSeconds(5))).isTrue();
        assertThat(child.exitValue()).isZero();
        assertThatThrownBy(() -> child.signal("HUP")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("is not running");
        assertThat(child.stop(Duration.ofSeconds(1))).isTrue(); // nothing to stop: returns
        child.kill();
    }

    @Test
    void anAdoptedProcessCanBeEndedButHasNoKnownExitCode() throws Exception {
        ChildProcess started = ChildProcess.command(List.of("sleep", "30")).killOnExit().start();
        try {
            ChildProcess adopted = ChildProcess.adopt("adopted", started.handle(), null);
            assertThat(adopted.pid()).isEqualTo(started.pid());
            assertThat(adopted.alive()).isTrue();
            adopted.kill();
            assertThat(adopted.alive()).isFalse();
            assertThatThrownBy(adopted::exitValue).isInstanceOf(IllegalStateException.class);
            assertThat(started.exitValue()).isEqualTo(137);
        } finally {
            started.kill();
        }
    }

    @Test
    void anAdoptedProcessThatIsPausedKnowsItCanBeResumedAndStopsCleanly() throws Exception {
        ChildProcess started = startSleeper("gamma");
        try {
            started.awaitLog(Pattern.compile("sleeper gamma ready"), Duration.ofSeconds(8));
            assertThat(ChildProcess.adopt("running", started.handle(), null).paused()).isFalse();

            started.pause();
            assertThat(awaitState(started.pid(), 'T', true)).contains('T');
            ChildProcess adopted = ChildProcess.adopt("paused", started.handle(), null);
            assertThat(adopted.paused()).as("seen stopped in /proc").isTrue();
            adopted.resume();
            assertThat(awaitState(started.pid(), 'T', false)).isPresent().get().isNotEqualTo('T');

            started.pause();
            assertThat(awaitState(started.pid(), 'T', true)).contains('T');
            // A fresh adoption of the paused process resumes it before its SIGTERM, so it exits on that.
            assertThat(ChildProcess.adopt("paused again", started.handle(), null).stop(Duration.ofSeconds(5))).isTrue();
            assertThat(started.exitValue()).isEqualTo(143);
        } finally {
            started.kill();
        }
    }

    @Test
    void anEmptyCommandIsRefused() {
        assertThatThrownBy(() -> ChildProcess.command(List.of())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theJavaCommandLineIsJavaOptionsClasspathMainArgs() {
        assertThat(ChildProcess.javaCommand("/j/bin/java", List.of("-Xmx1g", "-Da=b"), "/x.jar:/y", "a.b.Main",
                List.of("one", "two"))).containsExactly("/j/bin/java", "-Xmx1g", "-Da=b", "-cp", "/x.jar:/y", "a.b.Main",
                "one", "two");
        assertThat(Path.of(ChildProcess.javaBinary())).isExecutable();
    }

    @Test
    void onPathFindsInstalledProgramsAndRequireNamesThePackageOfMissingOnes() {
        assertThat(ChildProcess.onPath("sh")).isTrue();
        assertThat(ChildProcess.onPath("/bin/sh")).isTrue();
        assertThat(ChildProcess.onPath("no-such-program-4f1c9a")).isFalse();
        assertThat(ChildProcess.onPath("/nonexistent/sh")).isFalse();
        ChildProcess.require("sh", "dash");
        assertThatThrownBy(() -> ChildProcess.require("no-such-program-4f1c9a", "some-package"))
                .isInstanceOf(AssertionError.class).hasMessageContaining("apt-get install -y some-package");
    }
}
