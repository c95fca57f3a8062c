package io.chariots.batcher;

import io.chariots.common.grpc.ChannelPool;
import io.chariots.common.membership.Membership;
import io.chariots.common.read.StoredMarks;
import io.chariots.proto.OriginMark;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

import java.util.concurrent.CompletionException;
import java.util.function.Supplier;

/**
 * Answers another datacenter's shipper how far this datacenter's log holds
 * its records ({@code Batcher.Marks}; see {@link StoredMarks}), or
 * UNAVAILABLE when not every maintainer here answered.
 */
final class OriginMarksQuery {
    private final ChannelPool channels;
    private final Supplier<Membership> view;

    OriginMarksQuery(ChannelPool channels, Supplier<Membership> view) {
        this.channels = channels;
        this.view = view;
    }

    void answer(int origin, StreamObserver<OriginMark> reply) {
        StoredMarks.of(channels, view.get(), origin).whenComplete((m, t) -> {
            if (t == null) {
                reply.onNext(m);
                reply.onCompleted();
            } else {
                Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
                reply.onError(Status.UNAVAILABLE.withDescription(cause.getMessage()).asRuntimeException());
            }
        });
    }
}
