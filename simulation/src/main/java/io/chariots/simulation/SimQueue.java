package io.chariots.simulation;

import io.chariots.proto.EnqueueReply;
import io.chariots.proto.ExistsReply;
import io.chariots.proto.ExistsRequest;
import io.chariots.proto.HeldReply;
import io.chariots.proto.IndexBatch;
import io.chariots.proto.LookupReply;
import io.chariots.proto.LookupRequest;
import io.chariots.proto.IdStatus;
import io.chariots.proto.Layout;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Rejection;
import io.chariots.proto.RingMember;
import io.chariots.proto.Token;
import io.chariots.proto.TokenAck;
import io.chariots.queue.CallDeadlines;
import io.chariots.queue.CauseKey;
import io.chariots.queue.DedupMemory;
import io.chariots.queue.IdLedger;
import io.chariots.queue.QueueConfig;
import io.chariots.queue.QueueMetrics;
import io.chariots.queue.TokenRing;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A queue of the simulated ring: the real {@link TokenRing}, its links
 * carried by the {@link SimNet} to the other simulated nodes. A crash loses
 * the whole TokenRing; the restart is a new instance at the same address.
 */
final class SimQueue implements TokenRing.Links {
    final SimNet.Node node;
    private final SimNet net;
    private final Cluster cluster;
    private final QueueConfig config;
    TokenRing ring;
    String instance;
    QueueMetrics metrics;
    // A clean stop under way: run once the ring is left.
    private Runnable onLeft;
    // The dedup memory the last clean stop kept, for the next start.
    private byte[] kept;
    // Clean stops that kept a memory (a run's report).
    int keptMemories;
    // Starts that found such a memory whole (counted at the next start).
    int wholeMemories;

    SimQueue(SimNet net, String address, Cluster cluster, QueueConfig config) {
        this.net = net;
        this.node = net.node(address);
        this.cluster = cluster;
        this.config = config;
    }

    void start() {
        if (ring != null && ring.keptMemoryWhole()) {
            wholeMemories++;
        }
        instance = node.address + "#" + node.incarnation;
        metrics = new QueueMetrics(new SimpleMeterRegistry());
        ring = new TokenRing(config, RingMember.newBuilder().setInstanceId(instance).setAddress(node.address).build(),
                this, metrics, new Random(net.random.nextLong()), net.nanos());
        onLeft = null;
        if (kept != null) {
            try {
                ring.restoreMemory(ring.readMemory(new DataInputStream(new ByteArrayInputStream(kept))), net.nanos(),
                        stamp());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } finally {
                kept = null; // taken once, as the file is
            }
        }
    }

    /**
     * A clean stop, as on SIGTERM: leaves the ring; once it has, keeps its
     * dedup memory (where a real queue writes its file) if the log's end it
     * knows is durable, and runs {@code stopped}, which takes it down.
     */
    void stopCleanly(Runnable stopped) {
        onLeft = stopped;
        ring.leave(net.nanos());
    }

    /** The simulated clock read as a host's: one boot, no clock set. */
    private DedupMemory.Stamp stamp() {
        return new DedupMemory.Stamp(net.nowMs(), "sim", net.nowMs());
    }

    /** A clean stop that did not leave the ring in time: killed without keeping anything. */
    void abandonStop() {
        onLeft = null;
    }

