package io.chariots.common.runtime;

import io.chariots.proto.IdentityGrpc;
import io.chariots.proto.Role;
import io.chariots.proto.WhoReply;
import io.chariots.proto.WhoRequest;
import io.grpc.stub.StreamObserver;

/** Answers who serves this gRPC port: the role, instance id and datacenter (see {@code Identity} in chariots.proto). */
final class IdentityService extends IdentityGrpc.IdentityImplBase {
    private final WhoReply me;

    IdentityService(Role role, String instanceId, int datacenter) {
        this.me = WhoReply.newBuilder().setRole(role).setInstanceId(instanceId).setDatacenter(datacenter).build();
    }

    @Override
    public void who(WhoRequest request, StreamObserver<WhoReply> reply) {
        reply.onNext(me);
        reply.onCompleted();
    }
}
