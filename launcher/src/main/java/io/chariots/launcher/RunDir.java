package io.chariots.launcher;

import io.chariots.launcher.cluster.ClusterStateFile;
import io.chariots.launcher.cluster.ClusterStateFile.State;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.Closeable;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The {@code --dir} option of every local-cluster command, and what they share through it: the run
 * directory's cluster record and lock, and the command's output (picocli's writers, which a test captures).
 */
final class RunDir {
    @Option(names = "--dir", paramLabel = "DIR", defaultValue = "run",
            description = "Where up keeps logs, data and the cluster record (default: ${DEFAULT-VALUE}).")
    Path dir;

    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    /** How a hint writes command {@code rest} for this run directory: {@code ./chariots rest [--dir DIR]}. */
    String command(String rest) {
        return "./chariots " + rest + (dir.equals(Path.of("run")) ? "" : " --dir " + dir);
    }

    ClusterStateFile file() {
        return ClusterStateFile.in(dir);
    }

    /** Whether {@code up} recorded a cluster here: checked before {@link #lock()}, which creates the directory. */
    boolean recorded() {
        return Files.exists(file().path());
    }

    /** The recorded cluster, read under the lock after {@link #recorded()} said there is one. */
    State state() throws IOException {
        return file().read().orElseThrow(() -> new IOException(file().path() + " was moved away meanwhile (up --fresh?)"));
    }

    /** Takes the run directory's lock, saying so when it has to wait for another command. */
    Closeable lock() throws IOException {
        Optional<Closeable> now = file().tryLock();
        if (now.isPresent()) {
            return now.get();
        }
        err().println("Waiting for another ./chariots command working on " + dir + "/ ...");
        return file().lock();
    }

    PrintWriter out() {
        return command.commandLine().getOut();
    }

    PrintWriter err() {
        return command.commandLine().getErr();
    }
}
