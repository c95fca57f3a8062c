package io.chariots.queue;

import io.chariots.common.grpc.Calls;
import io.chariots.common.grpc.ChannelPool;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.proto.ExistsReply;
import io.chariots.proto.ExistsRequest;
import io.chariots.proto.IndexBatch;
import io.chariots.proto.IndexerGrpc;
import io.chariots.proto.MaintainerGrpc;
import io.chariots.proto.MaintainerStats;
import io.chariots.proto.QueueGrpc;
import io.chariots.proto.ReadRequest;
import io.chariots.proto.RecordBatch;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Rejection;
import io.chariots.proto.Token;
import io.chariots.proto.TokenAck;
import io.chariots.proto.Wake;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/** The queue's outgoing calls over gRPC; every outcome is handed back to the loop. */
final class GrpcQueueLinks implements TokenRing.Links, MaintainerOutbox.Sender {
    private static final Logger LOG = LoggerFactory.getLogger(GrpcQueueLinks.class);

    private final ChannelPool channels;
    private final EventLoop loop;
    private final NanoClock clock;
    private TokenRing ring;

    GrpcQueueLinks(ChannelPool channels, EventLoop loop, NanoClock clock) {
        this.channels = channels;
        this.loop = loop;
        this.clock = clock;
    }

    void ring(TokenRing ring) {
        this.ring = ring;
    }

    @Override
    public void passToken(String successor, Token token) {
        long hop = token.getHop();
        Calls.on(QueueGrpc.newFutureStub(channels.get(successor)).withDeadlineAfter(5, TimeUnit.SECONDS).passToken(token),
                ack -> loop.execute(() -> ring.onPassed(hop)),
                t -> loop.execute(() -> ring.onPassFailed(hop, successor + ": " + Calls.describe(t), clock.nanoTime())));
    }

    @Override
    public void wake(List<String> queues, String self) {
        Wake w = Wake.newBuilder().setFrom(self).build();
        for (String q : queues) {
            Calls.on(QueueGrpc.newFutureStub(channels.get(q)).withDeadlineAfter(2, TimeUnit.SECONDS).wakeUp(w),
                    ack -> { }, t -> LOG.debug("wake {} failed: {}", q, Calls.describe(t)));
        }
    }

    @Override
    public void exists(List<String> indexers, long probeId, List<CauseKey> keys) {
        ExistsRequest.Builder req = ExistsRequest.newBuilder();
        for (CauseKey k : keys) {
            req.addKeys(k.toProto());
        }
        ExistsRequest request = req.build();
        long[] merged = new long[keys.size()];
        AtomicInteger left = new AtomicInteger(indexers.size());
        AtomicInteger ok = new AtomicInteger();
        for (String ix : indexers) {
            Calls.on(IndexerGrpc.newFutureStub(channels.get(ix)).withDeadlineAfter(5, TimeUnit.SECONDS).exists(request),
                    reply -> {
                        synchronized (merged) {
                            for (int i = 0; i < merged.length && i < reply.getLidsCount(); i++) {
                                long lid = reply.getLids(i);
                                if (lid != 0 && (merged[i] == 0 || Long.compareUnsigned(lid, merged[i]) < 0)) {
                                    merged[i] = lid;
                                }
                            }
                        }
                        ok.incrementAndGet();
                        done(left, ok, probeId, merged);
                    },
                    t -> {
                        LOG.debug("exists on {} failed: {}", ix, Calls.describe(t));
                        done(left, ok, probeId, merged);
                    });
        }
    }

    private void done(AtomicInteger left, AtomicInteger ok, long probeId, long[] merged) {
        if (left.decrementAndGet() == 0) {
            long[] lids;
            synchronized (merged) {
                lids = merged.clone();
            }
            if (ok.get() == 0) {
                loop.execute(() -> ring.onExistsFailed(probeId, clock.nanoTime()));
            } else {
                loop.execute(() -> ring.onExists(probeId, lids, clock.nanoTime()));
            }
        }
    }

    @Override
    public void reject(List<String> indexers, List<Rejection> rejections) {
        IndexBatch batch = IndexBatch.newBuilder().addAllRejections(rejections).build();
        for (String ix : indexers) {
            Calls.on(IndexerGrpc.newFutureStub(channels.get(ix)).withDeadlineAfter(5, TimeUnit.SECONDS).index(batch),
                    ack -> { }, t -> LOG.warn("could not report {} rejection(s) to {}: {}", rejections.size(), ix, Calls.describe(t)));
        }
    }

    @Override
    public void prepareToken(List<String> maintainers, List<String> otherQueues) {
        AtomicInteger left = new AtomicInteger(maintainers.size() + otherQueues.size());
        AtomicLong maxLid = new AtomicLong();
        AtomicReference<String> owner = new AtomicReference<>();
        AtomicLong seenHop = new AtomicLong();
        AtomicReference<String> failure = new AtomicReference<>();
        Runnable finish = () -> {
            if (left.decrementAndGet() == 0) {
                String why = failure.get();
                loop.execute(() -> {
                    if (why != null) {
                        ring.onPrepareFailed(why, clock.nanoTime());
                    } else {
                        ring.onTokenPrepared(maxLid.get(), owner.get(), seenHop.get(), clock.nanoTime());
                    }
                });
            }
        };
        if (maintainers.isEmpty()) {
            loop.execute(() -> ring.onPrepareFailed("no maintainer registered", clock.nanoTime()));
            return;
        }
        for (String m : maintainers) {
            Calls.on(MaintainerGrpc.newFutureStub(channels.get(m)).withDeadlineAfter(5, TimeUnit.SECONDS)
                            .stats(ReadRequest.getDefaultInstance()),
                    (MaintainerStats s) -> {
                        synchronized (maxLid) {
                            if (s.getMaxLid() > maxLid.get()) {
                                maxLid.set(s.getMaxLid());
                                owner.set(m);
                            }
                        }
                        finish.run();
                    },
                    t -> {
                        failure.set("maintainer " + m + ": " + Calls.describe(t));
                        finish.run();
                    });
        }
        for (String q : otherQueues) {
            Calls.on(QueueGrpc.newFutureStub(channels.get(q)).withDeadlineAfter(2, TimeUnit.SECONDS)
                            .wakeUp(Wake.getDefaultInstance()),
                    (TokenAck a) -> {
                        seenHop.accumulateAndGet(a.getSeenHop(), Math::max);
                        finish.run();
                    },
                    t -> finish.run()); // an unreachable queue holds no token we could reach either
        }
    }

    @Override
    public void ack(Object handle) {
        ((Runnable) handle).run();
    }

    @Override
    public void store(String maintainer, long batchId, List<RecordEnvelope> records) {
        RecordBatch batch = RecordBatch.newBuilder().addAllRecords(records).build();
        Calls.on(MaintainerGrpc.newFutureStub(channels.get(maintainer)).withDeadlineAfter(30, TimeUnit.SECONDS).store(batch),
                ack -> loop.execute(() -> ring.onStored(maintainer, batchId, clock.nanoTime())),
                t -> loop.execute(() -> ring.onStoreFailed(maintainer, batchId, Calls.describe(t), clock.nanoTime())));
    }
}
