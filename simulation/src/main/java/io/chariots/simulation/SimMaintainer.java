package io.chariots.simulation;

import io.chariots.common.membership.Membership;
import io.chariots.maintainer.FlStore;
import io.chariots.maintainer.IndexFeeder;
import io.chariots.maintainer.MaintainerService;
import io.chariots.maintainer.RecordWriter;
import io.chariots.proto.BatchAck;
import io.chariots.proto.HeldReply;
import io.chariots.proto.IndexBatch;
import io.chariots.proto.Layout;
import io.chariots.proto.LayoutReply;
import io.chariots.proto.MaintainerStats;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.SealReply;
import io.chariots.proto.StoreReply;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.rocksdb.RocksDBException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A simulated maintainer running the real maintainer cores: its
 * {@link FlStore} (RocksDB in a memory environment that survives the node's
 * crashes, as a disk does), {@link RecordWriter} and {@link IndexFeeder},
 * which feeds the simulated indexers over the {@link SimNet}. A crash loses
 * all memory: the store is opened again from what it wrote (its unindexed
 * records found above its watermark) and the restarted feeder re-reads the
 * unindexed backlog, as the real ones do.
 */
final class SimMaintainer {
    final SimNet.Node node;
    private final org.rocksdb.RocksMemEnv disk = new org.rocksdb.RocksMemEnv(org.rocksdb.Env.getDefault());
    private final String address;
    private final Path dir;
    private FlStore store;
    private final SimNet net;
    private final Cluster cluster;
    private IndexFeeder feeder;
    private RecordWriter writer;
    private Membership view = Membership.NONE;

    SimMaintainer(SimNet net, String address, Cluster cluster, Path dir) {
        this.net = net;
        this.node = net.node(address);
        this.cluster = cluster;
        this.address = address;
        this.dir = dir;
        open();
        start();
    }

    private void open() {
        try {
            store = FlStore.openInMemory(dir.toString(), new FlStore.Tuning(false, 1L << 20, 1L << 20), disk);
            store.setSelf(address);
        } catch (RocksDBException e) {
            throw new IllegalStateException("cannot open a simulated flstore in " + dir, e);
        }
    }

    /** A restart after a crash: the store opened again from what it wrote, then {@link #start()}. */
    void restart() {
        store.close();
        open();
        start();
    }

    /** Closes the store and its memory environment (the end of a run). */
    void close() {
        store.close();
        disk.close();
    }

    /** A (re)start: a new feeder over the store, which schedules the whole unindexed backlog. */
    void start() {
        feeder = new IndexFeeder(store, this::sendIndex, net::nanos, new IndexFeeder.Limits(4, 500, 1 << 20, 5_000,
                Duration.ofMillis(20), Duration.ofMillis(500)));
        writer = new RecordWriter(store, feeder, new SimpleMeterRegistry(), 0);
        feeder.onMembership(view);
    }

    void onMembership(Membership m) {
        view = m;
        feeder.onMembership(m);
    }

    long tick() {
        return feeder.poll(net.nanos());
    }

    private void sendIndex(String indexer, IndexBatch batch, java.util.function.Consumer<Throwable> done) {
        SimIndexer ix = cluster.indexer(indexer);
        net.call(node, ix.node, 5_000, (SimNet.Reply<BatchAck> r) -> r.ok(ix.index(batch)), ack -> done.accept(null),
                why -> done.accept(new IllegalStateException(why)));
    }

    // ------------------------------------------------------------ served to queues

    StoreReply store(long epoch, List<RecordEnvelope> records) {
        return counted(io(() -> MaintainerService.storeReply(store, writer.write(epoch, records))));
    }

    StoreReply fillHoles(long epoch, List<Long> lids) {
        return counted(io(() -> MaintainerService.storeReply(store, writer.fillHoles(epoch, lids))));
    }

    /** Stores refused because another record (or hole) held an LId: the protocols must never cause one. */
    long conflicts;

    private StoreReply counted(StoreReply r) {
        if (r.getStatus() == StoreReply.Status.CONFLICT) {
            conflicts++;
        }
        return r;
    }

    /** Every LId this maintainer holds (records and holes). */
    List<RecordEnvelope> all() {
        return io(() -> {
            List<RecordEnvelope> out = new java.util.ArrayList<>();
            long from = 1;
            while (true) {
                List<RecordEnvelope> page = store.range(from, 10_000);
                if (page.isEmpty()) {
                    if (from > store.maxLid()) {
                        return out;
                    }
                    from += 10_000;
                    continue;
                }
                out.addAll(page);
                from = page.get(page.size() - 1).getLid() + 1;
            }
        });
    }

    SealReply seal(long epoch, String by, long afterLid) {
        return io(() -> store.seal(epoch, by, afterLid));
    }

    LayoutReply setLayout(Layout l) {
        return io(() -> store.setLayout(l));
    }

    HeldReply held(List<String> ids) {
        long lowest = store.lowestUnindexed();
        return HeldReply.newBuilder().addAllIds(store.held(ids)).setLowestUnindexed(lowest).build();
    }

    MaintainerStats stats() {
        return MaintainerService.stats(store);
    }

    private interface Io<T> {
        T call() throws RocksDBException;
    }

    private static <T> T io(Io<T> call) {
        try {
            return call.call();
        } catch (RocksDBException e) {
            throw new UncheckedIOException(new IOException(e));
        }
    }
}
