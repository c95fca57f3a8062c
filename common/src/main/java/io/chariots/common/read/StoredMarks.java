package io.chariots.common.read;

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

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How far this datacenter's log holds the records of an origin: the highest
 * TOId of that origin any maintainer stores, with that record's LId at its
 * origin. Every earlier one is in the log too (I4). Every maintainer of the
 * view must answer: a mark from some of them could be lower than the log's,
 * so an answer that cannot be complete fails ({@link LogReader.Unavailable})
 * rather than guess.
 */
public final class StoredMarks {
    private StoredMarks() {
    }

    public static CompletableFuture<OriginMark> of(ChannelPool channels, Membership view, int origin) {
        CompletableFuture<OriginMark> done = new CompletableFuture<>();
        List<Member> maintainers = view == null ? List.of() : view.members(Role.MAINTAINER);
        if (maintainers.isEmpty()) {
            done.completeExceptionally(new LogReader.Unavailable("no maintainer is registered here yet"));
            return done;
        }
        OriginMarks marks = new OriginMarks();
        StringBuilder failed = new StringBuilder();
        AtomicInteger left = new AtomicInteger(maintainers.size());
        for (Member m : maintainers) {
            Calls.on(MaintainerGrpc.newFutureStub(channels.get(m.getGrpcAddress())).withDeadlineAfter(5, TimeUnit.SECONDS)
                            .stats(ReadRequest.getDefaultInstance()),
                    (MaintainerStats s) -> {
                        synchronized (marks) {
                            marks.raiseAll(s.getMaxToidsList());
                        }
                        finish(done, marks, failed, left, origin);
                    },
                    t -> {
                        synchronized (marks) {
                            failed.append(failed.length() == 0 ? "" : "; ").append(m.getGrpcAddress()).append(": ")
                                    .append(Calls.describe(t));
                        }
                        finish(done, marks, failed, left, origin);
                    });
        }
        return done;
    }

    private static void finish(CompletableFuture<OriginMark> done, OriginMarks marks, StringBuilder failed,
                               AtomicInteger left, int origin) {
        if (left.decrementAndGet() != 0) {
            return;
        }
        synchronized (marks) {
            if (failed.length() > 0) {
                done.completeExceptionally(new LogReader.Unavailable("not every maintainer answered (" + failed + ")"));
            } else {
                done.complete(marks.mark(origin));
            }
        }
    }
}
