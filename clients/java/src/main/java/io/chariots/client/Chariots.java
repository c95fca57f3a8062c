package io.chariots.client;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A Chariots log over HTTP (the app, port 8080): appends, durable appends,
 * batched asynchronous appends, and reads. Thread-safe; one per application.
 *
 * <pre>{@code
 * try (Chariots log = Chariots.connect("http://localhost:8080")) {
 *     Event order = log.append(Map.of("order", "42"));                          // a new chain
 *     Event paid = log.appendDurable(Map.of("paid", "42"), Cause.causedBy(order, "order"));
 *     for (LogEntry e : log.trace(order.seed())) System.out.println(e);        // the chain, cause first
 * }
 * }</pre>
 *
 * <p>Appends are retry-safe: every record carries an id (generated here
 * unless given), the client retries a 503 (after {@code Retry-After}) or a
 * network failure with the same id, and the cluster appends each id once.
 */
public final class Chariots implements AutoCloseable {
    private final URI base;
    private final HttpClient http;
    private final Duration timeout;
    private final int retries;
    private final Duration linger;
    private final int maxBatch;
    private final int maxPendingAsync;
    private final Semaphore asyncRoom;
    /** {@code Bearer TOKEN}, or null. */
    private final String authorization;
    private final LinkedBlockingQueue<Pending> asyncQueue = new LinkedBlockingQueue<>();
    private volatile Thread asyncSender;
    private volatile boolean closed;

    /** An async append, serialized when it was made: the caller may reuse or change its draft. */
    private record Pending(String json, Event event, CompletableFuture<Event> done) {
    }

    /** Settings of a {@link Chariots}; every one has a default. */
    public static final class Builder {
        private final String url;
        private Duration timeout = Duration.ofSeconds(30);
        private int retries = 5;
        private Duration linger = Duration.ofMillis(1);
        private int maxBatch = 1000;
        private int maxPendingAsync = 100_000;
        private String token;
        private javax.net.ssl.SSLContext ssl;

        private Builder(String url) {
            this.url = url;
        }

        /** Per-request timeout (default 30 s; durable appends wait up to the server's own limit within it). */
        public Builder timeout(Duration d) {
            this.timeout = d;
            return this;
        }

        /** Retries of a 503 or network failure before giving up (default 5, with backoff). */
        public Builder retries(int n) {
            this.retries = n;
            return this;
        }

        /** How long an async append waits to share a request with others (default 1 ms). */
        public Builder linger(Duration d) {
            this.linger = d;
            return this;
        }

        /** Most records per request of async appends (default 1000). */
        public Builder maxBatch(int n) {
            this.maxBatch = n;
            return this;
        }

        /** Async appends not yet acknowledged above which {@code appendAsync} blocks (default 100,000). */
        public Builder maxPendingAsync(int n) {
            this.maxPendingAsync = n;
            return this;
        }

        /**
         * The client token to send ({@code Authorization: Bearer TOKEN}), for a
         * cluster that requires one ({@code client_token}); none by default.
         */
        public Builder token(String t) {
            this.token = t;
            return this;
        }

        /**
         * Trusts the certificate authority in {@code caPem} (PEM) for an
         * {@code https://} URL, e.g. the one {@code ./chariots up --tls} made;
         * by default the JDK's trusted authorities.
         */
        public Builder trust(java.nio.file.Path caPem) {
            this.ssl = trusting(caPem);
            return this;
        }

        public Chariots build() {
            return new Chariots(this);
        }
    }

