package io.chariots.common.net;

import io.chariots.common.config.ConfigException;
import io.chariots.common.config.Settings;
import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;

import javax.net.ssl.SSLException;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * TLS for one role, from three PEM files: {@code tls.cert_file} (this
 * member's certificate chain), {@code tls.key_file} (its PKCS#8 private key)
 * and {@code tls.ca_file} (the certificate authority every member's
 * certificate is signed by). With them, every gRPC link between roles is
 * mutual TLS: each side proves its certificate and accepts only one the CA
 * signed, under the name {@code tls.authority} (default
 * {@value #DEFAULT_AUTHORITY}: a member's address changes, its name does
 * not). With {@code tls.edges} (default true) the client-facing ports — the
 * app's and controller's HTTP, the batcher's raw TCP — serve TLS too (server
 * certificate only; clients trust the CA). Without the files, everything is
 * plaintext. Immutable; the contexts are made once, at start.
 */
public final class ClusterTls {
    public static final String CERT_KEY = "tls.cert_file";
    public static final String KEY_KEY = "tls.key_file";
    public static final String CA_KEY = "tls.ca_file";
    public static final String DEFAULT_AUTHORITY = "chariots";

    private final String authority;
    private final boolean edges;
    private final SslContext grpcServer;
    private final SslContext grpcClient;
    private final SslContext edgeServer;

    private ClusterTls(File cert, File key, File ca, String authority, boolean edges) throws SSLException {
        this.authority = authority;
        this.edges = edges;
        this.grpcServer = GrpcSslContexts.configure(SslContextBuilder.forServer(cert, key))
                .trustManager(ca).clientAuth(ClientAuth.REQUIRE).build();
        this.grpcClient = GrpcSslContexts.forClient().keyManager(cert, key).trustManager(ca).build();
        this.edgeServer = SslContextBuilder.forServer(cert, key).build();
    }

    /**
     * The TLS {@code s} configures, or null for plaintext.
     *
     * @throws ConfigException when only some of the files are set, one cannot be read, or they do not make a
     *                         TLS context (naming the file and what is wrong)
     */
    public static ClusterTls from(Settings s) {
        String cert = s.getString(CERT_KEY, "").strip();
        String key = s.getString(KEY_KEY, "").strip();
        String ca = s.getString(CA_KEY, "").strip();
        if (cert.isEmpty() && key.isEmpty() && ca.isEmpty()) {
            return null;
        }
        for (String[] k : new String[][] {{CERT_KEY, cert}, {KEY_KEY, key}, {CA_KEY, ca}}) {
            if (k[1].isEmpty()) {
                throw new ConfigException("TLS needs " + CERT_KEY + ", " + KEY_KEY + " and " + CA_KEY + "; " + k[0]
                        + " is not set (./chariots certs makes all three)");
            }
            if (!Files.isReadable(Path.of(k[1]))) {
                throw new ConfigException("cannot read " + k[0] + " = " + k[1] + " (from " + s.sourceOf(k[0]) + ")");
            }
        }
        try {
            return new ClusterTls(new File(cert), new File(key), new File(ca), s.getString("tls.authority", DEFAULT_AUTHORITY),
                    s.getBoolean("tls.edges", true));
        } catch (SSLException | IllegalArgumentException e) {
            throw new ConfigException("the TLS files " + cert + ", " + key + " and " + ca + " do not make a TLS context: " + e.getMessage()
                    + " (PEM certificate chain, PKCS#8 PEM key, PEM CA)");
        }
    }

    /** The name every member's certificate must carry, which peers check. */
    public String authority() {
        return authority;
    }

    /** For the gRPC server: its certificate, and a client certificate the CA signed required. */
    public SslContext grpcServer() {
        return grpcServer;
    }

    /** For gRPC channels to peers: this member's certificate, and only servers the CA signed trusted. */
    public SslContext grpcClient() {
        return grpcClient;
    }

    /** For the client-facing HTTP and raw TCP ports, or null when {@code tls.edges} is false. */
    public SslContext edgeServer() {
        return edges ? edgeServer : null;
    }
}
