package io.chariots.common.auth;

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

import java.util.Set;

/**
 * The receiving side of the cluster secret: takes a call or request only with
 * a new {@link Proof} made with the secret, and refuses anything else with
 * gRPC UNAUTHENTICATED or HTTP 401 naming what was wrong. Every refusal is
 * counted ({@code chariots_auth_refused_total{edge,reason}}) and logged with
 * the peer ({@link Refusals}: a flood of bad calls cannot flood the log).
 * Thread-safe.
 *
 * <table>
 * <caption>Keys and defaults</caption>
 * <tr><th>key</th><th>default</th><th>meaning</th></tr>
 * <tr><td>cluster_secret</td><td>none</td><td>the secret itself (at least 16 characters); none: an open cluster</td></tr>
 * <tr><td>cluster_secret_file</td><td>none</td><td>a file holding it (a Docker secret)</td></tr>
 * <tr><td>auth.max_clock_skew_ms</td><td>300000</td><td>a proof whose clock differs from this host's by more is refused</td></tr>
 * </table>
 */
public final class ClusterAuth {
    private static final String HINT = "every call between Chariots roles, and every change to the controller, must prove"
            + " the cluster secret (cluster_secret or cluster_secret_file)";

    private final ClusterSecret secret;
    private final ReplayWindow seen;
    private final Refusals refusals;

    public ClusterAuth(ClusterSecret secret, long maxSkewMillis, MeterRegistry registry) {
        this.secret = secret;
        this.seen = new ReplayWindow(maxSkewMillis);
        this.refusals = new Refusals("chariots_auth_refused",
                "Calls and requests refused for want of a good proof of the cluster secret", registry);
    }

    /** The gatekeeper {@code s} configures, or null for an open cluster. */
    public static ClusterAuth from(Settings s, MeterRegistry registry) {
        return ClusterSecret.from(s).map(secret -> new ClusterAuth(secret,
                s.getLong("auth.max_clock_skew_ms", 300_000, 1_000, 86_400_000L), registry)).orElse(null);
    }

    public ClusterSecret secret() {
        return secret;
    }

    /** Null when {@code proofText} is a new proof made with the secret for {@code purpose}; else why not. */
    public Proof.Refusal check(String proofText, String purpose) {
        Proof p;
        try {
            p = Proof.parse(proofText);
        } catch (Proof.Refused r) {
            return r.refusal();
        }
        if (!p.madeWith(secret, purpose)) {
            return Proof.Refusal.WRONG;
        }
        return seen.admit(p, System.currentTimeMillis());
    }

    /**
     * A server interceptor that refuses, with UNAUTHENTICATED, every call
     * without a good proof, except to the services named in {@code open}
     * (those clients use).
     */
    public ServerInterceptor grpc(Set<String> open) {
        return new ServerInterceptor() {
            @Override
            public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                               ServerCallHandler<Q, A> next) {
                if (open.contains(call.getMethodDescriptor().getServiceName())) {
                    return next.startCall(call, headers);
                }
                Proof.Refusal r = check(headers.get(Prover.HEADER), call.getMethodDescriptor().getFullMethodName());
                if (r == null) {
                    return next.startCall(call, headers);
                }
                refusals.refused("grpc", r.label(), r.what(), call.getMethodDescriptor().getFullMethodName(),
                        call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
                call.close(Status.UNAUTHENTICATED.withDescription("refused: " + r.what() + "; " + HINT), new Metadata());
                return new ServerCall.Listener<>() { };
            }
        };
    }

    /**
     * {@code handler}, answered only for requests with
     * {@code Authorization: Chariots <proof>}; others get 401 naming the
     * problem ({@code ./chariots token} prints a proof for curl).
     */
    public HttpHandler protect(HttpHandler handler) {
        return ex -> {
            String a = ex.header("Authorization");
            String scheme = Proof.HTTP_SCHEME + " ";
            String proof = a != null && a.regionMatches(true, 0, scheme, 0, scheme.length()) ? a.substring(scheme.length()) : null;
            Proof.Refusal r = check(proof, Proof.HTTP_PURPOSE);
            if (r == null) {
                handler.handle(ex);
                return;
            }
            refusals.refused("http", r.label(), r.what(), ex.method() + " " + ex.path(), ex.remoteAddress());
            ex.error(HttpResponseStatus.UNAUTHORIZED, "refused: " + r.what() + "; this cluster takes changes only with"
                    + " the header \"Authorization: Chariots <proof>\" (./chariots token prints one; see the README,"
                    + " Security)", "WWW-Authenticate", Proof.HTTP_SCHEME);
        };
    }

    /** Refusals so far on {@code edge} ("grpc" or "http") for {@code r}. */
    public long refusals(String edge, Proof.Refusal r) {
        return refusals.count(edge, r.label());
    }
}
