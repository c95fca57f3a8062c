package io.chariots.simulation;

import io.chariots.common.membership.Membership;
import io.chariots.proto.Layout;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.Role;
import io.chariots.queue.QueueConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The simulated datacenter: queues, filters, maintainers and indexers on one
 * {@link SimNet}, and a controller that tells the queues and filters who is
 * up — a crashed member is dropped after {@code graceMs}, a paused one after
 * {@code silentMs}, as the real controller does — and which layout is the
 * newest it was told of.
 */
final class Cluster {
    private final SimNet net;
    final Map<String, SimQueue> queues = new LinkedHashMap<>();
    final Map<String, SimFilter> filters = new LinkedHashMap<>();
    final Map<String, SimMaintainer> maintainers = new LinkedHashMap<>();
    final Map<String, SimIndexer> indexers = new LinkedHashMap<>();
    private final Map<String, Long> joinSeq = new HashMap<>();
    private final Map<String, Long> unwellSince = new HashMap<>();
    private final Map<String, String> listed = new LinkedHashMap<>(); // address → instance listed
    private Layout layout = Layout.getDefaultInstance();
    private long version;
    private long nextJoin = 1;
    long graceMs = 1_500;
    long silentMs = 3_000;

    Cluster(SimNet net, int queues, int filters, int maintainers, int indexers, QueueConfig queueConfig, Path dir) {
        this.net = net;
        for (int i = 1; i <= queues; i++) {
            SimQueue q = new SimQueue(net, "q" + i, this, i == 1 ? queueConfig : withoutHold(queueConfig));
            this.queues.put(q.node.address, q);
        }
        for (int i = 1; i <= filters; i++) {
            SimFilter f = new SimFilter(net, "f" + i, this);
            this.filters.put(f.node.address, f);
        }
        for (int i = 1; i <= maintainers; i++) {
            SimMaintainer m = new SimMaintainer(net, "m" + i, this, dir.resolve("m" + i));
            this.maintainers.put(m.node.address, m);
        }
        for (int i = 1; i <= indexers; i++) {
            this.indexers.put("i" + i, new SimIndexer(net, "i" + i, dir.resolve("i" + i)));
        }
        this.queues.values().forEach(SimQueue::start);
        this.filters.values().forEach(SimFilter::start);
    }

    private static QueueConfig withoutHold(QueueConfig c) {
        return new QueueConfig(false, c.causeTimeout(), c.recentCapacity(), c.maintainerWindow(), c.maxBatch(),
                c.maxBuffered(), c.maxWaiting(), c.maxWaitingBytes(), c.maxPerHold(), c.maxWanted(), c.idleHold(), c.reprobeMin(), c.reprobeMax(),
                c.tokenTimeout(), c.passTimeout(), c.silenceTimeout(), c.quiesceTimeout(), c.dedupWindow(), c.dedupSettled(),
                c.dedupFilterBytes(), c.maintainerFailures(), c.maintainerRetry(), c.datacenter());
    }

    SimQueue queue(String address) {
        return queues.get(address);
    }

    SimMaintainer maintainer(String address) {
        return maintainers.get(address);
    }

    SimIndexer indexer(String address) {
        return indexers.get(address);
    }

    /** A queue told the controller of a layout (the controller itself never fails in these runs). */
    void reportLayout(SimNet.Node from, Layout l) {
        net.send(net.node("controller"), () -> {
            if (l.getEpoch() > layout.getEpoch() || (l.getEpoch() == layout.getEpoch() && l.getVersion() > layout.getVersion())) {
                layout = l;
                changed();
            }
        });
    }

    /** Every simulated millisecond: the controller's view of who is up, then every node that is up runs its timed work. */
    void tick() {
        if (net.nowMs() % 10 == 0) {
            watch();
        }
        for (SimQueue q : queues.values()) {
            poll(q.node, q::tick);
        }
        for (SimFilter f : filters.values()) {
            poll(f.node, f::tick);
        }
        for (SimMaintainer m : maintainers.values()) {
            poll(m.node, m::tick);
        }
    }

    /** Polls a node that is up when something happened to it or its timed work is due (its deadline, ns). */
    private void poll(SimNet.Node n, java.util.function.LongSupplier poll) {
        if (n.life != SimNet.Life.UP || (!n.dirty && net.nowMs() < n.pollAtMs)) {
            return;
        }
        long[] next = new long[1];
        net.as(n, () -> next[0] = poll.getAsLong());
        n.dirty = false;
        long dueMs = next[0] == Long.MAX_VALUE ? net.nowMs() + 1000 : (next[0] + SimNet.MS - 1) / SimNet.MS;
        n.pollAtMs = Math.max(net.nowMs() + 1, Math.min(dueMs, net.nowMs() + 1000));
    }

