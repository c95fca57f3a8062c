package io.chariots.systemtests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Durable appends at a steady pace, as a user's functions would make them:
 * each thread posts one record at a time with {@code wait=true} and, until
 * it is acknowledged (200 with its LId), posts it again with the same id —
 * after a timeout, a 503, a 504 or a broken connection. Keeps what every
 * acknowledgement said and when the last one came, so a test can measure
 * how long appends stalled after a fault and check the log afterwards.
 */
final class SteadyLoad implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String appUrl;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final Map<String, Long> acked = new ConcurrentHashMap<>();
    private final AtomicLong lastAckNanos = new AtomicLong(System.nanoTime());
    private final AtomicLong resends = new AtomicLong();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean stopping;
    private volatile boolean finishing;
    private final Map<String, Long> unfinished = new ConcurrentHashMap<>();

    SteadyLoad(String appUrl, int threads, String prefix) {
        this.appUrl = appUrl;
        for (int t = 0; t < threads; t++) {
            String name = prefix + t;
            Thread th = new Thread(() -> run(name), "load-" + name);
            th.setDaemon(true);
            this.threads.add(th);
        }
    }

    SteadyLoad start() {
        threads.forEach(Thread::start);
        return this;
    }

    private void run(String name) {
        for (long n = 0; !stopping; n++) {
            String id = name + "-" + n;
            unfinished.put(id, n);
            boolean first = true;
            while (!(stopping && !finishing)) {
                if (!first) {
                    resends.incrementAndGet();
                }
                first = false;
                Long lid = post(id, n);
                if (lid != null) {
                    acked.put(id, lid);
                    unfinished.remove(id);
                    lastAckNanos.set(System.nanoTime());
                    break;
                }
                sleep(100);
            }
        }
    }

    /** One durable append: its LId, or null if it was not acknowledged (to be sent again). */
    private Long post(String id, long n) {
        String body = "{\"id\":\"" + id + "\",\"tags\":{\"load\":\"" + id + "\"},\"seed\":" + (n + 1) + "}";
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(appUrl + "/record?wait=true&timeout_ms=5000"))
                    .timeout(Duration.ofSeconds(8)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
                JsonNode j = JSON.readTree(r.body());
                return j.get("lid").asLong();
            }
            return null;
        } catch (Exception e) {
            return null;
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Acknowledged so far: id → LId. */
    Map<String, Long> acked() {
        return Map.copyOf(acked);
    }

    int ackedCount() {
        return acked.size();
    }

    long resends() {
        return resends.get();
    }

    /** Waits until at least {@code n} records are acknowledged; fails after {@code within}. */
    void awaitAcked(int n, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (acked.size() < n) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("only " + acked.size() + " of " + n + " records acknowledged in " + within);
            }
            Thread.sleep(50);
        }
    }

    /**
     * How long after {@code sinceNanos} the first acknowledgement came (the
     * append stall a fault caused), waiting up to {@code within}.
     */
    Duration stallAfter(long sinceNanos, Duration within) throws InterruptedException {
        long deadline = sinceNanos + within.toNanos();
        while (lastAckNanos.get() - sinceNanos <= 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no append was acknowledged within " + within + " of the fault");
            }
            Thread.sleep(10);
        }
        return Duration.ofNanos(lastAckNanos.get() - sinceNanos);
    }

    /** Stops taking new records, finishes (acknowledges) those begun, within {@code within}. */
    void finish(Duration within) throws InterruptedException {
        finishing = true;
        stopping = true;
        long deadline = System.nanoTime() + within.toNanos();
        for (Thread t : threads) {
            t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
        }
        if (!unfinished.isEmpty()) {
            throw new AssertionError(unfinished.size() + " record(s) never acknowledged: " + unfinished.keySet());
        }
    }

    @Override
    public void close() {
        finishing = false;
        stopping = true;
        for (Thread t : threads) {
            t.interrupt();
        }
    }
}
