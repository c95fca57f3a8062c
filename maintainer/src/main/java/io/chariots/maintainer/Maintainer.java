package io.chariots.maintainer;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.grpc.ChannelPool;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.common.membership.Membership;
import io.chariots.common.read.LogReader;
import io.chariots.common.runtime.RoleRuntime;
import io.grpc.Server;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.util.concurrent.DefaultThreadFactory;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The maintainer process. Startup wiring only: the flstore (RocksDB in
 * {@code data_dir/flstore}), the loop that owns writes and index feeding, a
 * small read pool, the {@code Maintainer} gRPC service on {@code grpc_port}
 * (9030), {@code /health} and {@code /metrics} on the admin port, and
 * membership (the indexers to feed).
 *
 * <p>Shutdown runs in reverse: gRPC server, loop, indexer channels, read
 * pool, then the flstore, so nothing touches RocksDB once it is closed.
 */
public final class Maintainer {
    private Maintainer() {
    }

    /** A running maintainer and the gRPC port it bound; {@link #close} stops it. */
    public record Running(RoleRuntime runtime, int grpcPort) implements RoleRuntime.Handle {
    }

    public static RoleRuntime.Handle start(RoleConfig config) throws Exception {
        return launch(config);
    }

    /** As {@link #start}, with the parts tests look at. */
    static Running launch(RoleConfig config) throws Exception {
        return RoleRuntime.launch(config, rt -> {
            MaintainerConfig mc = MaintainerConfig.from(config);
            FlStore store = rt.manage(FlStore.open(rt.dataDir().resolve("flstore"), mc.tuning()));
            ExecutorService reads = new ThreadPoolExecutor(mc.readThreads(), mc.readThreads(), 0, TimeUnit.SECONDS,
                    new ArrayBlockingQueue<>(1024), new DefaultThreadFactory("maintainer-read", true),
                    new ThreadPoolExecutor.AbortPolicy());
            rt.manage(() -> {
                reads.shutdown();
                if (!reads.awaitTermination(5, TimeUnit.SECONDS)) {
                    reads.shutdownNow();
                    reads.awaitTermination(5, TimeUnit.SECONDS);
                }
            });
            NanoClock clock = NanoClock.SYSTEM;
            IndexFeeder[] feederRef = new IndexFeeder[1];
            AppendNotices[] noticesRef = new AppendNotices[1];
            ShareRefeed[] refeedRef = new ShareRefeed[1];
            Shipping[] shippingRef = new Shipping[1];
            EventLoop loop = new EventLoop("maintainer", clock, now -> {
                long next = EventLoop.Ticker.earlier(refeedRef[0].poll(now), feederRef[0].poll(now));
                noticesRef[0].poll();
                return next;
            });
            IndexerClients clients = rt.manage(new IndexerClients(rt.transport(), loop, mc.indexDeadline()));
            EdgeClients edges = rt.manage(new EdgeClients(rt.transport(), loop, mc.noticeDeadline()));
            AppendNotices notices = new AppendNotices(edges, mc.notices());
            noticesRef[0] = notices;
            IndexShares shares = new IndexShares(store);
            DepartureWatch departures = new DepartureWatch(mc.indexerGone().toNanos());
            IndexFeeder.Indexed indexed = entries -> {
                notices.indexed(entries);
                refeedRef[0].onIndexed(entries);
            };
            IndexFeeder feeder = new IndexFeeder(shares.recording(store), clients, clock, mc.feeder(), indexed);
            feederRef[0] = feeder;
            refeedRef[0] = new ShareRefeed(shares, departures, IndexEntries.storedIn(store), feeder::refeed,
                    mc.reindexWindow(), clock.nanoTime());
            ShareRefeed refeed = refeedRef[0];
            rt.manage(loop.start());

            MeterRegistry meters = rt.metrics().registry();
            RecordWriter writer = new RecordWriter(store, feeder, meters, config.datacenter());
            registerMeters(meters, store, feeder, notices);
            registerReindexMeters(meters, refeed);
            rt.roleHealth(() -> {
                Map<String, Object> h = new LinkedHashMap<>();
                h.put("stored", store.count());
                h.put("maxLid", Long.toUnsignedString(store.maxLid()));
                h.put("unindexed", store.unindexedCount());
                h.put("holes", store.holes());
                h.put("sealedEpoch", Long.toUnsignedString(store.sealedEpoch()));
                h.put("floor", Long.toUnsignedString(store.floor()));
                h.put("indexedThrough", Long.toUnsignedString(store.indexedThrough()));
                h.put("indexers", feeder.indexerCount());
                h.put("indexInFlight", feeder.entriesInFlight());
                h.put("indexHolders", new java.util.TreeSet<>(shares.holders()));
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("running", refeed.running());
                r.put("departed", refeed.departed());
                r.put("pendingBlocks", refeed.pendingBlocks());
                r.put("throughLid", Long.toUnsignedString(refeed.throughLid()));
                r.put("entriesRefed", refeed.entriesRefed());
                h.put("reindex", r);
                Map<String, Object> shipping = shippingRef[0] == null ? Map.of() : shippingRef[0].health();
                if (!shipping.isEmpty()) {
                    h.put("replication", shipping);
                }
                return h;
            });

            Server grpc = rt.manage(rt.grpcServerBuilder(config.grpcPort())
                    .addService(new MaintainerService(loop, writer, store, reads, shares::holders)).build().start());
            String selfAddress = rt.advertiseHost() + ":" + grpc.getPort();
            nameSelf(loop, store, selfAddress);

            // Shipping this datacenter's records to the others runs on a loop of its own: it never delays a store.
            AtomicReference<Membership> view =
                    new AtomicReference<>();
            ChannelPool peers = rt.manage(new ChannelPool(rt.transport()));
            LogReader logReader = new LogReader(peers, view::get,
                    Duration.ofSeconds(10));
            EventLoop shipLoop = new EventLoop("shipping", clock, now -> shippingRef[0].poll(now));
            shippingRef[0] = rt.manage(new Shipping(config.datacenter(), config.remoteDatacenters(),
                    rt.transport().secret(), rt.transport(), logReader, peers, view::get, shipLoop, clock, meters, selfAddress,
                    OriginShipper.Limits.defaults()));
            rt.manage(shipLoop.start());
            rt.startAdminServer();
            rt.join(grpc.getPort(), members -> {
                view.set(members);
                shipLoop.execute(() -> shippingRef[0].onMembership(members));
                loop.execute(() -> {
                    if (feeder.onMembership(members)) {
                        clients.retain(feeder.indexers());
                        departures.onView(java.util.Set.copyOf(feeder.indexers()), clock.nanoTime());
                    }
                });
            }).note(shippingRef[0]::summary); // how the links to other datacenters are, in /cluster
            return new Running(rt, grpc.getPort());
        });
    }

