package io.chariots.common.config;

import io.chariots.common.auth.ClusterSecret;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The other datacenters this one replicates to, from {@code remote_batchers}
 * in config.yaml (GoChariots' {@code remoteBatchers}), validated once at
 * start. Each entry is one datacenter's batchers (a load balancer in front of
 * them, or one batcher), in the short form or the long one:
 *
 * <pre>
 * num_dc: 3
 * id: 0
 * remote_batchers:
 *   1: "dc1-lb:9000"              # raw TCP address; gRPC on port + 1000
 *   2:
 *     address: "dc2-lb:9000"
 *     grpc: "dc2-lb:10000"        # default: the address's port + 1000
 *     secret_file: "/run/secrets/dc2_cluster_secret"   # or secret: …; default: this cluster's
 * </pre>
 *
 * A link proves the receiving datacenter's cluster secret (its own
 * credentials), so that datacenter takes records only from clusters that
 * know it. Datacenters registered at run time ({@code POST
 * /remote/batcher?dc=N&host=h:p[&grpc=h:p]}) use {@link #secretOf} too: the
 * configured secret of that datacenter, else this cluster's.
 */
public final class RemoteDatacenters {
    /** The config key. */
    public static final String KEY = "remote_batchers";
    /** The default distance from a batcher's raw TCP port to its gRPC port. */
    public static final int GRPC_PORT_OFFSET = 1000;

    /** One remote datacenter: where its batchers are, and the secret its cluster proves (null: this cluster's). */
    public record Remote(int datacenter, HostPort address, HostPort grpc, ClusterSecret secret) {
        @Override
        public String toString() {
            return "datacenter " + datacenter + " at " + address + " (gRPC " + grpc + ")";
        }
    }

    private final Map<Integer, Remote> byDatacenter;

    private RemoteDatacenters(Map<Integer, Remote> byDatacenter) {
        this.byDatacenter = Collections.unmodifiableMap(byDatacenter);
    }

    public static RemoteDatacenters none() {
        return new RemoteDatacenters(new TreeMap<>());
    }

    /**
     * The remote datacenters {@code s} names, checked against this
     * datacenter's {@code id} and {@code num_dc}.
     *
     * @throws ConfigException naming the key: a datacenter that is not a number
     *                         below num_dc, this datacenter itself, a missing or
     *                         malformed address, an unreadable or short secret
     */
    public static RemoteDatacenters from(Settings s, int self, int numDc) {
        Map<Integer, Remote> out = new TreeMap<>();
        String prefix = KEY + ".";
        for (String key : s.keys()) {
            if (!key.startsWith(prefix)) {
                if (key.equals(KEY) && !s.getString(KEY, "").isBlank() && !s.getString(KEY, "").equals("{}")) {
                    throw new ConfigException(KEY + " (from " + s.sourceOf(KEY) + ") must be a map of datacenter id to "
                            + "address, e.g. {1: \"dc1-lb:9000\"}");
                }
                continue;
            }
            String rest = key.substring(prefix.length());
            String dcText = rest.contains(".") ? rest.substring(0, rest.indexOf('.')) : rest;
            int dc;
            try {
                dc = Integer.parseInt(dcText);
            } catch (NumberFormatException e) {
                throw new ConfigException(key + " (from " + s.sourceOf(key) + "): \"" + dcText + "\" is not a datacenter id");
            }
            if (dc < 0 || dc >= numDc) {
                throw new ConfigException(key + " (from " + s.sourceOf(key) + "): datacenter " + dc
                        + " does not exist (num_dc = " + numDc + ")");
            }
            if (dc == self) {
                throw new ConfigException(key + " (from " + s.sourceOf(key) + "): datacenter " + dc
                        + " is this one (id = " + self + "); list only the others");
            }
            out.computeIfAbsent(dc, d -> parse(s, d));
        }
        return new RemoteDatacenters(out);
    }

    private static Remote parse(Settings s, int dc) {
        String base = KEY + "." + dc;
        String addressKey = s.has(base) ? base : base + ".address";
        if (!s.has(addressKey)) {
            throw new ConfigException(base + " needs an address (host:port of that datacenter's batchers), e.g. "
                    + base + ": \"dc" + dc + "-lb:9000\"");
        }
        HostPort address = HostPort.parse(s.getString(addressKey, ""), addressKey, s.sourceOf(addressKey));
        HostPort grpc = s.has(base + ".grpc")
                ? HostPort.parse(s.getString(base + ".grpc", ""), base + ".grpc", s.sourceOf(base + ".grpc"))
                : defaultGrpc(address, base);
        ClusterSecret secret = null;
        if (s.has(base + ".secret") && s.has(base + ".secret_file")) {
            throw new ConfigException("set " + base + ".secret or " + base + ".secret_file, not both");
        }
        if (s.has(base + ".secret")) {
            secret = ClusterSecret.of(s.getString(base + ".secret", ""), base + ".secret (from " + s.sourceOf(base + ".secret") + ")");
        } else if (s.has(base + ".secret_file")) {
            Path p = Path.of(s.getString(base + ".secret_file", "").trim());
            try {
                secret = ClusterSecret.of(Files.readString(p, StandardCharsets.UTF_8),
                        "the file " + p + " (" + base + ".secret_file from " + s.sourceOf(base + ".secret_file") + ")");
            } catch (IOException e) {
                throw new ConfigException("cannot read datacenter " + dc + "'s cluster secret from " + p + " ("
                        + base + ".secret_file from " + s.sourceOf(base + ".secret_file") + "): " + e);
            }
        }
        for (String k : s.keys()) {
            if (k.startsWith(base + ".") && !k.equals(base + ".address") && !k.equals(base + ".grpc")
                    && !k.equals(base + ".secret") && !k.equals(base + ".secret_file")) {
                throw new ConfigException(k + " (from " + s.sourceOf(k) + ") is not a setting of a remote datacenter "
                        + "(address, grpc, secret, secret_file)");
            }
        }
        return new Remote(dc, address, grpc, secret);
    }

    /** A batcher's gRPC address when only its raw TCP one is given: the same host, port + 1000. */
    public static HostPort defaultGrpc(HostPort address, String what) {
        int port = address.port() + GRPC_PORT_OFFSET;
        if (port > 65535) {
            throw new ConfigException(what + ": the gRPC port would be " + port + "; give it (grpc: host:port)");
        }
        return new HostPort(address.host(), port);
    }

    public Map<Integer, Remote> all() {
        return byDatacenter;
    }

    public Remote get(int datacenter) {
        return byDatacenter.get(datacenter);
    }

    /** The secret a link to {@code datacenter} proves: the one configured for it, else {@code own} (null: none). */
    public ClusterSecret secretOf(int datacenter, ClusterSecret own) {
        Remote r = byDatacenter.get(datacenter);
        return r != null && r.secret() != null ? r.secret() : own;
    }

    public boolean isEmpty() {
        return byDatacenter.isEmpty();
    }

    @Override
    public String toString() {
        return byDatacenter.values().toString();
    }
}
