package io.chariots.common.auth;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;

import java.security.SecureRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Makes the {@link Proof}s of one sender: a random name and a counter, so
 * that each proof is new. One per gRPC channel (its calls reach the receiver
 * nearly in counter order, well inside its replay window). Thread-safe.
 */
public final class Prover {
    /** The gRPC metadata key proofs travel in. */
    public static final Metadata.Key<String> HEADER = Metadata.Key.of(Proof.GRPC_HEADER, Metadata.ASCII_STRING_MARSHALLER);
    private static final char[] NAME = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-".toCharArray();
    private static final SecureRandom RANDOM = new SecureRandom();

    private final ClusterSecret secret;
    private final String sender;
    private final AtomicLong counter = new AtomicLong();

    public Prover(ClusterSecret secret) {
        this.secret = secret;
        char[] n = new char[22];
        for (int i = 0; i < n.length; i++) {
            n[i] = NAME[RANDOM.nextInt(NAME.length)];
        }
        this.sender = new String(n);
    }

    /** A new proof, for one call of {@code purpose} (a gRPC method's full name, or {@link Proof#HTTP_PURPOSE}). */
    public String next(String purpose) {
        return Proof.make(secret, sender, counter.incrementAndGet(), System.currentTimeMillis(), purpose).text();
    }

    /** Adds a new proof to every call of the channel it is given to. */
    public ClientInterceptor interceptor() {
        return new ClientInterceptor() {
            @Override
            public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
                return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
                    @Override
                    public void start(Listener<A> listener, Metadata headers) {
                        headers.put(HEADER, Prover.this.next(method.getFullMethodName()));
                        super.start(listener, headers);
                    }
                };
            }
        };
    }
}