    /**
     * Tells the store the address stripes name this maintainer by, once the
     * port is bound (it may be ephemeral). On the loop, as every write; a
     * Store that slipped in before it only left the floor behind, and this
     * advances it.
     */
    private static void nameSelf(EventLoop loop, FlStore store, String self) throws Exception {
        CompletableFuture<Void> named = new CompletableFuture<>();
        loop.execute(() -> {
            try {
                store.setSelf(self);
                named.complete(null);
            } catch (Exception e) {
                named.completeExceptionally(e);
            }
        });
        named.get(30, TimeUnit.SECONDS);
    }

    private static void registerReindexMeters(MeterRegistry meters, ShareRefeed refeed) {
        Gauge.builder("chariots_maintainer_reindex_pending", refeed, ShareRefeed::pendingBlocks)
                .description("Blocks (1000 LIds) of this maintainer's records whose index entries, held by an "
                        + "indexer that left for good, are not yet re-fed to the others; 0 when no re-feed runs")
                .register(meters);
        Gauge.builder("chariots_maintainer_reindex_departed", refeed, r -> r.departed().size())
                .description("Departed indexers whose share of the index is being re-fed").register(meters);
        FunctionCounter.builder("chariots_maintainer_reindex_entries_total", refeed, ShareRefeed::entriesRefed)
                .description("Index entries re-fed (and acknowledged) after an indexer left for good").register(meters);
    }

    private static void registerMeters(MeterRegistry meters, FlStore store, IndexFeeder feeder, AppendNotices notices) {
        FunctionCounter.builder("chariots_maintainer_append_notices_sent_total", notices, AppendNotices::noticesSent)
                .description("Appended notices delivered to the edges that wait for them").register(meters);
        FunctionCounter.builder("chariots_maintainer_append_notices_failed_total", notices, AppendNotices::noticesFailed)
                .description("Appended notices whose call failed; dropped, the edge looks the ids up").register(meters);
        FunctionCounter.builder("chariots_maintainer_append_notices_dropped_total", notices, AppendNotices::noticesDropped)
                .description("Appended notices dropped because too many were waiting").register(meters);
        FunctionCounter.builder("chariots_maintainer_index_entries_sent_total", feeder, IndexFeeder::entriesSent)
                .description("Index entries sent to indexers, retries included").register(meters);
        FunctionCounter.builder("chariots_maintainer_index_entries_acked_total", feeder, IndexFeeder::entriesAcked)
                .description("Index entries acknowledged by indexers").register(meters);
        FunctionCounter.builder("chariots_maintainer_index_batches_failed_total", feeder, IndexFeeder::batchesFailed)
                .description("Index batches that failed and were queued again").register(meters);
        Gauge.builder("chariots_maintainer_unindexed", store, FlStore::unindexedCount)
                .description("Stored records no indexer has acknowledged yet").register(meters);
        Gauge.builder("chariots_maintainer_stored", store, FlStore::count)
                .description("Records in the flstore").register(meters);
        Gauge.builder("chariots_maintainer_max_lid", store, s -> (double) s.maxLid())
                .description("Highest LId in the flstore").register(meters);
        Gauge.builder("chariots_maintainer_indexers", feeder, IndexFeeder::indexerCount)
                .description("Indexers being fed").register(meters);
    }
}