    private void watch() {
        boolean changed = false;
        List<SimNet.Node> all = new ArrayList<>();
        queues.values().forEach(q -> all.add(q.node));
        maintainers.values().forEach(m -> all.add(m.node));
        indexers.values().forEach(ix -> all.add(ix.node));
        for (SimNet.Node n : all) {
            String instance = instanceOf(n);
            boolean up = n.life == SimNet.Life.UP;
            if (up) {
                unwellSince.remove(n.address);
            } else {
                unwellSince.putIfAbsent(n.address, net.nowMs());
            }
            long limit = n.life == SimNet.Life.DOWN ? graceMs : silentMs;
            boolean list = up || net.nowMs() - unwellSince.get(n.address) < limit;
            String had = listed.get(n.address);
            if (list && !instance.equals(had) && up) {
                listed.put(n.address, instance);
                joinSeq.putIfAbsent(n.address, nextJoin++);
                changed = true;
            } else if (!list && had != null) {
                listed.remove(n.address);
                changed = true;
            }
        }
        if (changed) {
            changed();
        }
    }

    private String instanceOf(SimNet.Node n) {
        SimQueue q = queues.get(n.address);
        return q != null ? q.instance : n.address + "#" + n.incarnation;
    }

    private void changed() {
        version++;
        MembershipView.Builder v = MembershipView.newBuilder().setEpoch(1).setVersion(version).setLayout(layout);
        listed.forEach((addr, instance) -> v.addMembers(Member.newBuilder().setInstanceId(instance).setRole(roleOf(addr))
                .setAddress(addr).setGrpcAddress(addr).setJoinSeq(joinSeq.get(addr))));
        Membership view = new Membership(v.build());
        for (SimQueue q : queues.values()) {
            net.send(q.node, () -> q.ring.onMembership(view, net.nanos()));
        }
        for (SimFilter f : filters.values()) {
            net.send(f.node, () -> f.core.onMembership(view, net.nanos()));
        }
        for (SimMaintainer m : maintainers.values()) {
            net.send(m.node, () -> m.onMembership(view));
        }
    }

    private Role roleOf(String address) {
        if (queues.containsKey(address)) {
            return Role.QUEUE;
        }
        return maintainers.containsKey(address) ? Role.MAINTAINER : Role.INDEXER;
    }

    /** Pushes the current view again (to a node that restarted and lost it). */
    void pushView() {
        changed();
    }

    /** Every node's state, for a failed run's report. */
    String describe() {
        StringBuilder sb = new StringBuilder();
        for (SimQueue q : queues.values()) {
            var r = q.ring;
            sb.append(q.node.address).append('[').append(q.node.life).append(' ').append(r.state()).append(" epoch ")
                    .append(r.epoch()).append(" layout ").append(r.layout().getEpoch()).append('.').append(r.layout().getVersion())
                    .append(" ring ").append(r.layout().getRingList().stream().map(m -> m.getInstanceId()).toList())
                    .append(" live ").append(r.ledger().liveCount()).append(" held ").append(r.gate().heldCount())
                    .append(" ready ").append(r.gate().readyCount()).append(" unstored ").append(r.outbox().unstoredCount() == 0 ? "0" : "[" + r.outbox().describe() + "]")
                    .append(" verifying ").append(r.ledger().verifying())
                    .append(r.recovery() == null ? "" : " recovering " + r.recovery().step() + " " + r.recovery().waitingFor())
                    .append("] ");
        }
        for (SimFilter f : filters.values()) {
            sb.append(f.node.address).append('[').append(f.node.life).append(" epoch ").append(f.core.epoch())
                    .append(" batches ").append(f.core.batchesInFlight()).append(" (").append(f.core.describe()).append(")] ");
        }
        for (SimMaintainer m : maintainers.values()) {
            var st = m.stats();
            sb.append(m.node.address).append('[').append(m.node.life).append(" sealed ").append(st.getSealedEpoch())
                    .append(" layout ").append(st.getLayout().getEpoch()).append('.').append(st.getLayout().getVersion())
                    .append(" stored ").append(st.getStored()).append(" unindexed ").append(st.getUnindexed()).append("] ");
        }
        return sb.toString();
    }

    /** Closes every store (the end of a run). */
    void close() {
        maintainers.values().forEach(SimMaintainer::close);
        indexers.values().forEach(ix -> ix.index.close());
    }
}
