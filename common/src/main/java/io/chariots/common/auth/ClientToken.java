package io.chariots.common.auth;

import io.chariots.common.config.ConfigException;
import io.chariots.common.config.Settings;
import io.chariots.common.http.HttpHandler;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/**
 * The tokens clients must show to append and read, when the operator asks for
 * them: {@code client_token} (one) or {@code client_token_file} (one per line,
 * so a new token can be added before the old one is removed). Without either,
 * appends and reads are open to anyone who reaches the ports (the default).
 * Clients send {@code Authorization: Bearer TOKEN} over HTTP and gRPC, and an
 * {@code 'A'} frame {@code {"acks":0,"token":"TOKEN"}} (or {@code "acks":1})
 * first on a raw TCP connection. Refusals are counted
 * ({@code chariots_client_token_refused_total{edge,reason}}) and logged with
 * the peer. Thread-safe.
 */
public final class ClientToken {
    public static final String KEY = "client_token";
    public static final String FILE_KEY = "client_token_file";
    public static final int MIN_LENGTH = 16;
    private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final String HINT = "this cluster serves appends and reads only with a client token"
            + " (HTTP and gRPC: Authorization: Bearer TOKEN; raw TCP: first an 'A' frame {\"acks\":0,\"token\":\"TOKEN\"})";

    private final List<byte[]> tokens;
    private final Refusals refusals;

    private ClientToken(List<byte[]> tokens, MeterRegistry registry) {
        this.tokens = tokens;
        this.refusals = new Refusals("chariots_client_token_refused",
                "Appends and reads refused for want of a valid client token", registry);
    }

    /**
     * The tokens {@code s} configures, or null when clients need none.
     *
     * @throws ConfigException when both keys are set, the file cannot be read or holds none, or a token is shorter
     *                         than {@value #MIN_LENGTH} characters
     */
    public static ClientToken from(Settings s, MeterRegistry registry) {
        boolean inline = !s.getString(KEY, "").isBlank();
        boolean file = !s.getString(FILE_KEY, "").isBlank();
        if (inline && file) {
            throw new ConfigException("set " + KEY + " or " + FILE_KEY + ", not both");
        }
        List<String> texts = new ArrayList<>();
        String where;
        if (inline) {
            texts.add(s.getString(KEY, "").strip());
            where = KEY + " (from " + s.sourceOf(KEY) + ")";
        } else if (file) {
            Path p = Path.of(s.getString(FILE_KEY, "").strip());
            where = "the file " + p + " (" + FILE_KEY + ")";
            try {
                for (String line : Files.readAllLines(p, StandardCharsets.UTF_8)) {
                    if (!line.isBlank() && !line.strip().startsWith("#")) {
                        texts.add(line.strip());
                    }
                }
            } catch (IOException e) {
                throw new ConfigException("cannot read the client tokens from " + where + ": " + e);
            }
            if (texts.isEmpty()) {
                throw new ConfigException(where + " holds no token (one per line)");
            }
        } else {
            return null;
        }
        List<byte[]> tokens = new ArrayList<>();
        for (String t : texts) {
            if (t.length() < MIN_LENGTH || t.chars().anyMatch(c -> c <= ' ' || c > '~')) {
                throw new ConfigException("a client token in " + where + " must be at least " + MIN_LENGTH
                        + " printable characters without spaces (./chariots secret prints a good one)");
            }
            tokens.add(t.getBytes(StandardCharsets.US_ASCII));
        }
        return new ClientToken(tokens, registry);
    }

    /** Null when {@code token} is one of the tokens; else why not ("missing" or "wrong"). */
    public String problem(String token) {
        if (token == null || token.isBlank()) {
            return "missing";
        }
        byte[] t = token.strip().getBytes(StandardCharsets.US_ASCII);
        boolean ok = false;
        for (byte[] candidate : tokens) {
            ok |= MessageDigest.isEqual(candidate, t); // no early exit: constant time in which one matched
        }
        return ok ? null : "wrong";
    }

    /** Counts and logs a refusal on {@code edge} ("http", "grpc" or "tcp"). */
    public void refused(String edge, String reason, String what, Object peer) {
        refusals.refused(edge, reason, reason.equals("missing") ? "no client token" : "a wrong client token", what, peer);
    }

    /** Refusals so far on {@code edge} for {@code reason}. */
    public long refusals(String edge, String reason) {
        return refusals.count(edge, reason);
    }

    /** {@code handler}, answered only with {@code Authorization: Bearer TOKEN}; else 401 naming the header. */
    public HttpHandler protect(HttpHandler handler) {
        return ex -> {
            String problem = problem(bearer(ex.header("Authorization")));
            if (problem == null) {
                handler.handle(ex);
                return;
            }
            refused("http", problem, ex.method() + " " + ex.path(), ex.remoteAddress());
            ex.error(HttpResponseStatus.UNAUTHORIZED, "refused: " + (problem.equals("missing") ? "no client token" : "a wrong client token")
                    + "; " + HINT, "WWW-Authenticate", "Bearer realm=\"chariots\"");
        };
    }

    /** Refuses, with UNAUTHENTICATED, calls to {@code service} without {@code authorization: Bearer TOKEN}. */
    public ServerInterceptor grpc(String service) {
        return new ServerInterceptor() {
            @Override
            public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
                if (!service.equals(call.getMethodDescriptor().getServiceName())) {
                    return next.startCall(call, headers);
                }
                String problem = problem(bearer(headers.get(AUTHORIZATION)));
                if (problem == null) {
                    return next.startCall(call, headers);
                }
                refused("grpc", problem, call.getMethodDescriptor().getFullMethodName(),
                        call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
                call.close(Status.UNAUTHENTICATED.withDescription("refused: "
                        + (problem.equals("missing") ? "no client token" : "a wrong client token") + "; " + HINT), new Metadata());
                return new ServerCall.Listener<>() { };
            }
        };
    }

    private static String bearer(String header) {
        return header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7) : null;
    }
}
