package io.chariots.launcher;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.chariots.proto.ReaderGrpc;
import io.chariots.proto.RecordBatch;
import io.chariots.proto.TailRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Read throughput of a running cluster that already holds records (run
 * {@code ./chariots bench} first): N records read from LId 1 by range pages
 * over HTTP, or by a tail (gRPC or HTTP JSON lines) catching up from disk.
 * Each reader checks it gets consecutive LIds.
 */
@Command(name = "bench-read", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Measure reads of a running cluster: range pages or tails, records/s and page latency.")
final class ReadBenchCommand implements Callable<Integer> {
    @Option(names = {"-n", "--records"}, defaultValue = "100000", description = "Records to read, from LId 1 (default ${DEFAULT-VALUE}); the log must hold them.")
    long records;

    @Option(names = "--via", defaultValue = "range", description = "range (GET /records pages), tail (gRPC Tail) or tail-http (GET /records/stream, JSON lines); default ${DEFAULT-VALUE}.")
    String via;

    @Option(names = {"-c", "--readers"}, defaultValue = "1", description = "Concurrent readers; range readers split the LIds between them, tails each read all N (default ${DEFAULT-VALUE}).")
    int readers;

    @Option(names = "--limit", defaultValue = "1000", description = "Records per range page or tail message (default ${DEFAULT-VALUE}).")
    int limit;

    @Option(names = "--controller", defaultValue = "http://127.0.0.1:8081", description = "Controller URL (default ${DEFAULT-VALUE}).")
    String controller;

    private final ObjectMapper json = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Override
    public Integer call() throws Exception {
        if (!List.of("range", "tail", "tail-http").contains(via)) {
            System.err.println("bench-read: --via must be range, tail or tail-http");
            return 2;
        }
        if (records < 1) {
            System.err.println("bench-read: -n must be at least 1, got " + records);
            return 2;
        }
        BenchCommand.Instance app = BenchCommand.discover(http, json, controller).stream()
                .filter(i -> i.role().equals("app")).findFirst().orElse(null);
        if (app == null) {
            System.err.println("bench-read: no live app registered at " + controller + "; start one with ./chariots up");
            return 1;
        }
        String base = "http://" + app.address();
        String grpc = app.grpc();
        Histogram pageLatency = new Histogram(60_000_000_000L, 3);
        AtomicLong read = new AtomicLong();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        long slice = (records + readers - 1) / readers;
        for (int r = 0; r < readers; r++) {
            long from = via.equals("range") ? 1 + r * slice : 1;
            long upto = via.equals("range") ? Math.min(records, (r + 1) * slice) : records;
            threads.add(new Thread(() -> {
                try {
                    switch (via) {
                        case "range" -> readRanges(base, from, upto, pageLatency, read);
                        case "tail" -> tailGrpc(grpc, upto, read);
                        default -> tailHttp(base, upto, read);
                    }
                } catch (Throwable t) {
                    failures.add(t);
                }
            }, "reader-" + r));
        }
        System.out.printf("bench-read: %,d records via %s, %d reader(s), %d per page, app %s%n", records, via, readers, limit, base);
        long start = System.nanoTime();
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join();
        }
        double secs = (System.nanoTime() - start) / 1e9;
        if (!failures.isEmpty()) {
            System.err.println("bench-read failed: " + failures.get(0));
            return 1;
        }
        System.out.printf("  throughput  %,.0f records/s (%,d records read in %.2f s)%n", read.get() / secs, read.get(), secs);
        if (via.equals("range")) {
            System.out.printf("  page latency  p50 %.2f ms  p99 %.2f ms  max %.2f ms (%,d pages)%n",
                    pageLatency.getValueAtPercentile(50) / 1e6, pageLatency.getValueAtPercentile(99) / 1e6,
                    pageLatency.getMaxValue() / 1e6, pageLatency.getTotalCount());
        }
        return 0;
    }

    private void readRanges(String base, long from, long upto, Histogram latency, AtomicLong read) throws Exception {
        long next = from;
        while (next <= upto) {
            int n = (int) Math.min(limit, upto - next + 1);
            long t = System.nanoTime();
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/records?from=" + next + "&limit=" + n)).build(),
                    HttpResponse.BodyHandlers.ofString());
            synchronized (latency) {
                latency.recordValue(System.nanoTime() - t);
            }
            if (r.statusCode() != 200) {
                throw new IllegalStateException("GET /records?from=" + next + ": " + r.statusCode() + " " + r.body());
            }
            int got = 0;
            for (JsonNode rec : json.readTree(r.body()).get("records")) {
                if (rec.get("lid").asLong() != next) {
                    throw new IllegalStateException("expected LId " + next + ", got " + rec.get("lid"));
                }
                next++;
                got++;
            }
            if (got == 0) {
                throw new IllegalStateException("the log ends before LId " + next + "; append more records first");
            }
            read.addAndGet(got);
        }
    }

    private void tailGrpc(String address, long upto, AtomicLong read) throws Exception {
        int colon = address.lastIndexOf(':');
        ManagedChannel ch = ManagedChannelBuilder.forAddress(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)))
                .usePlaintext().maxInboundMessageSize(64 << 20).build();
        try {
            Iterator<RecordBatch> it = ReaderGrpc.newBlockingStub(ch).tail(TailRequest.newBuilder().setFromLid(1).setMaxBatch(limit).build());
            long next = 1;
            while (next <= upto) {
                RecordBatch b = it.next();
                for (var e : b.getRecordsList()) {
                    if (e.getLid() != next) {
                        throw new IllegalStateException("expected LId " + next + ", got " + e.getLid());
                    }
                    next++;
                }
                read.addAndGet(b.getRecordsCount());
            }
        } finally {
            ch.shutdownNow();
            ch.awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private void tailHttp(String base, long upto, AtomicLong read) throws Exception {
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(base + "/records/stream?from=1")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        JsonFactory f = json.getFactory();
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8), 1 << 16)) {
            long next = 1;
            while (next <= upto) {
                String line = lines.readLine();
                if (line == null) {
                    throw new IllegalStateException("stream ended at LId " + next);
                }
                try (JsonParser p = f.createParser(line)) {
                    // The LId is the first field: no need to parse the whole record to check order.
                    if (p.nextToken() != JsonToken.START_OBJECT || p.nextToken() != JsonToken.FIELD_NAME
                            || !p.currentName().equals("lid") || p.nextToken() == null || p.getLongValue() != next) {
                        throw new IllegalStateException("expected LId " + next + " first in " + line);
                    }
                }
                next++;
                read.incrementAndGet();
            }
        }
    }
}
