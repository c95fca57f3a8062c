package io.chariots.launcher.cluster;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.chariots.common.config.RemoteDatacenters;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * One datacenter's place among the others, as its cluster's {@code config.yaml} says it to every role:
 * {@code num_dc}, {@code id} and {@code remote_batchers} (see {@link RemoteDatacenters}).
 *
 * @param id             this datacenter, below {@code numDc}
 * @param numDc          how many datacenters there are
 * @param remoteBatchers every other datacenter's batcher
 */
public record DatacenterConfig(int id, int numDc, List<RemoteBatcher> remoteBatchers) {
    /** The file's name in the cluster's work directory. */
    public static final String FILE = "config.yaml";

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Another datacenter's batcher, in the long form of {@code remote_batchers}.
     *
     * @param datacenter its datacenter
     * @param address    its raw TCP address, host:port
     * @param grpc       its gRPC address, host:port
     * @param secretFile that datacenter's cluster secret; null: the same as this cluster's (or none)
     */
    public record RemoteBatcher(int datacenter, String address, String grpc, Path secretFile) {
    }

    public DatacenterConfig {
        if (id < 0 || id >= numDc) {
            throw new IllegalArgumentException("datacenter " + id + " is not below num_dc = " + numDc);
        }
        remoteBatchers = List.copyOf(remoteBatchers);
    }

    /** The YAML text; JSON-quoted strings, which YAML reads as they are. */
    public String yaml() {
        StringBuilder y = new StringBuilder("# Datacenter ").append(id).append(" of ").append(numDc)
                .append(", written by the cluster harness at every start.\n")
                .append("num_dc: ").append(numDc).append('\n')
                .append("id: ").append(id).append('\n');
        if (remoteBatchers.isEmpty()) {
            return y.toString();
        }
        y.append(RemoteDatacenters.KEY).append(":\n");
        for (RemoteBatcher r : remoteBatchers) {
            y.append("  ").append(r.datacenter()).append(":\n")
                    .append("    address: ").append(quoted(r.address())).append('\n')
                    .append("    grpc: ").append(quoted(r.grpc())).append('\n');
            if (r.secretFile() != null) {
                y.append("    secret_file: ").append(quoted(r.secretFile().toAbsolutePath().toString())).append('\n');
            }
        }
        return y.toString();
    }

    /** Writes {@link #yaml()} to {@code dir}/config.yaml in one step and returns that path. */
    public Path write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve(FILE);
        Path tmp = dir.resolve(FILE + ".tmp");
        Files.writeString(tmp, yaml());
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return file;
    }

    private static String quoted(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
