package io.chariots.launcher;

import io.chariots.launcher.cluster.ClusterStateFile;
import io.chariots.launcher.cluster.ClusterStateFile.State;
import io.chariots.launcher.cluster.MultiDatacenter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.Closeable;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

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

    /** Datacenter {@code d}'s run directory ({@code DIR/dcD}) of {@code up --dcs}, for this same command. */
    RunDir datacenter(int d) {
        RunDir sub = new RunDir();
        sub.dir = MultiDatacenter.dir(dir, d);
        sub.command = command;
        return sub;
    }

    /** The datacenters {@code up --dcs} recorded here, in datacenter order; empty for none. */
    List<RunDir> datacenters() throws IOException {
        List<RunDir> out = new ArrayList<>();
        for (int d = 0; d < MultiDatacenter.recorded(dir).size(); d++) {
            out.add(datacenter(d));
        }
        return out;
    }

    /**
     * The run directory of several datacenters this one is datacenter {@link #datacenterId} of ({@code DIR} for
     * {@code DIR/dcD}, when {@code DIR} records it), or null for a run directory of its own.
     */
    RunDir whole() throws IOException {
        int d = datacenterId();
        Path parent = dir.getParent() != null ? dir.getParent() : dir.toAbsolutePath().getParent();
        if (d < 0 || parent == null || MultiDatacenter.recorded(parent).size() <= d) {
            return null;
        }
        RunDir whole = new RunDir();
        whole.dir = parent;
        whole.command = command;
        return whole;
    }

    /** Which datacenter this directory is ({@code DIR/dcD}), or -1 for a run directory of its own. */
    int datacenterId() {
        return MultiDatacenter.datacenterOf(dir);
    }

    /**
     * Why a command on one cluster finds none here, and where to look instead: with datacenters recorded here,
     * their directories.
     */
    String noClusterHere() throws IOException {
        List<RunDir> dcs = datacenters();
        if (dcs.isEmpty()) {
            return "No cluster recorded in " + file().path() + ": start one with " + command("up") + ".";
        }
        return dir + "/ holds " + dcs.size() + " datacenters, each its own cluster: name one with --dir "
                + dcs.stream().map(r -> r.dir.toString()).collect(Collectors.joining(", ")) + " (e.g. "
                + dcs.get(0).command("status") + ").";
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
