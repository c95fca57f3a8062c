package io.chariots.controller;

import com.google.protobuf.ByteString;
import io.chariots.common.auth.ClusterSecret;
import io.chariots.common.config.HostPort;
import io.chariots.common.runtime.IdentityService;
import io.chariots.common.config.RoleConfig;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.common.net.NettyTransport;
import io.chariots.proto.IdentityGrpc;
import io.chariots.proto.Member;
import io.chariots.proto.WhoReply;
import io.chariots.proto.WhoRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * What a registration passes before the registry sees it: the member's gRPC
 * address must answer {@code Identity.Who} as the role it claims (and, for a
 * member registering itself, as the instance it claims), in this datacenter.
 * So a wrong or dead port, a process that is not a Chariots role, or a
 * registration at another live member's address never enters a view. With a
 * cluster secret, the answer must also prove the secret (a challenge it
 * answers with an HMAC). The
 * check runs off the loop; its verdict is handed to the loop.
 */
final class MemberAdmission {
    private static final Logger LOG = LoggerFactory.getLogger(MemberAdmission.class);

    /** What to do once the check is done, on the controller loop. */
    @FunctionalInterface
    interface Verdict {
        /** @param problem null if the member answers as claimed, else what is wrong, in words an operator can act on */
        void done(String problem, long now);
    }

    private final EventLoop loop;
    private final NanoClock clock;
    private final NettyTransport transport;
    private final Duration timeout;
    private final boolean enabled;
    private final Counter refused;

    /**
     * @param enabled false to take every well-formed registration unchecked
     *                ({@code controller.verify_members}: tests whose members have no server)
     */
    MemberAdmission(EventLoop loop, NanoClock clock, NettyTransport transport, Duration timeout, boolean enabled,
                    Counter refused) {
        this.loop = loop;
        this.clock = clock;
        this.transport = transport;
        this.timeout = timeout;
        this.enabled = enabled;
        this.refused = refused;
    }

    /**
     * Checks {@code claimed} and hands the verdict to the loop.
     *
     * @param sameInstance whether the answer must also name the claimed instance id (a member registering itself)
     */
    void check(Member claimed, boolean sameInstance, Verdict then) {
        ask(claimed, sameInstance, true, then);
    }

    /**
     * Whether a listed member still answers as itself at its gRPC address
     * (null problem: it does), for a newcomer that claims its address; not
     * counted or logged as a refusal.
     */
    void stillAnswers(Member listed, Verdict then) {
        ask(listed, true, false, then);
    }

    private void ask(Member claimed, boolean sameInstance, boolean registration, Verdict then) {
        if (!enabled) {
            loop.execute(() -> then.done(null, clock.nanoTime()));
            return;
        }
        String role = RoleConfig.roleName(claimed.getRole());
        HostPort grpc;
        try {
            grpc = HostPort.parse(claimed.getGrpcAddress(), "grpc_address", "registration");
        } catch (RuntimeException e) {
            refuse(claimed, "a " + role + " needs a gRPC address: " + e.getMessage(), registration, then);
            return;
        }
        ManagedChannel ch = transport.grpcChannel(grpc.toString()).build();
        byte[] challenge = ClusterSecret.challenge();
        IdentityGrpc.newStub(ch).withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .who(WhoRequest.newBuilder().setChallenge(ByteString.copyFrom(challenge)).build(), new StreamObserver<>() {
                    private WhoReply answer;

                    @Override
                    public void onNext(WhoReply r) {
                        answer = r;
                    }

                    @Override
                    public void onError(Throwable t) {
                        ch.shutdownNow();
                        Status s = Status.fromThrowable(t);
                        String why = s.getCode() == Status.Code.UNIMPLEMENTED
                                ? "something answers gRPC at " + grpc + " but it is not a Chariots role"
                                : "nothing at " + grpc + " answers as a Chariots " + role + " (" + s.getCode()
                                + (s.getDescription() == null ? "" : ": " + s.getDescription()) + ")";
                        refuse(claimed, why, registration, then);
                    }

                    @Override
                    public void onCompleted() {
                        ch.shutdownNow();
                        String why = mismatch(claimed, sameInstance, grpc, answer);
                        if (why == null) {
                            why = unproven(grpc, answer, challenge);
                        }
                        if (why != null) {
                            refuse(claimed, why, registration, then);
                        } else {
                            loop.execute(() -> then.done(null, clock.nanoTime()));
                        }
                    }
                });
    }

    /**
     * With a cluster secret, the answer must prove it too: a process that
     * answers as the role but does not hold the secret is not a member.
     */
    private String unproven(HostPort grpc, WhoReply r, byte[] challenge) {
        ClusterSecret secret = transport.secret();
        if (secret == null || secret.isAnswer(r.getAnswer(), challenge, IdentityService.context(r))) {
            return null;
        }
        return grpc + " answers as a " + RoleConfig.roleName(r.getRole()) + " but "
                + (r.getAnswer().isEmpty() ? "holds no cluster secret" : "holds another cluster secret")
                + " (set cluster_secret or cluster_secret_file to this cluster's)";
    }

    private static String mismatch(Member claimed, boolean sameInstance, HostPort grpc, WhoReply r) {
        if (r == null) {
            return grpc + " answered nothing";
        }
        if (r.getRole() != claimed.getRole()) {
            return grpc + " is a " + RoleConfig.roleName(r.getRole()) + ", not a " + RoleConfig.roleName(claimed.getRole());
        }
        if (sameInstance && !r.getInstanceId().equals(claimed.getInstanceId())) {
            return grpc + " is served by instance " + r.getInstanceId() + ", not " + claimed.getInstanceId()
                    + " (another member's address?)";
        }
        if (r.getDatacenter() != claimed.getDatacenter()) {
            return grpc + " belongs to datacenter " + r.getDatacenter() + ", not " + claimed.getDatacenter();
        }
        return null;
    }

    private void refuse(Member claimed, String why, boolean registration, Verdict then) {
        if (!registration) {
            loop.execute(() -> then.done(why, clock.nanoTime()));
            return;
        }
        refused.increment();
        LOG.warn("refused the registration of {} {} ({}): {}", RoleConfig.roleName(claimed.getRole()),
                claimed.getAddress(), claimed.getInstanceId(), why);
        loop.execute(() -> then.done(why, clock.nanoTime()));
    }
}
