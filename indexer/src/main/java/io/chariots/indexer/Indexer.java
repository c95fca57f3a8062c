package io.chariots.indexer;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.runtime.RoleRuntime;
import io.grpc.Server;
import io.micrometer.core.instrument.Gauge;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The indexer process. Startup wiring only: opens the {@link TagIndex} under
 * {@code data_dir/index}, starts the single {@link IndexWriter}, serves the
 * {@link IndexerService} on {@code grpc_port} (9040) with reads on a small
 * pool of their own, {@code /health} and {@code /metrics} on
 * {@code admin_port}, and registers with the controller.
 *
 * <p>Shutdown runs in reverse order of registration: the gRPC server stops
 * taking calls, the read pool drains, the writer finishes the batches it
 * holds, and only then is RocksDB closed.
 */
public final class Indexer implements RoleRuntime.Handle {
    private final RoleRuntime runtime;
    private final Server grpc;

    private Indexer(RoleRuntime runtime, Server grpc) {
        this.runtime = runtime;
        this.grpc = grpc;
    }

    /** Starts an indexer; on failure everything started so far is closed and the cause rethrown. */
    public static RoleRuntime.Handle start(RoleConfig config) throws Exception {
        return RoleRuntime.launch(config, rt -> {
            IndexerConfig ic = IndexerConfig.from(config);
            TagIndex index = rt.manage(TagIndex.open(rt.dataDir().resolve("index"),
                    ic.blockCacheBytes(), ic.writeBufferBytes()));
            IndexerMetrics metrics = new IndexerMetrics(rt.metrics().registry());
            IndexWriter writer = rt.manage(new IndexWriter(index, metrics, ic.maxPendingBytes()).start());
            rt.watch(writer.loop());
            Gauge.builder("chariots_indexer_pending_write_bytes", writer, IndexWriter::pendingBytes)
                    .description("Serialized index batches waiting for the writer").baseUnit("bytes")
                    .register(rt.metrics().registry());
            ExecutorService reads = Executors.newFixedThreadPool(ic.readThreads(), threads("indexer-read"));
            rt.manage(() -> {
                reads.shutdown();
                if (!reads.awaitTermination(5, TimeUnit.SECONDS)) {
                    reads.shutdownNow();
                }
            });
            Server grpc = rt.manage(rt.grpcServerBuilder(config.grpcPort())
                    .executor(reads)
                    .addService(new IndexerService(writer, new IndexQueries(index), metrics))
                    .build().start());
            rt.roleHealth(() -> health(index, writer, metrics, grpc));
            rt.startAdminServer();
            rt.join(grpc.getPort(), m -> { });
            return new Indexer(rt, grpc);
        });
    }

    private static Map<String, Object> health(TagIndex index, IndexWriter writer, IndexerMetrics metrics, Server grpc) {
        Map<String, Object> h = new LinkedHashMap<>();
        String writeError = writer.lastWriteError();
        if (writeError != null) {
            h.put("status", "WRITE_FAILING");
            h.put("lastWriteError", writeError);
        }
        h.put("grpcPort", grpc.getPort());
        h.put("entriesIndexed", (long) metrics.entriesIndexed());
        h.put("batchesIndexed", (long) metrics.batches());
        h.put("pendingWriteBytes", writer.pendingBytes());
        h.put("estimatedKeys", index.estimatedKeys());
        return h;
    }

    private static ThreadFactory threads(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** The bound gRPC port (useful when {@code grpc_port} is 0). */
    public int grpcPort() {
        return grpc.getPort();
    }

    @Override
    public RoleRuntime runtime() {
        return runtime;
    }
}
