package io.chariots.common.runtime;

import io.chariots.common.auth.ClusterSecret;
import io.chariots.proto.IdentityGrpc;
import io.chariots.proto.Role;
import io.chariots.proto.WhoReply;
import io.chariots.proto.WhoRequest;
import io.grpc.stub.StreamObserver;

/**
 * Answers who serves this gRPC port: the role, instance id and datacenter (see
 * {@code Identity} in chariots.proto), and, with a cluster secret, the answer
 * to the asker's challenge that proves this role holds it.
 */
public final class IdentityService extends IdentityGrpc.IdentityImplBase {
    private final WhoReply me;
    private final ClusterSecret secret;

    IdentityService(Role role, String instanceId, int datacenter, ClusterSecret secret) {
        this.me = WhoReply.newBuilder().setRole(role).setInstanceId(instanceId).setDatacenter(datacenter).build();
        this.secret = secret;
    }

    /** What an answer to a challenge covers besides it: who answers. */
    public static String context(WhoReply who) {
        return who.getRole() + "\n" + who.getInstanceId() + "\n" + who.getDatacenter();
    }

    @Override
    public void who(WhoRequest request, StreamObserver<WhoReply> reply) {
        if (secret == null || request.getChallenge().isEmpty()) {
            reply.onNext(me);
        } else {
            reply.onNext(me.toBuilder().setAnswer(secret.answer(request.getChallenge().toByteArray(), context(me))).build());
        }
        reply.onCompleted();
    }
}
