package io.chariots.queue;

import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.proto.BatchAck;
import io.chariots.proto.CauseKey;
import io.chariots.proto.PendingQuery;
import io.chariots.proto.PendingRecord;
import io.chariots.proto.PendingReply;
import io.chariots.proto.QueueGrpc;
import io.chariots.proto.RecordBatch;
import io.chariots.proto.Token;
import io.chariots.proto.TokenAck;
import io.chariots.proto.Wake;
import io.grpc.stub.StreamObserver;

import java.util.HashSet;
import java.util.concurrent.TimeUnit;

/** gRPC adapter: every call becomes a task on the queue's loop, which replies. */
final class QueueService extends QueueGrpc.QueueImplBase {
    private final EventLoop loop;
    private final TokenRing ring;
    private final NanoClock clock;

    QueueService(EventLoop loop, TokenRing ring, NanoClock clock) {
        this.loop = loop;
        this.ring = ring;
        this.clock = clock;
    }

    @Override
    public void enqueue(RecordBatch batch, StreamObserver<BatchAck> reply) {
        int n = batch.getRecordsCount();
        Runnable ack = () -> {
            reply.onNext(BatchAck.newBuilder().setAccepted(n).build());
            reply.onCompleted();
        };
        loop.execute(() -> ring.onEnqueue(batch.getRecordsList(), ack, clock.nanoTime()));
    }

    @Override
    public void passToken(Token token, StreamObserver<TokenAck> reply) {
        loop.execute(() -> {
            long seen = ring.onToken(token, clock.nanoTime());
            reply.onNext(TokenAck.newBuilder().setSeenHop(seen).build());
            reply.onCompleted();
        });
    }

    @Override
    public void wakeUp(Wake wake, StreamObserver<TokenAck> reply) {
        loop.execute(() -> {
            ring.onWake(wake.getFrom(), clock.nanoTime());
            reply.onNext(TokenAck.newBuilder().setSeenHop(ring.seenHop()).build());
            reply.onCompleted();
        });
    }

    @Override
    public void pending(PendingQuery query, StreamObserver<PendingReply> reply) {
        loop.execute(() -> {
            long now = clock.nanoTime();
            long wallNow = System.currentTimeMillis();
            PendingReply.Builder b = PendingReply.newBuilder();
            for (CausalGate.Held h : ring.pending(new HashSet<>(query.getIdsList()))) {
                PendingRecord.Builder p = PendingRecord.newBuilder().setId(h.record.getId())
                        .setSinceMs(wallNow - TimeUnit.NANOSECONDS.toMillis(now - h.arrivedNanos));
                for (io.chariots.queue.CauseKey k : h.unmet) {
                    p.addWaitingFor(CauseKey.newBuilder().setHash(k.hash()).setSeed(k.seed()));
                }
                b.addPending(p);
            }
            reply.onNext(b.build());
            reply.onCompleted();
        });
    }
}
