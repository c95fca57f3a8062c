package io.chariots.systemtests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.chariots.common.record.Fnv1a64;
import io.chariots.common.record.Unsigned64;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

/**
 * Durable appends at a steady pace, as a user's functions would make them:
 * each thread posts one record at a time with {@code wait=true} and, until
 * it is acknowledged (200 with its LId), posts it again with the same id —
 * after a timeout, a 503, a 504 or a broken connection. Every tenth record
 * is the effect of the thread's previous one (its tag hash as prehash, its
 * seed), and goes through the next app when there are several. Keeps what
 * every acknowledgement said and when it came, so a test can measure how long
 * appends stalled after a fault and check the log afterwards.
 */
final class SteadyLoad implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final IntFunction<String> appUrl;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final Map<String, Long> acked = new ConcurrentHashMap<>();
    private final Map<String, String> causeOf = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Long> ackTimes = new ConcurrentLinkedQueue<>();
    private final AtomicLong resends = new AtomicLong();
    private final List<Thread> threads = new ArrayList<>();
    private final Map<String, Long> unfinished = new ConcurrentHashMap<>();
    private final List<String> violations = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile boolean stopping;
    private volatile boolean finishing;

    /** {@code threads} writers; the n-th post of a record goes to {@code appUrl.apply(n)}. */
    SteadyLoad(IntFunction<String> appUrl, int threads, String prefix) {
        this.appUrl = appUrl;
        for (int t = 0; t < threads; t++) {
            String name = prefix + t;
            Thread th = new Thread(() -> run(name), "load-" + name);
            th.setDaemon(true);
            this.threads.add(th);
        }
    }

    SteadyLoad(String appUrl, int threads, String prefix) {
        this(n -> appUrl, threads, prefix);
    }

    SteadyLoad start() {
        threads.forEach(Thread::start);
        return this;
    }

    private void run(String name) {
        String previous = null;
        long previousSeed = 0;
        for (long n = 0; !stopping; n++) {
            String id = name + "-" + n;
            boolean effect = previous != null && n % 10 == 0;
            long seed = effect ? previousSeed : n + 1;
            long prehash = effect ? Fnv1a64.hashTag("load", previous) : 0;
            if (effect) {
                causeOf.put(id, previous);
            }
            unfinished.put(id, n);
            int attempt = 0;
            while (!(stopping && !finishing)) {
                if (attempt > 0) {
                    resends.incrementAndGet();
                }
                // Record n goes to app n (mod the apps), so an effect enters through another app than its cause.
                Long lid = post(appUrl.apply((int) (n + attempt)), id, seed, prehash);
                attempt++;
                if (lid != null) {
                    Long before = acked.putIfAbsent(id, lid);
                    if (before != null && before.longValue() != lid) {
                        violations.add(id + " acknowledged at LId " + before + " and again at LId " + lid);
                    }
                    unfinished.remove(id);
                    ackTimes.add(System.nanoTime());
                    break;
                }
                sleep(100);
            }
            previous = id;
            previousSeed = seed;
        }
    }

    /** One durable append: its LId, or null if it was not acknowledged (to be sent again). */
    private Long post(String url, String id, long seed, long prehash) {
        String body = "{\"id\":\"" + id + "\",\"tags\":{\"load\":\"" + id + "\"},\"seed\":\"" + Unsigned64.toString(seed)
                + "\",\"prehash\":\"" + Unsigned64.toString(prehash) + "\"}";
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url + "/record?wait=true&timeout_ms=5000"))
                    .timeout(Duration.ofSeconds(8)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
                JsonNode j = JSON.readTree(r.body());
                return j.get("lid").asLong();
            }
            if (r.statusCode() == 409) {
                violations.add(id + " rejected: " + r.body());
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

    /** Effect id → cause id, for every effect sent. */
    Map<String, String> causes() {
        return Map.copyOf(causeOf);
    }

    /** An id acknowledged at two LIds, or a record rejected (its cause was acknowledged before it was sent). */
    List<String> violations() {
        return List.copyOf(violations);
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

    /** Waits until {@code more} records beyond those acknowledged now are acknowledged. */
    void awaitMore(int more, Duration within) throws InterruptedException {
        awaitAcked(acked.size() + more, within);
    }

    /**
     * The longest time without any acknowledgement between {@code fromNanos}
     * and {@code toNanos} (System.nanoTime): the append stall a fault caused.
     */
    Duration longestGap(long fromNanos, long toNanos) {
        List<Long> times = new ArrayList<>();
        for (long t : ackTimes) {
            if (t - fromNanos > 0 && t - toNanos < 0) {
                times.add(t);
            }
        }
        times.sort(null);
        long gap = 0;
        long last = fromNanos;
        for (long t : times) {
            gap = Math.max(gap, t - last);
            last = t;
        }
        gap = Math.max(gap, toNanos - last);
        return Duration.ofNanos(gap);
    }

    /** Acknowledgements that came between the two instants. */
    long acksBetween(long fromNanos, long toNanos) {
        return ackTimes.stream().filter(t -> t - fromNanos > 0 && t - toNanos < 0).count();
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
