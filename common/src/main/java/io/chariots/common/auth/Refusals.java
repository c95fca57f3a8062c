package io.chariots.common.auth;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts refused calls by edge and reason, and logs each with its peer — at
 * most one line per edge and reason every {@value #LOG_EVERY_MS} ms, saying
 * how many were left out, so that a flood of bad calls cannot flood the log.
 * Thread-safe.
 */
public final class Refusals {
    private static final Logger LOG = LoggerFactory.getLogger(Refusals.class);
    static final long LOG_EVERY_MS = 10_000;

    private final String meter;
    private final String description;
    private final MeterRegistry registry;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> lastLogged = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> leftOut = new ConcurrentHashMap<>();

    /** @param meter the counter's name, tagged {@code edge} and {@code reason} */
    public Refusals(String meter, String description, MeterRegistry registry) {
        this.meter = meter;
        this.description = description;
        this.registry = registry;
    }

    /** Counts and (rate-limited) logs "refused WHAT from PEER: WHY". */
    public void refused(String edge, String reason, String why, String what, Object peer) {
        counter(edge, reason).increment();
        String key = edge + "/" + reason;
        long now = System.currentTimeMillis();
        AtomicLong last = lastLogged.computeIfAbsent(key, k -> new AtomicLong(Long.MIN_VALUE / 2));
        AtomicLong skipped = leftOut.computeIfAbsent(key, k -> new AtomicLong());
        long before = last.get();
        if (now - before < LOG_EVERY_MS || !last.compareAndSet(before, now)) {
            skipped.incrementAndGet();
            return;
        }
        long n = skipped.getAndSet(0);
        LOG.warn("refused {} from {}: {}{}", what, peer, why,
                n == 0 ? "" : " (and " + n + " more such refusals in the last " + (now - before) / 1000 + " s, not logged)");
    }

    /** Refusals so far on {@code edge} for {@code reason}. */
    public long count(String edge, String reason) {
        return (long) counter(edge, reason).count();
    }

    private Counter counter(String edge, String reason) {
        return counters.computeIfAbsent(edge + "/" + reason, k -> Counter.builder(meter).description(description)
                .tag("edge", edge).tag("reason", reason).register(registry));
    }
}
