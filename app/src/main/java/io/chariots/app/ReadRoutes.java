package io.chariots.app;

import io.chariots.common.read.LogReader;
import io.chariots.common.read.OriginPositions;
import io.chariots.common.read.UnavailableLids;
import com.fasterxml.jackson.core.JsonGenerator;
import io.chariots.common.grpc.MessageLimits;
import io.chariots.common.http.ChunkedResponse;
import io.chariots.common.http.HttpExchange;
import io.chariots.common.http.HttpServer;
import io.chariots.common.record.Fnv1a64;
import io.chariots.common.record.LogRecord;
import io.chariots.common.record.RecordJson;
import io.chariots.common.record.Unsigned64;
import io.chariots.proto.CauseKey;
import io.chariots.proto.RecordEnvelope;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The app's read API over a {@link LogReader}. Seeds, hashes and LIds are
 * printed as unsigned decimal numbers; every page carries {@code next}, the
 * {@code from} of the following page.
 *
 * <ul>
 * <li>{@code GET /record/{lid}} — the record, 404 if absent.</li>
 * <li>{@code GET /records?from=L&limit=K} — records L, L+1, … in LId order, at most K (default
 *     {@value #DEFAULT_LIMIT}, at most {@value #MAX_LIMIT}); the page stops before the first LId not yet in the
 *     log, so paging from {@code next} never skips one. Every page holds at most the larger of
 *     {@link MessageLimits#BATCH_BYTES} and one record, whatever its limit.</li>
 * <li>{@code GET /records?tag=key:value[&seed=S][&from=L][&limit=K]} — every record carrying that tag (of chain
 *     S), in LId order, from LId L on.</li>
 * <li>{@code GET /trace/{seed}[?from=L&limit=K]} — the chain: every record with that seed in log order, each with
 *     {@code causes}, the LIds of the records it names by prehash.</li>
 * <li>{@code GET /records/stream?from=L} — every record from L on, as the log grows, as JSON lines
 *     ({@code application/x-ndjson}); Server-Sent Events ({@code id:} = LId) when the client accepts
 *     {@code text/event-stream} or asks {@code format=sse}. Resume from the last LId seen plus one.</li>
 * <li>{@code from_toids=0:120,1:77} (on {@code /records} and {@code /records/stream}, instead of or with
 *     {@code from}) — a reader that moves here from another datacenter: every record after those of each origin,
 *     none it had, none twice (see {@link OriginPositions}); page on with {@code next} and the same
 *     {@code from_toids}.</li>
 * </ul>
 * A bad parameter gets 400 naming it; unknown parameters too (a typo must not silently change the answer).
 *
 * <p>An LId whose maintainer is not available ({@link UnavailableLids}) is never skipped silently: a record read
 * answers 503 naming the maintainer and the LIds it holds; a page stops there with {@code unavailable} and
 * {@code next} at that LId (503 if nothing came before it); an SSE tail waits there and sends
 * {@code event: unavailable} once the wait lasts (JSON lines carry records only, so they just wait).
 */
final class ReadRoutes {
    private static final Logger LOG = LoggerFactory.getLogger(ReadRoutes.class);
    static final int DEFAULT_LIMIT = 100;
    static final int MAX_LIMIT = 1000;
    static final int TAIL_PAGE = 1000;
    /** SSE comment sent to a quiet stream this often, so proxies keep it and a gone client is noticed. */
    static final long HEARTBEAT_NANOS = 15_000_000_000L;

    private final LogReader reader;
    private final ScheduledExecutorService timer;
    private final int numDc;

    ReadRoutes(LogReader reader, ScheduledExecutorService timer, int numDc) {
        this.reader = reader;
        this.timer = timer;
        this.numDc = numDc;
    }

    /** {@code from_toids} if given, else null. */
    private OriginPositions positions(HttpExchange ex) throws BadParameter {
        String text = ex.queryParam("from_toids");
        if (text == null) {
            return null;
        }
        try {
            return OriginPositions.parse(text, numDc);
        } catch (IllegalArgumentException e) {
            throw new BadParameter("from_toids", e.getMessage());
        }
    }

    HttpServer.Builder routes(HttpServer.Builder http) {
        return http.get("/record/*", this::recordAt)
                .get("/records", this::records)
                .get("/records/stream", this::stream)
                .get("/trace/*", this::trace);
    }

    // ------------------------------------------------------------ parameters

    /** A bad query parameter: answered 400 naming it. */
    static final class BadParameter extends Exception {
        final String name;

        BadParameter(String name, String problem) {
            super(name + ": " + problem, null, false, false);
            this.name = name;
        }
    }

    static void allowOnly(HttpExchange ex, Set<String> allowed) throws BadParameter {
        for (String name : ex.queryParams().keySet()) {
            if (!allowed.contains(name)) {
                throw new BadParameter(name, "unknown parameter; this endpoint takes " + String.join(", ", new java.util.TreeSet<>(allowed)));
            }
        }
    }

    /** A whole number in [min, max], or {@code dflt} when absent. */
    static long number(String name, String text, long dflt, long min, long max) throws BadParameter {
        if (text == null) {
            return dflt;
        }
        long v;
        try {
            v = Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            throw new BadParameter(name, "must be a whole number, got \"" + text + "\"");
        }
        if (v < min || v > max) {
            throw new BadParameter(name, "must be between " + min + " and " + max + ", got " + v);
        }
        return v;
    }

    static long lidParam(String name, String text, long dflt) throws BadParameter {
        if (text == null) {
            return dflt;
        }
        long v;
        try {
            v = Unsigned64.parse(text.trim());
        } catch (NumberFormatException e) {
            throw new BadParameter(name, "must be an LId, a whole number from 1, got \"" + text + "\"");
        }
        if (v == 0 || v == -1L) {
            throw new BadParameter(name, "must be an LId between 1 and " + Long.toUnsignedString(-2L) + ", got " + text);
        }
        return v;
    }

    static long unsigned(String name, String text) throws BadParameter {
        try {
            return Unsigned64.parse(text.trim());
        } catch (NumberFormatException e) {
            throw new BadParameter(name, "must be an unsigned 64-bit whole number (0 to " + Unsigned64.MAX_TEXT + "), got \"" + text + "\"");
        }
    }

    /** FNV-1a-64 of {@code key:value}; the tag must have a non-empty key. */
    static long tagHash(String text) throws BadParameter {
        int colon = text.indexOf(':');
        if (colon <= 0) {
            throw new BadParameter("tag", "must be key:value (the record's tag, hashed as FNV-1a-64(\"key:value\")), got \"" + text + "\"");
        }
        return Fnv1a64.hashTag(text.substring(0, colon), text.substring(colon + 1));
    }

    private static void bad(HttpExchange ex, BadParameter e) {
        Map<String, Object> err = new LinkedHashMap<>();
        err.put("error", e.getMessage());
        err.put("parameter", e.name);
        ex.json(HttpResponseStatus.BAD_REQUEST, err);
    }

    // ------------------------------------------------------------ one record

    private void recordAt(HttpExchange ex) {
        String text = ex.pathRest();
        long lid;
        try {
            lid = Unsigned64.parse(text);
        } catch (NumberFormatException e) {
            badField(ex, "lid", "must be a positive whole number, got \"" + text + "\"");
            return;
        }
        if (lid == 0) {
            badField(ex, "lid", "LIds start at 1");
            return;
        }
        reader.records(new long[] {lid}).whenComplete((found, failure) -> answer(ex, failure, () -> {
            RecordEnvelope r = found.byLid().get(lid);
            UnavailableLids gone = found.unavailableAt(lid);
            if (gone != null) {
                ex.json(HttpResponseStatus.SERVICE_UNAVAILABLE, gone.errorFor(lid), "Retry-After", "1");
            } else if (r == null) {
                ex.error(HttpResponseStatus.NOT_FOUND, "no record at LId " + Unsigned64.toString(lid));
            } else if (r.getHole()) {
                Map<String, Object> hole = new LinkedHashMap<>();
                hole.put("lid", lid);
                hole.put("hole", true);
                hole.put("error", "LId " + Unsigned64.toString(lid) + " is a hole: it was given out just before a failure"
                        + " and its record was never stored there (the record, if acknowledged, was appended at another LId)");
                ex.json(HttpResponseStatus.NOT_FOUND, hole);
            } else {
                ex.json(HttpResponseStatus.OK, RecordJson.toJson(record(r)));
            }
        }));
    }

    /** The append API's shape of a 400 ({@code field}, {@code problem}), kept for this older endpoint. */
    private static void badField(HttpExchange ex, String field, String problem) {
        Map<String, Object> err = new LinkedHashMap<>();
        err.put("error", field + ": " + problem);
        err.put("field", field);
        err.put("problem", problem);
        ex.json(HttpResponseStatus.BAD_REQUEST, err);
    }

    // ------------------------------------------------------------ ranges and tags

    private void records(HttpExchange ex) {
        long from;
        int limit;
        OriginPositions positions;
        String tag = ex.queryParam("tag");
        Long seed = null;
        try {
            allowOnly(ex, tag == null ? Set.of("from", "limit", "from_toids") : Set.of("from", "limit", "tag", "seed"));
            positions = positions(ex);
            from = lidParam("from", ex.queryParam("from"), positions == null ? 1 : positions.startLid());
            limit = (int) number("limit", ex.queryParam("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT);
            if (ex.queryParam("seed") != null) {
                seed = unsigned("seed", ex.queryParam("seed"));
            }
            if (tag != null) {
                long hash = tagHash(tag);
                Long chain = seed;
                reader.lidsByTag(hash, chain, from, limit)
                        .thenCompose(lids -> withRecords(lids, from))
                        .whenComplete((page, failure) -> answer(ex, failure, () -> {
                            answerPage(ex, page, pageJson(page, g -> {
                                g.writeStringField("tag", tag);
                                g.writeFieldName("hash");
                                g.writeNumber(Unsigned64.toString(hash));
                                if (chain != null) {
                                    g.writeFieldName("seed");
                                    g.writeNumber(Unsigned64.toString(chain));
                                }
                            }, null));
                        }));
                return;
            }
        } catch (BadParameter e) {
            bad(ex, e);
            return;
        }
        reader.range(from, limit).whenComplete((page, failure) -> answer(ex, failure, () -> {
            if (page.records().isEmpty() && !page.complete() && page.unavailable() == null) {
                ex.error(HttpResponseStatus.SERVICE_UNAVAILABLE, "LId " + Unsigned64.toString(from)
                        + " is not readable now: a maintainer did not answer", "Retry-After", "1");
                return;
            }
            List<RecordEnvelope> records = page.records();
            // Records the reader has (from another datacenter) are left out; next goes on past them.
            long next = records.isEmpty() ? from : records.get(records.size() - 1).getLid() + 1;
            PageAnswer out = new PageAnswer(positions == null ? records : positions.unseen(records), next, page.unavailable());
            answerPage(ex, out, pageJson(out, g -> { }, null));
        }));
    }

    /**
     * A page to answer: records in LId order, the {@code from} of the next page, and, when the page stopped at an
     * LId whose maintainer is not available, that gap (the page stops there rather than skip it: a log is read in
     * order, and paging on from {@code next} resumes exactly there once the maintainer is back).
     */
    record PageAnswer(List<RecordEnvelope> records, long next, UnavailableLids unavailable) {
        PageAnswer(List<RecordEnvelope> records, long next) {
            this(records, next, null);
        }
    }

    private CompletableFuture<PageAnswer> withRecords(long[] lids, long from) {
        return reader.records(lids).thenApply(found -> pageOf(lids, found, from));
    }

    /**
     * The page of {@code lids} (increasing, as an indexer listed them from {@code from}) out of what was
     * {@code found}. It stops at an LId whose maintainer is not available, at one a maintainer left out, and before
     * a record that would take it past {@link MessageLimits#BATCH_BYTES} (a page holds at most the larger of that
     * and one record, as {@link LogReader#range} does); {@code next} is that LId, so the following page starts there.
     */
    static PageAnswer pageOf(long[] lids, LogReader.Found found, long from) {
        List<RecordEnvelope> out = new ArrayList<>(lids.length);
        long bytes = 0;
        for (long lid : lids) {
            RecordEnvelope r = found.byLid().get(lid);
            UnavailableLids gone = found.unavailableAt(lid);
            if (gone != null) {
                return new PageAnswer(out, lid, gone);
            }
            if (r != null) {
                int size = r.getSerializedSize();
                if (MessageLimits.closesBefore(bytes, size)) {
                    // Each maintainer caps its answer, but a page gathers several: the rest comes with the next page.
                    return new PageAnswer(out, lid);
                }
                bytes += size;
                out.add(r);
            } else if (!out.isEmpty()) {
                // A maintainer caps its reply in bytes: the rest comes with the next page, not never.
                return new PageAnswer(out, lid);
            }
        }
        return new PageAnswer(out, lids.length == 0 ? from : lids[lids.length - 1] + 1);
    }

    /**
     * 200 with the page; but a page that stopped at an unavailable LId before any record is answered 503 (with
     * {@code Retry-After}, the gap's error, {@code records:[]}, {@code next} and {@code unavailable}), so that a
     * reader that only checks the status is not left polling an empty page for good.
     */
    private static void answerPage(HttpExchange ex, PageAnswer page, byte[] json) {
        if (!page.records().isEmpty() || page.unavailable() == null) {
            ex.json(HttpResponseStatus.OK, json);
            return;
        }
        UnavailableLids gap = page.unavailable();
        Map<String, Object> err = gap.errorFor(gap.from());
        err.put("records", List.of());
        err.put("next", err.get("lid"));
        err.put("unavailable", List.of(gap.fields()));
        ex.json(HttpResponseStatus.SERVICE_UNAVAILABLE, err, "Retry-After", "1");
    }

    // ------------------------------------------------------------ trace

    private void trace(HttpExchange ex) {
        long seed;
        long from;
        int limit;
        try {
            allowOnly(ex, Set.of("from", "limit"));
            String text = ex.pathRest();
            if (text.isEmpty()) {
                throw new BadParameter("seed", "missing: GET /trace/<seed>");
            }
            seed = unsigned("seed", text);
            from = lidParam("from", ex.queryParam("from"), 1);
            limit = (int) number("limit", ex.queryParam("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT);
        } catch (BadParameter e) {
            bad(ex, e);
            return;
        }
        reader.lidsBySeed(seed, from, limit)
                .thenCompose(lids -> withRecords(lids, from))
                .thenCompose(found -> {
                    // Every distinct (prehash, seed) of the page, looked up once.
                    List<CauseKey> keys = new ArrayList<>();
                    Map<Long, Integer> slot = new HashMap<>();
                    for (RecordEnvelope r : found.records()) {
                        for (long h : r.getPrehashList()) {
                            if (h != 0 && !slot.containsKey(h)) {
                                slot.put(h, keys.size());
                                keys.add(CauseKey.newBuilder().setHash(h).setSeed(r.getSeed()).build());
                            }
                        }
                    }
                    return reader.lowestLids(keys).thenApply(lids -> {
                        Map<Long, Long> causeLid = new HashMap<>();
                        slot.forEach((h, i) -> causeLid.put(h, lids[i]));
                        return Map.entry(found, causeLid);
                    });
                })
                .whenComplete((result, failure) -> answer(ex, failure, () -> {
                    Map<Long, Long> causes = result.getValue();
                    answerPage(ex, result.getKey(), pageJson(result.getKey(), g -> {
                        g.writeFieldName("seed");
                        g.writeNumber(Unsigned64.toString(seed));
                    }, (g, r) -> {
                        g.writeArrayFieldStart("causes");
                        for (long h : r.getPrehashList()) {
                            Long lid = h == 0 ? null : causes.get(h);
                            if (lid != null && lid != 0) {
                                g.writeNumber(Unsigned64.toString(lid));
                            }
                        }
                        g.writeEndArray();
                    }));
                }));
    }

    // ------------------------------------------------------------ tail

    private void stream(HttpExchange ex) {
        long from;
        boolean sse;
        OriginPositions positions;
        try {
            allowOnly(ex, Set.of("from", "format", "from_toids"));
            positions = positions(ex);
            from = lidParam("from", ex.queryParam("from"), positions == null ? 1 : positions.startLid());
            String format = ex.queryParam("format");
            if (format == null) {
                String accept = ex.header("Accept");
                sse = accept != null && accept.contains("text/event-stream");
            } else if (format.equals("sse") || format.equals("ndjson")) {
                sse = format.equals("sse");
            } else {
                throw new BadParameter("format", "must be sse or ndjson, got \"" + format + "\"");
            }
        } catch (BadParameter e) {
            bad(ex, e);
            return;
        }
        ChunkedResponse out = ex.stream(HttpResponseStatus.OK,
                sse ? "text/event-stream; charset=utf-8" : "application/x-ndjson", "Cache-Control", "no-cache");
        if (out == null) {
            return;
        }
        long[] lastWrite = {System.nanoTime()};
        LogTail tail = new LogTail(reader::range, timer, from, TAIL_PAGE, new LogTail.Sink() {
            @Override
            public void deliver(List<RecordEnvelope> page, Runnable ready) {
                lastWrite[0] = System.nanoTime();
                out.write(sse ? sseChunk(page) : ndjsonChunk(page), ready);
            }

            @Override
            public void idle() {
                if (sse && System.nanoTime() - lastWrite[0] > HEARTBEAT_NANOS) {
                    lastWrite[0] = System.nanoTime();
                    out.write(": quiet\n\n".getBytes(StandardCharsets.UTF_8), () -> { });
                }
            }

            @Override
            public void waiting(UnavailableLids gap) {
                // JSON lines carry records only (clients parse each line as one); SSE names its events.
                if (sse) {
                    lastWrite[0] = System.nanoTime();
                    out.write(sseUnavailable(gap), () -> { });
                }
            }

            @Override
            public void failed(RuntimeException e) {
                out.abort();
            }
        }, positions);
        out.onClose(() -> {
            tail.stop();
            LOG.debug("tail from {} closed at LId {}", from, tail.cursor());
        });
        tail.start();
    }

    private static byte[] ndjsonChunk(List<RecordEnvelope> page) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(page.size() * 160);
        try (JsonGenerator g = RecordJson.factory().createGenerator(buf)) {
            g.setRootValueSeparator(null);
            for (RecordEnvelope r : page) {
                g.writeStartObject();
                writeEntry(g, r);
                g.writeEndObject();
                g.flush();
                buf.write('\n');
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return buf.toByteArray();
    }

    private static byte[] sseChunk(List<RecordEnvelope> page) {
        StringBuilder sb = new StringBuilder(page.size() * 180);
        for (RecordEnvelope r : page) {
            sb.append("id: ").append(Unsigned64.toString(r.getLid())).append('\n')
                    .append("data: ").append(new String(entryJson(r), StandardCharsets.UTF_8)).append("\n\n");
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** {@code event: unavailable} with the same JSON as a 503 for that LId: a reader's handler for records ignores it. */
    static byte[] sseUnavailable(UnavailableLids gap) {
        try {
            return ("event: unavailable\ndata: " + HttpExchange.JSON.writeValueAsString(gap.errorFor(gap.from())) + "\n\n")
                    .getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ------------------------------------------------------------ answers

    private interface Fields {
        void write(JsonGenerator g) throws IOException;
    }

    private interface RecordFields {
        void write(JsonGenerator g, RecordEnvelope r) throws IOException;
    }

    private static byte[] pageJson(PageAnswer page, Fields head, RecordFields extra) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(256 + page.records().size() * 160);
        try (JsonGenerator g = RecordJson.factory().createGenerator(buf)) {
            g.writeStartObject();
            head.write(g);
            g.writeArrayFieldStart("records");
            for (RecordEnvelope r : page.records()) {
                g.writeStartObject();
                writeEntry(g, r);
                if (extra != null && !r.getHole()) {
                    extra.write(g, r);
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            long next = page.records().isEmpty() ? page.next()
                    : Math.max(page.next(), page.records().get(page.records().size() - 1).getLid() + 1);
            g.writeFieldName("next");
            g.writeNumber(Unsigned64.toString(next));
            if (page.unavailable() != null) {
                g.writeFieldName("unavailable");
                g.writeStartArray();
                g.writeStartObject();
                for (Map.Entry<String, Object> f : page.unavailable().fields().entrySet()) {
                    g.writeFieldName(f.getKey());
                    g.writeObject(f.getValue()); // strings and numbers only: no codec needed
                }
                g.writeEndObject();
                g.writeEndArray();
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return buf.toByteArray();
    }

    /** A record's fields, or a hole's: {@code "lid":N,"hole":true} (an LId whose record never arrived; readers go on). */
    private static void writeEntry(JsonGenerator g, RecordEnvelope r) throws IOException {
        if (r.getHole()) {
            g.writeFieldName("lid");
            g.writeNumber(Unsigned64.toString(r.getLid()));
            g.writeBooleanField("hole", true);
        } else {
            RecordJson.writeFields(g, record(r));
        }
    }

    private static byte[] entryJson(RecordEnvelope r) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(160);
        try (JsonGenerator g = RecordJson.factory().createGenerator(buf)) {
            g.writeStartObject();
            writeEntry(g, r);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return buf.toByteArray();
    }

    private static LogRecord record(RecordEnvelope r) {
        try {
            return LogRecord.fromEnvelope(r);
        } catch (IOException e) {
            throw new UncheckedIOException("stored record at LId " + Unsigned64.toString(r.getLid()) + " is unreadable", e);
        }
    }

    /**
     * Answers a read once its lookups completed: their failure, or {@code ok}.
     * Whatever {@code ok} throws (an unreadable stored record) is answered
     * 500 here: an exception in a future's callback would otherwise leave the
     * request unanswered.
     */
    private static void answer(HttpExchange ex, Throwable failure, Runnable ok) {
        if (failure != null) {
            unavailable(ex, failure);
            return;
        }
        try {
            ok.run();
        } catch (RuntimeException e) {
            LOG.warn("read failed", e);
            ex.error(HttpResponseStatus.INTERNAL_SERVER_ERROR, "read failed: " + e.getMessage());
        }
    }

    private static void unavailable(HttpExchange ex, Throwable failure) {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        if (cause instanceof LogReader.Unavailable) {
            ex.error(HttpResponseStatus.SERVICE_UNAVAILABLE, cause.getMessage(), "Retry-After", "1");
        } else {
            LOG.warn("read failed", cause);
            ex.error(HttpResponseStatus.INTERNAL_SERVER_ERROR, "read failed: " + cause);
        }
    }
}
