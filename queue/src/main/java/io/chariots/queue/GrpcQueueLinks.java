package io.chariots.queue;

import io.chariots.common.grpc.Calls;
import io.chariots.common.grpc.ChannelPool;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.proto.ControllerGrpc;
import io.chariots.proto.EnqueueReply;
import io.chariots.proto.ExistsRequest;
import io.chariots.proto.HeldReply;
import io.chariots.proto.HeldRequest;
import io.chariots.proto.HolesRequest;
import io.chariots.proto.IdStatus;
import io.chariots.proto.IndexBatch;
import io.chariots.proto.IndexerGrpc;
import io.chariots.proto.Layout;
import io.chariots.proto.LayoutRequest;
import io.chariots.proto.LookupReply;
import io.chariots.proto.LookupRequest;
import io.chariots.proto.MaintainerGrpc;
import io.chariots.proto.QueueGrpc;
import io.chariots.proto.ReadRequest;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Rejection;
import io.chariots.proto.SealRequest;
import io.chariots.proto.StoreRequest;
import io.chariots.proto.Token;
import io.chariots.proto.Wake;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/** The queue's outgoing calls over gRPC; every outcome is handed back to the loop. */
final class GrpcQueueLinks implements TokenRing.Links {
    private static final Logger LOG = LoggerFactory.getLogger(GrpcQueueLinks.class);

    private final ChannelPool channels;
    private final EventLoop loop;
    private final NanoClock clock;
    private final String controllerGrpc;
    private TokenRing ring;

    GrpcQueueLinks(ChannelPool channels, EventLoop loop, NanoClock clock, String controllerGrpc) {
        this.channels = channels;
        this.loop = loop;
        this.clock = clock;
        this.controllerGrpc = controllerGrpc;
    }

    void ring(TokenRing ring) {
        this.ring = ring;
    }

    private QueueGrpc.QueueFutureStub queue(String addr, long deadlineMs) {
        return QueueGrpc.newFutureStub(channels.get(addr)).withDeadlineAfter(deadlineMs, TimeUnit.MILLISECONDS);
    }

    private MaintainerGrpc.MaintainerFutureStub maintainer(String addr, long deadlineMs) {
        return MaintainerGrpc.newFutureStub(channels.get(addr)).withDeadlineAfter(deadlineMs, TimeUnit.MILLISECONDS);
    }

    private IndexerGrpc.IndexerFutureStub indexer(String addr) {
        return IndexerGrpc.newFutureStub(channels.get(addr)).withDeadlineAfter(CallDeadlines.INDEX_MS, TimeUnit.MILLISECONDS);
    }

    /** The peer's process is gone or it answered no (as opposed to silent: a deadline passed). */
    private static boolean gone(Throwable t) {
        return !(t instanceof io.grpc.StatusRuntimeException s) || s.getStatus().getCode() != io.grpc.Status.Code.DEADLINE_EXCEEDED;
    }

    /** Runs {@code task} on the loop with the current time. */
    private void onLoop(Consumer<Long> task) {
        loop.execute(() -> task.accept(clock.nanoTime()));
    }

    @Override
    public void passToken(String successor, Token token) {
        long hop = token.getHop();
        Calls.on(queue(successor, CallDeadlines.PASS_MS).passToken(token),
                ack -> onLoop(now -> ring.onPassed(hop, ack, now)),
                t -> onLoop(now -> ring.onPassFailed(hop, gone(t), successor + ": " + Calls.describe(t), now)));
    }

    @Override
    public void wake(List<String> queues, String self) {
        Wake w = Wake.newBuilder().setFrom(self).build();
        for (String q : queues) {
            Calls.on(queue(q, CallDeadlines.CONTROL_MS).wakeUp(w), ack -> { }, t -> LOG.debug("wake {} failed: {}", q, Calls.describe(t)));
        }
    }