    /**
     * An SSL context that trusts only the authority (or authorities) in
     * {@code caPem} (PEM), e.g. for a {@code java.net.http.HttpClient} of your own.
     *
     * @throws IllegalArgumentException naming the file when it cannot be read or holds no certificate
     */
    public static javax.net.ssl.SSLContext trusting(java.nio.file.Path caPem) {
        try (java.io.InputStream in = java.nio.file.Files.newInputStream(caPem)) {
            java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            int i = 0;
            for (java.security.cert.Certificate c : java.security.cert.CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                ks.setCertificateEntry("ca" + i++, c);
            }
            if (i == 0) {
                throw new IllegalArgumentException(caPem + " holds no certificate");
            }
            javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
                    javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (java.io.IOException | java.security.GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot read the certificate authority " + caPem + ": " + e.getMessage(), e);
        }
    }

    /** A client of the app at {@code url} (e.g. {@code http://localhost:8080}) with default settings. */
    public static Chariots connect(String url) {
        return builder(url).build();
    }

    public static Builder builder(String url) {
        return new Builder(url);
    }

    private Chariots(Builder b) {
        String u = b.url.endsWith("/") ? b.url.substring(0, b.url.length() - 1) : b.url;
        this.base = URI.create(u);
        if (base.getScheme() == null || base.getHost() == null) {
            throw new IllegalArgumentException("not an http URL: " + b.url);
        }
        if (b.retries < 0 || b.maxBatch < 1 || b.maxPendingAsync < 1) {
            throw new IllegalArgumentException("retries must be ≥ 0, maxBatch and maxPendingAsync ≥ 1");
        }
        this.timeout = b.timeout;
        this.retries = b.retries;
        this.linger = b.linger;
        this.maxBatch = b.maxBatch;
        this.maxPendingAsync = b.maxPendingAsync;
        this.asyncRoom = new Semaphore(b.maxPendingAsync);
        this.authorization = b.token == null || b.token.isBlank() ? null : "Bearer " + b.token.strip();
        HttpClient.Builder hb = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5));
        if (b.ssl != null) {
            hb.sslContext(b.ssl);
        }
        this.http = hb.build();
    }

    // ------------------------------------------------------------ appends

    /** Appends a record once a batcher has it; returns it with its id and seed (not yet its LId). */
    public Event append(Map<String, String> tags, Cause... causes) {
        return append(Draft.of(tags).causedBy(causes));
    }

    public Event append(Draft draft) {
        Event e = draft.event();
        post("/record", draft.json(e), false);
        return e;
    }

    /**
     * Appends a record and returns once it is persisted and indexed, with its
     * LId.
     *
     * @throws AppendTimeoutException if it is not durable within the server's wait (retry: same id, appended once)
     * @throws RejectedException      if a cause never came
     */
    public Event appendDurable(Map<String, String> tags, Cause... causes) {
        return appendDurable(Draft.of(tags).causedBy(causes));
    }

    public Event appendDurable(Draft draft) {
        Event e = draft.event();
        Map<String, Object> m = Json.object(post("/record?wait=true", draft.json(e), true));
        if (m.get("lid") == null) {
            throw new ChariotsException("the app answered a durable append without an LId (" + Json.abbreviate(m.toString())
                    + "): it does not support wait=true", 0, null);
        }
        return new Event(e.id(), e.seed(), e.tags(), LogEntry.u64(m.get("lid")),
                m.get("host") instanceof Number n ? n.intValue() : -1);
    }

    /** Appends several records in one request (all or nothing: a bad one rejects the request). */
    public List<Event> appendAll(List<Draft> drafts) {
        if (drafts.isEmpty()) {
            return List.of();
        }
        List<Event> events = new ArrayList<>(drafts.size());
        post("/record", Draft.jsonArray(drafts, events), false);
        return events;
    }

    /**
     * Appends asynchronously; records appended within {@code linger} of each
     * other share one request. Blocks while {@code maxPendingAsync} appends
     * are unacknowledged (backpressure). The future fails with a
     * {@link ChariotsException} if the request fails after retries.
     */
    public CompletableFuture<Event> appendAsync(Map<String, String> tags, Cause... causes) {
        return appendAsync(Draft.of(tags).causedBy(causes));
    }

    public CompletableFuture<Event> appendAsync(Draft draft) {
        if (closed) {
            throw new IllegalStateException("client closed");
        }
        Event e = draft.event();
        String json = draft.json(e);
        CompletableFuture<Event> done = new CompletableFuture<>();
        asyncRoom.acquireUninterruptibly();
        asyncQueue.add(new Pending(json, e, done));
        startAsyncSender();
        return done;
    }

    private synchronized void startAsyncSender() {
        if (asyncSender == null) {
            asyncSender = new Thread(this::sendAsyncBatches, "chariots-async-appends");
            asyncSender.setDaemon(true);
            asyncSender.start();
        }
    }

    private void sendAsyncBatches() {
        List<Pending> batch = new ArrayList<>();
        while (!closed || !asyncQueue.isEmpty()) {
            try {
                Pending first = asyncQueue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                long until = System.nanoTime() + linger.toNanos();
                while (batch.size() < maxBatch) {
                    Pending p = asyncQueue.poll(Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS);
                    if (p == null) {
                        break;
                    }
                    batch.add(p);
                }
                StringBuilder body = new StringBuilder("[");
                for (Pending p : batch) {
                    body.append(body.length() > 1 ? "," : "").append(p.json());
                }
                try {
                    post("/record", body.append(']').toString(), false);
                    batch.forEach(p -> p.done().complete(p.event()));
                } catch (RuntimeException ex) {
                    batch.forEach(p -> p.done().completeExceptionally(ex));
                }
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                return;
            } finally {
                asyncRoom.release(batch.size());
                batch.clear();
            }
        }
    }

    /**
     * Waits until every async append so far is acknowledged (or failed): until
     * the sender has given back every slot, which it does only after
     * completing the appends' futures.
     */
    public void flush() {
        while (asyncRoom.availablePermits() < maxPendingAsync) {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    // ------------------------------------------------------------ reads

    /** The record at {@code lid}, if the log has one. */
    public Optional<LogEntry> get(long lid) {
        try {
            return Optional.of(LogEntry.from(Json.object(getText("/record/" + Long.toUnsignedString(lid)))));
        } catch (NotFoundException e) {
            return Optional.empty();
        }
    }

    /** One page of the log: records {@code from}, {@code from+1}, … (at most {@code limit} ≤ 1000), and the next page's start. */
    public Page records(long from, int limit) {
        return page("/records?from=" + Long.toUnsignedString(from) + "&limit=" + limit);
    }

    /** Every record carrying tag {@code key:value}, in LId order (pages fetched as the iteration goes). */
    public Iterable<LogEntry> byTag(String key, String value) {
        String q = "/records?limit=1000&tag=" + URLEncoder.encode(key + ":" + value, StandardCharsets.UTF_8);
        return () -> new Pages(this, q);
    }

    /** The chain {@code seed}: every record in log order, each with the LIds of its causes. */
    public List<LogEntry> trace(long seed) {
        List<LogEntry> out = new ArrayList<>();
        new Pages(this, "/trace/" + Long.toUnsignedString(seed) + "?limit=1000").forEachRemaining(out::add);
        return out;
    }

    /** Where the record with this id is: appended, pending, rejected, or unknown. */
    public AppendStatus status(String id) {
        Map<String, Object> m;
        try {
            m = Json.object(getText("/record?id=" + URLEncoder.encode(id, StandardCharsets.UTF_8)));
        } catch (NotFoundException e) {
            return new AppendStatus(id, AppendStatus.State.UNKNOWN, 0, "");
        }
        String status = String.valueOf(m.get("status"));
        return switch (status) {
            case "appended" -> new AppendStatus(id, AppendStatus.State.APPENDED, LogEntry.u64(m.get("lid")), "");
            case "pending" -> new AppendStatus(id, AppendStatus.State.PENDING, 0, "waiting for " + m.get("waitingFor"));
            case "rejected" -> new AppendStatus(id, AppendStatus.State.REJECTED, 0, String.valueOf(m.get("reason")));
            default -> new AppendStatus(id, AppendStatus.State.UNKNOWN, 0, "");
        };
    }

    /**
     * Follows the log from {@code from}: every record in LId order as the log
     * grows, reconnecting (from the last LId seen plus one) if the connection
     * drops. Close it to stop.
     */
    public Tail tail(long from) {
        return new Tail(http, base, from, authorization);
    }

    /** A page of records and where the next one starts. */
    public record Page(List<LogEntry> records, long next) {
    }

    Page page(String pathAndQuery) {
        Map<String, Object> m = Json.object(getText(pathAndQuery));
        List<LogEntry> records = new ArrayList<>();
        for (Object o : (List<?>) m.get("records")) {
            @SuppressWarnings("unchecked")
            Map<String, Object> r = (Map<String, Object>) o;
            records.add(LogEntry.from(r));
        }
        return new Page(records, LogEntry.u64(m.get("next")));
    }

    // ------------------------------------------------------------ HTTP

    private String getText(String pathAndQuery) {
        return send(request(pathAndQuery).GET().build(), false);
    }

    private String post(String pathAndQuery, String json, boolean durable) {
        return send(request(pathAndQuery)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8)).build(), durable);
    }

    private HttpRequest.Builder request(String pathAndQuery) {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(pathAndQuery)).timeout(timeout);
        return authorization == null ? b : b.header("Authorization", authorization);
    }

    private String send(HttpRequest req, boolean durable) {
        ChariotsException last = null;
        long waitMs = 0; // before the next attempt: the server's Retry-After, else the backoff
        for (int attempt = 0; attempt <= retries; attempt++) {
            if (attempt > 0) {
                sleep(waitMs);
            }
            waitMs = backoffMillis(attempt + 1);
            HttpResponse<String> r;
            try {
                r = http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            } catch (IOException e) {
                last = new UnavailableException(req.method() + " " + req.uri() + ": " + e, 0, e);
                continue;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new UnavailableException("interrupted", 0, e);
            }
            int code = r.statusCode();
            if (code / 100 == 2) {
                return r.body();
            }
            Map<String, Object> err = errorBody(r.body());
            String message = err.get("error") != null ? String.valueOf(err.get("error")) : r.body();
            switch (code) {
                case 400 -> {
                    Object field = err.get("field") != null ? err.get("field") : err.get("parameter");
                    throw new BadRequestException(message, field == null ? null : field.toString());
                }
                case 404 -> throw new NotFoundException(message);
                case 409 -> throw new RejectedException(message + (err.get("reason") != null ? ": " + err.get("reason") : ""),
                        String.valueOf(err.get("id")));
                case 504 -> {
                    if (durable) {
                        List<String> ids = new ArrayList<>();
                        if (err.get("id") != null) {
                            ids.add(err.get("id").toString());
                        }
                        if (err.get("ids") instanceof List<?> l) {
                            l.forEach(x -> ids.add(x.toString()));
                        }
                        throw new AppendTimeoutException(message, ids);
                    }
                    last = new UnavailableException(message, code, null);
                }
                case 503 -> {
                    last = new UnavailableException(message, code, null);
                    String retryAfter = r.headers().firstValue("Retry-After").orElse(null);
                    if (retryAfter != null) {
                        try {
                            waitMs = Math.min(5000, Long.parseLong(retryAfter.trim()) * 1000);
                        } catch (NumberFormatException ignored) {
                            // an HTTP date: keep the client's own backoff
                        }
                    }
                }
                default -> throw new ChariotsException(req.method() + " " + req.uri().getPath() + " answered " + code + ": " + message, code, null);
            }
        }
        throw last;
    }

    private static Map<String, Object> errorBody(String body) {
        try {
            return Json.object(body);
        } catch (RuntimeException e) {
            return Map.of();
        }
    }

    /** The pause before retry number {@code n} (1, 2, …): 100 ms doubling, at most 2 s. */
    static long backoffMillis(int n) {
        return Math.min(2000, 50L << Math.min(n, 6));
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Flushes async appends, then releases the client. */
    @Override
    public void close() {
        closed = true;
        Thread t = asyncSender;
        if (t != null) {
            try {
                t.join(timeout.toMillis() * (retries + 1));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
