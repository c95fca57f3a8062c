package io.chariots.common.auth;

import io.chariots.common.net.NettyTransport;
import io.chariots.proto.IdentityGrpc;
import io.chariots.proto.ReaderGrpc;
import io.chariots.proto.Role;
import io.chariots.proto.WhoReply;
import io.chariots.proto.WhoRequest;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The gRPC side of the cluster secret, over real sockets: what a sniffer or a stranger sends is refused. */
class GrpcAuthTest {
    private static final ClusterSecret SECRET = ClusterSecret.of("the-secret-of-this-cluster", "test");
    private static final String WHO = IdentityGrpc.getWhoMethod().getFullMethodName();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final ClusterAuth auth = new ClusterAuth(SECRET, 300_000, registry);
    private final List<AutoCloseable> open = new ArrayList<>();
    private Server server;
    private String target;

    @BeforeEach
    void start() throws Exception {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .intercept(auth.grpc(Set.of(ReaderGrpc.SERVICE_NAME)))
                .addService(new IdentityGrpc.IdentityImplBase() {
                    @Override
                    public void who(WhoRequest request, StreamObserver<WhoReply> reply) {
                        reply.onNext(WhoReply.newBuilder().setRole(Role.QUEUE).build());
                        reply.onCompleted();
                    }
                }).build().start();
        target = "127.0.0.1:" + server.getPort();
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
        server.shutdownNow().awaitTermination();
    }

    @Test
    void aChannelThatProvesTheSecretIsServedCallAfterCall() {
        ManagedChannel ch = channel(new NettyTransport("t", 1, SECRET));
        for (int i = 0; i < 200; i++) {
            assertThat(who(ch).getRole()).isEqualTo(Role.QUEUE);
        }
        assertThat(auth.refusals("grpc", Proof.Refusal.MISSING) + auth.refusals("grpc", Proof.Refusal.REPLAYED)).isZero();
    }

    @Test
    void noProofAndAnotherSecretAreRefusedAndCounted() {
        ManagedChannel none = channel(new NettyTransport("t", 1));
        assertRefused(() -> who(none), "no proof of the cluster secret");
        ManagedChannel wrong = channel(new NettyTransport("t", 1, ClusterSecret.of("not-the-secret-of-this-cluster", "test")));
        assertRefused(() -> who(wrong), "another secret");
        assertThat(auth.refusals("grpc", Proof.Refusal.MISSING)).isEqualTo(1);
        assertThat(auth.refusals("grpc", Proof.Refusal.WRONG)).isEqualTo(1);
        assertThat(registry.get("chariots_auth_refused").tag("reason", "wrong").counter().count()).isEqualTo(1.0);
        // Reads are for clients: the Reader service is not asked for a proof (here it is not served at all).
        assertThatThrownBy(() -> ReaderGrpc.newBlockingStub(none).tail(io.chariots.proto.TailRequest.getDefaultInstance()).hasNext())
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED));
    }

    @Test
    void aProofSeenOnTheWireCannotBeReplayedOnAnotherConnection() {
        AtomicReference<String> sniffed = new AtomicReference<>();
        NettyTransport t = new NettyTransport("t", 1, SECRET);
        open.add(t);
        ManagedChannel legit = t.grpcChannel(target).intercept(sniffer(sniffed)).build();
        open.add(legit::shutdownNow);
        assertThat(who(legit).getRole()).isEqualTo(Role.QUEUE);
        assertThat(sniffed.get()).startsWith("v1.");

        NettyTransport plain = new NettyTransport("t", 1);
        open.add(plain);
        ManagedChannel attacker = plain.grpcChannel(target).intercept(fixed(sniffed.get())).build();
        open.add(attacker::shutdownNow);
        assertRefused(() -> who(attacker), "already used");
        assertThat(who(legit).getRole()).as("the legitimate sender goes on").isEqualTo(Role.QUEUE);
    }

    @Test
    void anOldProofIsStaleAndAForgedOneIsWrong() {
        NettyTransport plain = new NettyTransport("t", 1);
        open.add(plain);
        String old = Proof.make(SECRET, "old", 1, System.currentTimeMillis() - 600_000, WHO).text();
        ManagedChannel a = plain.grpcChannel(target).intercept(fixed(old)).build();
        open.add(a::shutdownNow);
        assertRefused(() -> who(a), "clock");
        String forged = Proof.make(SECRET, "me", 1, System.currentTimeMillis(), WHO).text().replace("v1.me.1.", "v1.me.2.");
        ManagedChannel b = plain.grpcChannel(target).intercept(fixed(forged)).build();
        open.add(b::shutdownNow);
        assertRefused(() -> who(b), "another secret");
        ManagedChannel c = plain.grpcChannel(target).intercept(fixed("v1.garbage")).build();
        open.add(c::shutdownNow);
        assertRefused(() -> who(c), "malformed");
    }

    private ManagedChannel channel(NettyTransport t) {
        open.add(t);
        ManagedChannel ch = t.grpcChannel(target).build();
        open.add(ch::shutdownNow);
        return ch;
    }

    private static WhoReply who(Channel ch) {
        return IdentityGrpc.newBlockingStub(ch).who(WhoRequest.getDefaultInstance());
    }

    private static void assertRefused(Runnable call, String why) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
            assertThat(e.getStatus().getDescription()).contains(why).contains("cluster_secret");
        });
    }

    /** Records the proof a call carries, as a sniffer on the wire would see it. */
    private static ClientInterceptor sniffer(AtomicReference<String> seen) {
        return new ClientInterceptor() {
            @Override
            public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> m, CallOptions o, Channel next) {
                return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(m, o)) {
                    @Override
                    public void start(Listener<A> l, Metadata headers) {
                        super.start(l, headers);
                        seen.set(headers.get(Prover.HEADER));
                    }
                };
            }
        };
    }

    /** Sends {@code proof} as it is (as an attacker replaying it would). */
    private static ClientInterceptor fixed(String proof) {
        Metadata h = new Metadata();
        h.put(Prover.HEADER, proof);
        return io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(h);
    }
}
