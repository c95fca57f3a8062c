package io.chariots.batcher;

import io.chariots.common.grpc.Calls;
import io.chariots.common.grpc.ChannelPool;
import io.chariots.common.membership.Membership;
import io.chariots.common.record.OriginMarks;
import io.chariots.proto.MaintainerGrpc;
import io.chariots.proto.MaintainerStats;
import io.chariots.proto.Member;
import io.chariots.proto.OriginMark;
import io.chariots.proto.ReadRequest;
import io.chariots.proto.Role;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Answers another datacenter's shipper how far this datacenter's log holds
 * its records ({@code Batcher.Marks}): the highest TOId of that origin any
 * maintainer stores, with its LId there. Every maintainer must answer: a mark
 * from some of them could be lower than the log's, which would only make the
 * shipper send again what is here, but one that cannot be complete is said
 * to be so (UNAVAILABLE) rather than guessed.
 */
final class OriginMarksQuery {
    private final ChannelPool channels;
    private final Supplier<Membership> view;

    OriginMarksQuery(ChannelPool channels, Supplier<Membership> view) {
        this.channels = channels;
        this.view = view;
    }

    void answer(int origin, StreamObserver<OriginMark> reply) {
        Membership m = view.get();
        List<Member> maintainers = m == null ? List.of() : m.members(Role.MAINTAINER);
        if (maintainers.isEmpty()) {
            reply.onError(Status.UNAVAILABLE.withDescription("no maintainer is registered here yet").asRuntimeException());
            return;
        }
        OriginMarks marks = new OriginMarks();
        AtomicInteger left = new AtomicInteger(maintainers.size());
        StringBuilder failed = new StringBuilder();
        for (Member mt : maintainers) {
            Calls.on(MaintainerGrpc.newFutureStub(channels.get(mt.getGrpcAddress())).withDeadlineAfter(5, TimeUnit.SECONDS)
                            .stats(ReadRequest.getDefaultInstance()),
                    (MaintainerStats s) -> done(origin, reply, marks, left, failed, () -> {
                        synchronized (marks) {
                            marks.raiseAll(s.getMaxToidsList());
                        }
                    }),
                    t -> done(origin, reply, marks, left, failed, () -> {
                        synchronized (marks) {
                            failed.append(failed.length() == 0 ? "" : "; ").append(mt.getGrpcAddress()).append(": ")
                                    .append(Calls.describe(t));
                        }
                    }));
        }
    }

    private static void done(int origin, StreamObserver<OriginMark> reply, OriginMarks marks, AtomicInteger left,
                             StringBuilder failed, Runnable record) {
        record.run();
        if (left.decrementAndGet() != 0) {
            return;
        }
        synchronized (marks) {
            if (failed.length() > 0) {
                reply.onError(Status.UNAVAILABLE.withDescription("not every maintainer answered (" + failed + ")")
                        .asRuntimeException());
            } else {
                reply.onNext(marks.mark(origin));
                reply.onCompleted();
            }
        }
    }
}
