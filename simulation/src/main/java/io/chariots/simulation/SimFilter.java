package io.chariots.simulation;

import io.chariots.filter.FilterCore;
import io.chariots.proto.EnqueueReply;
import io.chariots.proto.Layout;
import io.chariots.proto.RecordEnvelope;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.util.List;

/** A simulated filter: the real {@link FilterCore}, calling queues over the {@link SimNet}. A crash loses it whole. */
final class SimFilter {
    final SimNet.Node node;
    private final SimNet net;
    private final Cluster cluster;
    FilterCore core;

    SimFilter(SimNet net, String address, Cluster cluster) {
        this.net = net;
        this.node = net.node(address);
        this.cluster = cluster;
    }

    void start() {
        core = new FilterCore(this::enqueue, this::fetchLayout, 1024, new SimpleMeterRegistry());
    }

    long tick() {
        return core.poll(net.nanos());
    }

    /** A batcher's batch: answered once every record is settled or parked, with the parked ids. */
    void forward(List<RecordEnvelope> records, SimNet.Reply<List<String>> reply) {
        core.onForward(records, reply::ok, net.nanos());
    }

    private void enqueue(String queue, long partId, long epoch, List<RecordEnvelope> records) {
        SimQueue q = cluster.queue(queue);
        FilterCore me = core;
        net.call(node, q.node, 120_000, (SimNet.Reply<EnqueueReply> r) -> q.enqueue(epoch, records, r),
                reply -> me.onReply(partId, reply, net.nanos()), why -> me.onFailed(partId, why, net.nanos()));
    }

    private void fetchLayout(String queue) {
        SimQueue q = cluster.queue(queue);
        FilterCore me = core;
        net.call(node, q.node, 2_000, (SimNet.Reply<Layout> r) -> r.ok(q.ring.layout()),
                l -> me.onLayout(l, net.nanos()), why -> { });
    }
}