    @Override
    public void probeRing(long probeId, List<String> queues) {
        if (queues.isEmpty()) {
            onLoop(now -> ring.onProbeDone(probeId, now));
            return;
        }
        AtomicInteger left = new AtomicInteger(queues.size());
        for (String q : queues) {
            Calls.on(queue(q, CallDeadlines.PROBE_MS).getTokenStatus(LayoutRequest.getDefaultInstance()),
                    s -> onLoop(now -> {
                        ring.onTokenStatus(probeId, q, s, now);
                        if (left.decrementAndGet() == 0) {
                            ring.onProbeDone(probeId, now);
                        }
                    }),
                    t -> onLoop(now -> {
                        ring.onProbeFailed(probeId, q, gone(t), now);
                        if (left.decrementAndGet() == 0) {
                            ring.onProbeDone(probeId, now);
                        }
                    }));
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
        Runnable done = () -> {
            if (left.decrementAndGet() == 0) {
                long[] lids;
                synchronized (merged) {
                    lids = merged.clone();
                }
                boolean complete = ok.get() == indexers.size();
                onLoop(now -> {
                    if (ok.get() == 0) {
                        ring.onExistsFailed(probeId, now);
                    } else {
                        ring.onExists(probeId, lids, complete, now);
                    }
                });
            }
        };
        for (String ix : indexers) {
            Calls.on(indexer(ix).exists(request), reply -> {
                synchronized (merged) {
                    for (int i = 0; i < merged.length && i < reply.getLidsCount(); i++) {
                        long lid = reply.getLids(i);
                        if (lid != 0 && (merged[i] == 0 || Long.compareUnsigned(lid, merged[i]) < 0)) {
                            merged[i] = lid;
                        }
                    }
                }
                ok.incrementAndGet();
                done.run();
            }, t -> {
                LOG.debug("exists on {} failed: {}", ix, Calls.describe(t));
                done.run();
            });
        }
    }

    @Override
    public void reject(List<String> indexers, long rejectId, List<Rejection> rejections) {
        IndexBatch batch = IndexBatch.newBuilder().addAllRejections(rejections).build();
        AtomicInteger left = new AtomicInteger(indexers.size());
        AtomicBoolean ok = new AtomicBoolean();
        for (String ix : indexers) {
            Calls.on(indexer(ix).index(batch), ack -> {
                ok.set(true);
                if (left.decrementAndGet() == 0) {
                    onLoop(now -> ring.onRejected(rejectId, true, now));
                }
            }, t -> {
                LOG.warn("could not store {} rejection(s) at {}: {}", rejections.size(), ix, Calls.describe(t));
                if (left.decrementAndGet() == 0) {
                    boolean any = ok.get();
                    onLoop(now -> ring.onRejected(rejectId, any, now));
                }
            });
        }
    }

    /**
     * Two rounds, so that no record slips between them: first which ids the
     * maintainers hold unindexed, then which the indexers know (a record is
     * unindexed at its maintainer until an indexer has it, so asking in this
     * order finds every stored one).
     */
    @Override
    public void verify(List<String> maintainers, List<String> indexers, long verifyId, List<String> ids) {
        HeldRequest held = HeldRequest.newBuilder().addAllIds(ids).build();
        Map<String, IdLedger.Found> found = new HashMap<>();
        gather(maintainers, m -> maintainer(m, CallDeadlines.STORE_MS).held(held), (String m, HeldReply r) -> {
            for (IdStatus s : r.getIdsList()) {
                found.put(s.getId(), new IdLedger.Found(s.getId(), s.getLid(), m, null));
            }
            long lowest = r.getLowestUnindexed();
            onLoop(now -> ring.onUnindexedFrom(verifyId, m, lowest, now));
        }, true, heldOk -> {
            if (!heldOk) {
                onLoop(now -> ring.onVerifyFailed(verifyId, now));
                return;
            }
            LookupRequest lookup = LookupRequest.newBuilder().addAllIds(ids).build();
            gather(indexers, ix -> indexer(ix).lookup(lookup), (String ix, LookupReply r) -> {
                for (IdStatus s : r.getIdsList()) {
                    IdLedger.Found f = IdLedger.Found.fromIndexer(s);
                    if (f != null) {
                        found.putIfAbsent(s.getId(), f);
                    }
                }
            }, false, lookupOk -> {
                if (!lookupOk) {
                    onLoop(now -> ring.onVerifyFailed(verifyId, now));
                    return;
                }
                List<IdLedger.Found> out = new ArrayList<>(ids.size());
                for (String id : ids) {
                    out.add(found.getOrDefault(id, IdLedger.Found.absent(id)));
                }
                onLoop(now -> ring.onVerified(verifyId, out, now));
            });
        });
    }

    /**
     * Calls every address; {@code each} sees every answer (serialized), {@code all} whether every call succeeded.
     * With no address, {@code all} gets {@code noneIsComplete}: whether nobody to ask is a complete answer.
     */
    private <T> void gather(List<String> addresses, java.util.function.Function<String,
            com.google.common.util.concurrent.ListenableFuture<T>> call, BiConsumer<String, T> each, boolean noneIsComplete,
            Consumer<Boolean> all) {
        if (addresses.isEmpty()) {
            all.accept(noneIsComplete);
            return;
        }
        AtomicInteger left = new AtomicInteger(addresses.size());
        AtomicBoolean failed = new AtomicBoolean();
        Object lock = new Object();
        for (String a : addresses) {
            Calls.on(call.apply(a), r -> {
                synchronized (lock) {
                    each.accept(a, r);
                }
                if (left.decrementAndGet() == 0) {
                    all.accept(!failed.get());
                }
            }, t -> {
                LOG.debug("verification call to {} failed: {}", a, Calls.describe(t));
                failed.set(true);
                if (left.decrementAndGet() == 0) {
                    all.accept(false);
                }
            });
        }
    }

    @Override
    public void indexedThrough(String m) {
        Calls.on(maintainer(m, CallDeadlines.CONTROL_MS).stats(ReadRequest.getDefaultInstance()),
                s -> onLoop(now -> ring.onIndexedThrough(m, s.getIndexedThrough(), now)),
                t -> onLoop(now -> ring.onIndexedThroughFailed(m, now)));
    }

    @Override
    public void indexHolders(String m, long askedAt) {
        Calls.on(maintainer(m, CallDeadlines.CONTROL_MS).stats(ReadRequest.getDefaultInstance()),
                s -> onLoop(now -> ring.onIndexHolders(m, askedAt, java.util.Set.copyOf(s.getIndexHoldersList()), now)),
                t -> onLoop(now -> ring.onIndexHoldersFailed(m, now)));
    }

    @Override
    public void store(String m, long batchId, long epoch, List<RecordEnvelope> records) {
        StoreRequest req = StoreRequest.newBuilder().setEpoch(epoch).addAllRecords(records).build();
        Calls.on(maintainer(m, CallDeadlines.STORE_MS).store(req),
                r -> onLoop(now -> ring.onStoreReply(m, batchId, r, now)),
                t -> onLoop(now -> ring.onStoreFailed(m, batchId, Calls.describe(t), now)));
    }

    @Override
    public void seal(String m, long attempt, long epoch, String by, long afterLid) {
        Calls.on(maintainer(m, CallDeadlines.CONTROL_MS).seal(SealRequest.newBuilder().setEpoch(epoch).setBy(by)
                        .setAfterLid(afterLid).build()),
                r -> onLoop(now -> ring.onSealed(m, attempt, r, now)),
                t -> onLoop(now -> ring.onSealFailed(m, attempt, Calls.describe(t), now)));
    }

    @Override
    public void fillHoles(String m, long attempt, long epoch, List<Long> lids) {
        Calls.on(maintainer(m, CallDeadlines.STORE_MS).fillHoles(HolesRequest.newBuilder().setEpoch(epoch).addAllLids(lids).build()),
                r -> onLoop(now -> ring.onHolesFilled(m, attempt, r, now)),
                t -> onLoop(now -> ring.onHolesFailed(m, attempt, Calls.describe(t), now)));
    }

    @Override
    public void probeMaintainer(String m) {
        Calls.on(maintainer(m, CallDeadlines.PROBE_MS).stats(ReadRequest.getDefaultInstance()),
                s -> onLoop(now -> ring.onMaintainerProbed(m, true, now)),
                t -> onLoop(now -> ring.onMaintainerProbed(m, false, now)));
    }

    @Override
    public void setLayout(String m, Layout layout) {
        Calls.on(maintainer(m, CallDeadlines.CONTROL_MS).setLayout(layout),
                r -> onLoop(now -> ring.onLayoutSet(m, layout, r, now)),
                t -> onLoop(now -> ring.onLayoutFailed(m, layout, Calls.describe(t), now)));
    }

    @Override
    public void reportLayout(Layout layout) {
        Calls.on(ControllerGrpc.newFutureStub(channels.get(controllerGrpc)).withDeadlineAfter(CallDeadlines.CONTROL_MS,
                        TimeUnit.MILLISECONDS).reportLayout(layout),
                ack -> { }, t -> LOG.info("could not report layout {}.{} to the controller: {}", layout.getEpoch(),
                        layout.getVersion(), Calls.describe(t)));
    }

    @Override
    @SuppressWarnings("unchecked")
    public void answer(Object handle, EnqueueReply reply) {
        StreamObserver<EnqueueReply> o = (StreamObserver<EnqueueReply>) handle;
        try {
            o.onNext(reply);
            o.onCompleted();
        } catch (RuntimeException e) {
            LOG.debug("filter went away before its answer: {}", e.toString());
        }
    }
}
