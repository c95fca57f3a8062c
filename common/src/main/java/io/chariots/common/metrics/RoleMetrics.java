package io.chariots.common.metrics;

import io.chariots.common.http.HttpServer;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A role's meters, exported as Prometheus text on {@code GET /metrics}, with
 * {@code GET /health} beside it. Every meter carries {@code role} and
 * {@code instance} tags.
 */
public final class RoleMetrics implements AutoCloseable {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final JvmGcMetrics gc = new JvmGcMetrics();
    private final JvmThreadCpu threadCpu = new JvmThreadCpu(); // held here: a function counter keeps only a weak reference

    public RoleMetrics(String role, String instance) {
        registry.config().commonTags(Tags.of("role", role, "instance", instance));
        new JvmMemoryMetrics().bindTo(registry);
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        io.micrometer.core.instrument.Gauge.builder("process_resident_memory_bytes", RoleMetrics::residentBytes)
                .description("Resident set size of this process, from /proc/self/status")
                .baseUnit("bytes").register(registry);
        if (JvmThreadCpu.readable()) { // elsewhere absent, not a misleading 0
            for (JvmThreadCpu.Kind kind : JvmThreadCpu.Kind.values()) {
                io.micrometer.core.instrument.FunctionCounter.builder("chariots_jvm_thread_cpu_seconds_total", threadCpu, c -> c.seconds(kind))
                        .tag("threads", kind.name().toLowerCase(java.util.Locale.ROOT))
                        .description("CPU seconds of this JVM's JIT compiler threads (jit), its garbage collector and VM threads (gc)"
                                + " or RocksDB's flush and compaction threads (rocksdb), from /proc/self/task: part of"
                                + " process_cpu_time_ns_total, apart from handling what the role is sent now")
                        .register(registry);
            }
        }
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** Prometheus exposition text. */
    public String scrape() {
        return registry.scrape();
    }

    /**
     * Adds {@code /metrics} and {@code /health} to {@code http}. The health
     * supplier returns the JSON body; its {@code "status"} value {@code "UP"}
     * answers 200, anything else 503.
     */
    public HttpServer.Builder addRoutes(HttpServer.Builder http, Supplier<Map<String, Object>> health) {
        return http
                .get("/metrics", ex -> ex.respond(HttpResponseStatus.OK, "text/plain; version=0.0.4; charset=utf-8",
                        scrape().getBytes(StandardCharsets.UTF_8)))
                .get("/health", ex -> {
                    Map<String, Object> h = health.get();
                    ex.json("UP".equals(h.get("status")) ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, h);
                });
    }

    /** This process's resident set size in bytes, or -1 where /proc is not available. */
    public static double residentBytes() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    String kb = line.substring(6).trim().split("\\s+")[0];
                    return Long.parseLong(kb) * 1024.0;
                }
            }
        } catch (Exception e) {
            return -1;
        }
        return -1;
    }

    @Override
    public void close() {
        gc.close();
        registry.close();
    }
}
