package io.chariots.launcher;

import io.chariots.launcher.cluster.ClusterStateFile.Instance;
import io.chariots.launcher.cluster.ClusterStateFile.State;
import io.chariots.launcher.cluster.ClusterStateFile.Status;
import io.chariots.launcher.cluster.RoleProcess;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * Commands on one instance of the cluster {@code up} started, named {@code ROLE#N} as {@code ./chariots status}
 * lists it: stop, kill, pause, resume, start, restart. They exist to show faults by hand (a maintainer gone, a
 * hung queue) and to bring the instance back on its ports and data. Each exits 1 with a message when the
 * instance does not exist or is not in a state the command applies to.
 */
final class MemberCommands {
    private MemberCommands() {
    }

    /** Finds the named instance under the run directory's lock and hands it to {@link #act}. */
    abstract static class MemberCommand implements Callable<Integer> {
        @Mixin
        RunDir run;

        @Parameters(paramLabel = "ROLE#N", description = "The instance, as ./chariots status names it: queue#1 is the "
                + "first queue (port 9020), maintainer#2 the second maintainer.")
        String name;

        @Override
        public final Integer call() throws Exception {
            if (!run.recorded()) {
                run.err().println(run.noClusterHere());
                return 1;
            }
            try (Closeable lock = run.lock()) {
                State state = run.state();
                Optional<Instance> instance = state.find(name);
                if (instance.isEmpty()) {
                    run.err().println("No instance " + name + " in the cluster recorded in " + run.dir + "/; it has "
                            + state.processes().stream().map(Instance::name).collect(Collectors.joining(", ")) + ".");
                    return 1;
                }
                return act(state, instance.get(), instance.get().status());
            }
        }

        abstract int act(State state, Instance instance, Status status) throws Exception;

        /** Refuses, saying what the instance is doing instead. */
        int notApplicable(Instance i, Status status, String what) {
            String hint = switch (status) {
                case STOPPED, DEAD -> " (" + run.command("start " + i.name()) + " starts it)";
                case PAUSED -> " (" + run.command("resume " + i.name()) + " resumes it)";
                case RUNNING -> " (pid " + i.pid() + "; " + run.command("restart " + i.name()) + " restarts it)";
            };
            run.err().println(i.name() + " is " + status.label() + hint + ": " + what + ".");
            return 1;
        }

        /**
         * Runs the instance's recorded command line, records its new pid, and waits until it serves.
         *
         * @return 0 once it serves; 1 with its log's last lines if it exits first or does not serve in time
         */
        int startRecorded(State state, Instance i, Duration timeout) throws IOException, InterruptedException {
            if (i.command().isEmpty()) {
                run.err().println("No command line is recorded for " + i.name() + " (an older ./chariots started it): "
                        + run.command("down") + ", then " + run.command("up") + ".");
                return 1;
            }
            long t0 = System.nanoTime();
            RoleProcess p = i.adopt().start();
            run.file().write(state.with(Instance.of(p)));
            try {
                p.awaitServing(timeout);
            } catch (IllegalStateException e) {
                run.err().println(e.getMessage());
                return 1;
            }
            run.out().printf("%s runs (pid %d, port %d) and serves, after %.1f s. Log: %s%n", i.name(), p.pid(), i.port(),
                    (System.nanoTime() - t0) / 1e9, i.log());
            return 0;
        }

        /** SIGTERM, then SIGKILL after {@code grace}; records it as stopped, says which it took, returns the record. */
        State stopRecorded(State state, Instance i, Duration grace) throws IOException {
            long t0 = System.nanoTime();
            boolean clean = i.adopt().stop(grace);
            State stopped = state.with(i.stopped());
            run.file().write(stopped);
            if (clean) {
                run.out().printf("%s (pid %d) exited %.1f s after SIGTERM.%n", i.name(), i.pid(), (System.nanoTime() - t0) / 1e9);
            } else {
                run.err().printf("%s (pid %d) did not exit within %d s of SIGTERM: killed it (SIGKILL).%n", i.name(), i.pid(),
                        grace.toSeconds());
            }
            return stopped;
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true,
            description = "Stop one instance cleanly (SIGTERM; SIGKILL if it has not exited after the grace period).")
    static final class Stop extends MemberCommand {
        @Option(names = "--grace", paramLabel = "SECONDS", defaultValue = "20",
                description = "How long to wait for it to exit before SIGKILL (default ${DEFAULT-VALUE}).")
        int grace;

        @Override
        int act(State state, Instance i, Status status) throws IOException {
            if (!status.alive()) {
                return notApplicable(i, status, "nothing to stop");
            }
            stopRecorded(state, i, Duration.ofSeconds(grace));
            return 0;
        }
    }

    @Command(name = "kill", mixinStandardHelpOptions = true,
            description = "Kill one instance (SIGKILL): a crash. ./chariots status shows it dead until it is started again.")
    static final class Kill extends MemberCommand {
        @Override
        int act(State state, Instance i, Status status) {
            if (!status.alive()) {
                return notApplicable(i, status, "nothing to kill");
            }
            i.adopt().kill();
            // The pid stays recorded, so that status tells this crash from a stop.
            run.out().println(i.name() + " (pid " + i.pid() + ") killed with SIGKILL. " + run.command("restart " + i.name())
                    + " brings it back.");
            return 0;
        }
    }

    @Command(name = "pause", mixinStandardHelpOptions = true,
            description = "Pause one instance (SIGSTOP): it keeps its sockets but answers nothing, like a hung JVM.")
    static final class Pause extends MemberCommand {
        @Override
        int act(State state, Instance i, Status status) {
            if (status != Status.RUNNING) {
                return notApplicable(i, status, "only a running instance can be paused");
            }
            i.adopt().pause();
            run.out().println(i.name() + " (pid " + i.pid() + ") paused (SIGSTOP). " + run.command("resume " + i.name())
                    + " lets it go on.");
            return 0;
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true, description = "Resume a paused instance (SIGCONT).")
    static final class Resume extends MemberCommand {
        @Override
        int act(State state, Instance i, Status status) {
            if (status != Status.PAUSED) {
                return notApplicable(i, status, "only a paused instance can be resumed");
            }
            i.adopt().resume();
            run.out().println(i.name() + " (pid " + i.pid() + ") resumed (SIGCONT).");
            return 0;
        }
    }

    @Command(name = "start", mixinStandardHelpOptions = true,
            description = "Start a stopped or dead instance with its recorded command line (same ports, same data "
                    + "directory, appending to its log), and wait until it serves.")
    static final class Start extends MemberCommand {
        @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "60",
                description = "How long to wait for its /health to answer 200 (default ${DEFAULT-VALUE}).")
        int timeout;

        @Override
        int act(State state, Instance i, Status status) throws IOException, InterruptedException {
            if (status.alive()) {
                return notApplicable(i, status, "it already runs");
            }
            return startRecorded(state, i, Duration.ofSeconds(timeout));
        }
    }

    @Command(name = "restart", mixinStandardHelpOptions = true,
            description = "Stop one instance if it runs (SIGTERM), then start it again with its recorded command line "
                    + "(same ports, same data directory, appending to its log), and wait until it serves.")
    static final class Restart extends MemberCommand {
        @Option(names = "--grace", paramLabel = "SECONDS", defaultValue = "20",
                description = "How long to wait for it to exit before SIGKILL (default ${DEFAULT-VALUE}).")
        int grace;
        @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "60",
                description = "How long to wait for its /health to answer 200 (default ${DEFAULT-VALUE}).")
        int timeout;

        @Override
        int act(State state, Instance i, Status status) throws IOException, InterruptedException {
            State s = status.alive() ? stopRecorded(state, i, Duration.ofSeconds(grace)) : state;
            return startRecorded(s, i.stopped(), Duration.ofSeconds(timeout));
        }
    }
}
