package io.chariots.queue;

import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.common.metrics.IngestDelay;
import io.chariots.proto.CauseKey;
import io.chariots.proto.EnqueueReply;
import io.chariots.proto.EnqueueRequest;
import io.chariots.proto.Layout;
import io.chariots.proto.LayoutRequest;
import io.chariots.proto.PendingQuery;
import io.chariots.proto.PendingRecord;
import io.chariots.proto.PendingReply;
import io.chariots.proto.QueueGrpc;
import io.chariots.proto.Token;
import io.chariots.proto.TokenAck;
import io.chariots.proto.TokenStatus;
import io.chariots.proto.Wake;
import io.grpc.stub.StreamObserver;

import java.util.HashSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * gRPC adapter: every call becomes a task on the queue's loop, which replies;
 * only {@code GetTokenStatus} and {@code GetLayout} are answered at once from
 * a snapshot, so that a queue whose loop is busy still says it is alive.
 */
final class QueueService extends QueueGrpc.QueueImplBase {
    private final EventLoop loop;
    private final TokenRing ring;
    private final NanoClock clock;
    private final IngestDelay received;
    private final AtomicReference<Layout> layout = new AtomicReference<>(Layout.getDefaultInstance());

    QueueService(EventLoop loop, TokenRing ring, NanoClock clock, IngestDelay received) {
        this.loop = loop;
        this.ring = ring;
        this.clock = clock;
        this.received = received;
    }

    /** Called on the loop after each poll: what GetLayout answers. */
    void publish(Layout l) {
        layout.set(l);
    }

    @Override
    public void enqueue(EnqueueRequest request, StreamObserver<EnqueueReply> reply) {
        received.batch(request.getRecordsList());
        if (!loop.offer(() -> ring.onEnqueue(request.getEpoch(), request.getRecordsList(), reply, clock.nanoTime()))) {
            reply.onError(io.grpc.Status.RESOURCE_EXHAUSTED.withDescription(loop.behindMessage()).asRuntimeException());
        }
    }

    /** Takes the token at once, off the loop (see {@link TokenRing#accept}); the loop handles it next. */
    @Override
    public void passToken(Token token, StreamObserver<TokenAck> reply) {
        TokenAck ack = ring.accept(token);
        reply.onNext(ack);
        reply.onCompleted();
        if (ack.getAccepted()) {
            loop.execute(() -> ring.onToken(token, clock.nanoTime()));
        }
    }

    @Override
    public void wakeUp(Wake wake, StreamObserver<TokenAck> reply) {
        loop.execute(() -> {
            ring.onWake(wake.getFrom(), clock.nanoTime());
            reply.onNext(TokenAck.newBuilder().setEpoch(ring.epoch()).build());
            reply.onCompleted();
        });
    }

    @Override
    public void getTokenStatus(LayoutRequest request, StreamObserver<TokenStatus> reply) {
        reply.onNext(ring.status(clock.nanoTime()));
        reply.onCompleted();
    }

    @Override
    public void getLayout(LayoutRequest request, StreamObserver<Layout> reply) {
        reply.onNext(layout.get());
        reply.onCompleted();
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
