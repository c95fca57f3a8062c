package io.chariots.common.acks;

import io.chariots.proto.AcksGrpc;
import io.chariots.proto.AppendedIds;
import io.chariots.proto.BatchAck;
import io.grpc.stub.StreamObserver;

import java.util.concurrent.Executor;

/**
 * gRPC adapter of {@link AppendWaiters}: the {@code Acks} service an edge
 * serves so maintainers can push {@code Appended} notices. Answers at once
 * (the notice is best effort either way) and hands the notice to the
 * waiters' loop.
 */
public final class AcksService extends AcksGrpc.AcksImplBase {
    private final Executor loop;
    private final AppendWaiters waiters;

    /** @param loop the loop that owns {@code waiters} */
    public AcksService(Executor loop, AppendWaiters waiters) {
        this.loop = loop;
        this.waiters = waiters;
    }

    @Override
    public void appended(AppendedIds request, StreamObserver<BatchAck> responses) {
        loop.execute(() -> waiters.onAppended(request));
        responses.onNext(BatchAck.newBuilder().setAccepted(request.getIdsCount()).build());
        responses.onCompleted();
    }
}