    long tick() {
        long next = ring.poll(net.nanos());
        if (onLeft != null && ring.left()) {
            long logEnd = ring.durableLogEnd();
            if (logEnd >= 0) {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                try {
                    ring.keepMemory(new DataOutputStream(bytes), logEnd, net.nanos(), stamp());
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                kept = bytes.toByteArray();
                keptMemories++;
            }
            Runnable stopped = onLeft;
            onLeft = null;
            stopped.run();
        }
        return next;
    }

    // ------------------------------------------------------------ served to others

    void enqueue(long epoch, List<RecordEnvelope> records, SimNet.Reply<EnqueueReply> reply) {
        ring.onEnqueue(epoch, records, reply, net.nanos());
    }

    /** As QueueService does: admitted off the loop from the published status, handled by the loop next. */
    void token(Token t, SimNet.Reply<TokenAck> reply) {
        TokenAck ack = ring.accept(t);
        reply.ok(ack);
        if (ack.getAccepted()) {
            TokenRing taking = ring;
            net.after(0, () -> net.onNode(node, () -> {
                if (ring == taking) { // not restarted meanwhile: a crash loses the token with the rest
                    taking.onToken(t, net.nanos());
                }
            }));
        }
    }

    // ------------------------------------------------------------ links

    private long now() {
        return net.nanos();
    }

    @Override
    public void passToken(String successor, Token token) {
        SimQueue to = cluster.queue(successor);
        long hop = token.getHop();
        net.call(node, to.node, CallDeadlines.PASS_MS, (SimNet.Reply<TokenAck> r) -> to.token(token, r), ack -> ring.onPassed(hop, ack, now()),
                why -> ring.onPassFailed(hop, !why.startsWith("DEADLINE_EXCEEDED"), why, now()));
    }

    @Override
    public void wake(List<String> queues, String self) {
        for (String q : queues) {
            SimQueue to = cluster.queue(q);
            net.call(node, to.node, CallDeadlines.CONTROL_MS, (SimNet.Reply<Boolean> r) -> {
                to.ring.onWake(self, net.nanos());
                r.ok(Boolean.TRUE);
            }, ok -> { }, why -> { });
        }
    }

    @Override
    public void probeRing(long probeId, List<String> queues) {
        if (queues.isEmpty()) {
            net.after(0, () -> net.onNode(node, () -> ring.onProbeDone(probeId, now())));
            return;
        }
        int[] left = {queues.size()};
        TokenRing probing = ring;
        for (String q : queues) {
            SimQueue to = cluster.queue(q);
            net.call(node, to.node, CallDeadlines.PROBE_MS, (SimNet.Reply<io.chariots.proto.TokenStatus> r) -> r.ok(to.ring.status(net.nanos())), s -> {
                probing.onTokenStatus(probeId, q, s, now());
                if (--left[0] == 0) {
                    probing.onProbeDone(probeId, now());
                }
            }, why -> {
                probing.onProbeFailed(probeId, q, !why.startsWith("DEADLINE_EXCEEDED"), now());
                if (--left[0] == 0) {
                    probing.onProbeDone(probeId, now());
                }
            });
        }
    }

    @Override
    public void exists(List<String> indexers, long probeId, List<CauseKey> keys) {
        List<io.chariots.proto.CauseKey> protoKeys = new ArrayList<>();
        for (CauseKey k : keys) {
            protoKeys.add(k.toProto());
        }
        int[] left = {indexers.size()};
        int[] ok = {0};
        long[] merged = new long[keys.size()];
        for (String ix : indexers) {
            SimIndexer to = cluster.indexer(ix);
            ExistsRequest req = ExistsRequest.newBuilder().addAllKeys(protoKeys).build();
            net.call(node, to.node, CallDeadlines.INDEX_MS, (SimNet.Reply<ExistsReply> r) -> r.ok(to.exists(req)),
                    reply -> {
                        ok[0]++;
                        for (int i = 0; i < merged.length; i++) {
                            long l = reply.getLids(i);
                            if (l != 0 && (merged[i] == 0 || l < merged[i])) {
                                merged[i] = l;
                            }
                        }
                        if (--left[0] == 0) {
                            ring.onExists(probeId, merged, ok[0] == indexers.size(), now());
                        }
                    }, why -> {
                        if (--left[0] == 0) {
                            if (ok[0] == 0) {
                                ring.onExistsFailed(probeId, now());
                            } else {
                                ring.onExists(probeId, merged, false, now());
                            }
                        }
                    });
        }
    }

    @Override
    public void reject(List<String> indexers, long rejectId, List<Rejection> rejections) {
        int[] left = {indexers.size()};
        boolean[] any = {false};
        for (String ix : indexers) {
            SimIndexer to = cluster.indexer(ix);
            IndexBatch batch = IndexBatch.newBuilder().addAllRejections(rejections).build();
            net.call(node, to.node, CallDeadlines.INDEX_MS, (SimNet.Reply<Boolean> r) -> {
                to.index(batch);
                r.ok(Boolean.TRUE);
            }, ok -> {
                any[0] = true;
                if (--left[0] == 0) {
                    ring.onRejected(rejectId, true, now());
                }
            }, why -> {
                if (--left[0] == 0) {
                    ring.onRejected(rejectId, any[0], now());
                }
            });
        }
    }

    @Override
    public void verify(List<String> maintainers, List<String> indexers, long verifyId, List<String> ids) {
        Map<String, IdLedger.Found> found = new HashMap<>();
        if (maintainers.isEmpty()) {
            lookup(indexers, verifyId, ids, found, false); // none to ask: every maintainer indexed its older records
            return;
        }
        int[] left = {maintainers.size()};
        boolean[] failed = {false};
        for (String m : maintainers) {
            SimMaintainer sm = cluster.maintainer(m);
            net.call(node, sm.node, CallDeadlines.STORE_MS, (SimNet.Reply<HeldReply> r) -> r.ok(sm.held(ids)), held -> {
                for (IdStatus s : held.getIdsList()) {
                    found.put(s.getId(), new IdLedger.Found(s.getId(), s.getLid(), m, null));
                }
                ring.onUnindexedFrom(verifyId, m, held.getLowestUnindexed(), now());
                if (--left[0] == 0) {
                    lookup(indexers, verifyId, ids, found, failed[0]);
                }
            }, why -> {
                failed[0] = true;
                if (--left[0] == 0) {
                    lookup(indexers, verifyId, ids, found, true);
                }
            });
        }
    }

    private void lookup(List<String> indexers, long verifyId, List<String> ids, Map<String, IdLedger.Found> found,
                        boolean failedAlready) {
        if (failedAlready) {
            ring.onVerifyFailed(verifyId, now());
            return;
        }
        int[] left = {indexers.size()};
        boolean[] failed = {false};
        for (String ix : indexers) {
            SimIndexer to = cluster.indexer(ix);
            LookupRequest req = LookupRequest.newBuilder().addAllIds(ids).build();
            net.call(node, to.node, CallDeadlines.INDEX_MS, (SimNet.Reply<LookupReply> r) -> r.ok(to.lookup(req)), statuses -> {
                for (IdStatus s : statuses.getIdsList()) {
                    IdLedger.Found f = IdLedger.Found.fromIndexer(s);
                    if (f != null) {
                        found.putIfAbsent(s.getId(), f);
                    }
                }
                if (--left[0] == 0) {
                    finish(verifyId, ids, found, failed[0]);
                }
            }, why -> {
                failed[0] = true;
                if (--left[0] == 0) {
                    finish(verifyId, ids, found, true);
                }
            });
        }
    }

    private void finish(long verifyId, List<String> ids, Map<String, IdLedger.Found> found, boolean failed) {
        if (failed) {
            ring.onVerifyFailed(verifyId, now());
            return;
        }
        List<IdLedger.Found> out = new ArrayList<>();
        for (String id : ids) {
            out.add(found.getOrDefault(id, IdLedger.Found.absent(id)));
        }
        ring.onVerified(verifyId, out, now());
    }

    @Override
    public void indexedThrough(String m) {
        SimMaintainer sm = cluster.maintainer(m);
        net.call(node, sm.node, CallDeadlines.CONTROL_MS, (SimNet.Reply<Long> r) -> r.ok(sm.stats().getIndexedThrough()), t -> ring.onIndexedThrough(m, t, now()),
                why -> ring.onIndexedThroughFailed(m, now()));
    }

    @Override
    public void store(String m, long batchId, long epoch, List<RecordEnvelope> records) {
        SimMaintainer sm = cluster.maintainer(m);
        net.call(node, sm.node, CallDeadlines.STORE_MS, (SimNet.Reply<io.chariots.proto.StoreReply> r) -> r.ok(sm.store(epoch, records)),
                reply -> ring.onStoreReply(m, batchId, reply, now()),
                why -> ring.onStoreFailed(m, batchId, why, now()));
    }

    @Override
    public void seal(String m, long attempt, long epoch, String by, long afterLid) {
        SimMaintainer sm = cluster.maintainer(m);
        net.call(node, sm.node, CallDeadlines.CONTROL_MS, (SimNet.Reply<io.chariots.proto.SealReply> r) -> r.ok(sm.seal(epoch, by, afterLid)), reply -> ring.onSealed(m, attempt, reply, now()),
                why -> ring.onSealFailed(m, attempt, why, now()));
    }

    @Override
    public void fillHoles(String m, long attempt, long epoch, List<Long> lids) {
        SimMaintainer sm = cluster.maintainer(m);
        net.call(node, sm.node, CallDeadlines.STORE_MS, (SimNet.Reply<io.chariots.proto.StoreReply> r) -> r.ok(sm.fillHoles(epoch, lids)),
                reply -> ring.onHolesFilled(m, attempt, reply, now()), why -> ring.onHolesFailed(m, attempt, why, now()));
    }

    @Override
    public void probeMaintainer(String m) {
        SimMaintainer sm = cluster.maintainer(m);
        net.call(node, sm.node, CallDeadlines.PROBE_MS, (SimNet.Reply<io.chariots.proto.MaintainerStats> r) -> r.ok(sm.stats()),
                stats -> ring.onMaintainerProbed(m, true, now()), why -> ring.onMaintainerProbed(m, false, now()));
    }

    @Override
    public void setLayout(String m, Layout layout) {
        SimMaintainer sm = cluster.maintainer(m);
        net.call(node, sm.node, CallDeadlines.CONTROL_MS, (SimNet.Reply<io.chariots.proto.LayoutReply> r) -> r.ok(sm.setLayout(layout)), reply -> ring.onLayoutSet(m, layout, reply, now()),
                why -> ring.onLayoutFailed(m, layout, why, now()));
    }

    @Override
    public void reportLayout(Layout layout) {
        cluster.reportLayout(node, layout);
    }

    @Override
    @SuppressWarnings("unchecked")
    public void answer(Object handle, EnqueueReply reply) {
        ((SimNet.Reply<EnqueueReply>) handle).ok(reply);
    }
}
