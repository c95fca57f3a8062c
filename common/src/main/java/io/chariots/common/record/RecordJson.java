package io.chariots.common.record;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reads records in both shapes of DESIGN.md and writes the HTTP shape.
 *
 * <p>Accepted, matching field names case-insensitively as Go's encoding/json
 * does: {@code tags}, {@code seed}, {@code prehash} (a number or an array),
 * {@code Pre: {Hash: n}} (GoChariots), {@code strseed} / {@code strhash}
 * (GoChariots' Node client), {@code id}, {@code host}, {@code lid},
 * {@code timestamp}; unknown fields are ignored. Seeds and hashes are unsigned
 * 64-bit integers given as JSON numbers or decimal strings. When a value is
 * given both as a number and as a string ({@code seed} and {@code strseed}),
 * the string wins: a JavaScript client's number may have lost precision.
 * {@code prehash} and {@code Pre.Hash} may not both be given with different
 * values.
 *
 * <p>Every rejection is a {@link RecordFormatException} naming the field and
 * the problem. Thread-safe.
 */
public final class RecordJson {
    /** Longest accepted id, in chars. */
    public static final int MAX_ID_LENGTH = 512;

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build())
            .build();

    /**
     * Causes one record may name (non-zero hashes, repeats counted) in
     * {@code prehash}, {@code Pre} or {@code strhash}: a record is refused past
     * it, naming the field. Each cause costs the edge 8 bytes while it parses
     * (a body of zeros would cost four times its size) and the queue a lookup
     * until it is in the log.
     */
    public static final int MAX_CAUSES = 10_000;

    private static final int F_TAGS = 1, F_SEED = 2, F_STRSEED = 4, F_PREHASH = 8, F_PRE = 16, F_STRHASH = 32,
            F_ID = 64, F_HOST = 128, F_LID = 256, F_TIMESTAMP = 512;

    private RecordJson() {
    }

    /** Records read from an array, with the elements that were rejected. */
    public record Parsed(List<LogRecord> records, List<RecordFormatException> rejected) {
    }

    /**
     * Reads exactly one record (a JSON object).
     *
     * @throws RecordFormatException if the JSON is malformed, not one object, or a field is invalid
     */
    public static LogRecord readRecord(byte[] json, int offset, int length) throws RecordFormatException {
        try (JsonParser p = FACTORY.createParser(json, offset, length)) {
            JsonToken t = p.nextToken();
            if (t == null) {
                throw new RecordFormatException("record", "empty input, expected a JSON object");
            }
            if (t != JsonToken.START_OBJECT) {
                throw new RecordFormatException("record", "must be a JSON object, got " + describe(p, t)
                        + (t == JsonToken.START_ARRAY ? " (an array of records goes in an 's' frame)" : ""));
            }
            LogRecord r = readObject(p);
            expectEnd(p);
            return r;
        } catch (IOException e) {
            throw syntax(e);
        }
    }

    public static LogRecord readRecord(byte[] json) throws RecordFormatException {
        return readRecord(json, 0, json.length);
    }

    /**
     * Reads a JSON array of records, or a single object as a one-record batch.
     * An element that is invalid is reported in {@link Parsed#rejected()} and
     * the others are kept; malformed JSON rejects the whole input, since
     * nothing after a syntax error can be trusted.
     *
     * @throws RecordFormatException if the input is not well-formed JSON, or neither an array nor an object
     */
    public static Parsed readRecords(byte[] json, int offset, int length) throws RecordFormatException {
        return readRecords(json, offset, length, Integer.MAX_VALUE);
    }

    /**
     * As {@link #readRecords(byte[], int, int)}, but an array of more than
     * {@code maxRecords} elements is rejected whole as soon as its element
     * {@code maxRecords + 1} starts ({@link RecordFormatException#tooMany}):
     * what a request may make the reader hold is bounded, however small the
     * elements ({@code [{},{},…]}).
     */
    public static Parsed readRecords(byte[] json, int offset, int length, int maxRecords) throws RecordFormatException {
        try (JsonParser p = FACTORY.createParser(json, offset, length)) {
            JsonToken t = p.nextToken();
            List<LogRecord> records = new ArrayList<>();
            List<RecordFormatException> rejected = new ArrayList<>(0);
            if (t == JsonToken.START_OBJECT) {
                records.add(readObject(p));
                expectEnd(p);
                return new Parsed(records, rejected);
            }
            if (t != JsonToken.START_ARRAY) {
                throw new RecordFormatException("records", t == null ? "empty input, expected a JSON array of records"
                        : "must be a JSON array of records, got " + describe(p, t));
            }
            int index = 0;
            while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                if (t == null) {
                    throw new RecordFormatException("records", "unterminated array");
                }
                if (index == maxRecords) {
                    throw RecordFormatException.tooMany(maxRecords);
                }
                if (t != JsonToken.START_OBJECT) {
                    rejected.add(new RecordFormatException("record", "must be a JSON object, got " + describe(p, t))
                            .atIndex(index));
                    p.skipChildren();
                } else {
                    var arrayContext = p.getParsingContext().getParent();
                    try {
                        records.add(readObject(p));
                    } catch (RecordFormatException e) {
                        rejected.add(e.atIndex(index));
                        skipTo(p, arrayContext);
                    }
                }
                index++;
            }
            expectEnd(p);
            return new Parsed(records, rejected);
        } catch (IOException e) {
            throw syntax(e);
        }
    }

    public static Parsed readRecords(byte[] json) throws RecordFormatException {
        return readRecords(json, 0, json.length);
    }

    // After a field error the parser stands somewhere inside the element; skip
    // until the parser is back in the enclosing array's context.
    private static void skipTo(JsonParser p, com.fasterxml.jackson.core.JsonStreamContext arrayContext) throws IOException {
        while (p.getParsingContext() != arrayContext) {
            if (p.nextToken() == null) {
                return;
            }
        }
    }

    private static void expectEnd(JsonParser p) throws IOException, RecordFormatException {
        JsonToken t = p.nextToken();
        if (t != null) {
            throw new RecordFormatException("record", "unexpected " + describe(p, t) + " after the end of the JSON value");
        }
    }

    private static RecordFormatException syntax(IOException e) {
        if (e instanceof StreamConstraintsException sce) {
            return new RecordFormatException("record", "JSON too deeply nested or too large: " + sce.getMessage());
        }
        String msg = e instanceof com.fasterxml.jackson.core.JsonProcessingException jpe
                ? jpe.getOriginalMessage() + locationOf(jpe) : String.valueOf(e.getMessage());
        return new RecordFormatException("record", "malformed JSON: " + msg);
    }

    private static String locationOf(com.fasterxml.jackson.core.JsonProcessingException e) {
        var loc = e.getLocation();
        return loc == null ? "" : " (at byte " + loc.getByteOffset() + ")";
    }

    /** Reads the fields of an object whose START_OBJECT is the current token. */
    private static LogRecord readObject(JsonParser p) throws IOException, RecordFormatException {
        LogRecord.Builder b = LogRecord.builder();
        int seen = 0;
        long seed = 0, strseed = 0;
        long[] prehash = null, pre = null, strhash = null;
        JsonToken t;
        while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            int flag = flagOf(name);
            if (flag == 0) {
                p.skipChildren();
                continue;
            }
            if ((seen & flag) != 0) {
                throw new RecordFormatException(canonical(flag), "given more than once (field names match case-insensitively)");
            }
            seen |= flag;
            switch (flag) {
                case F_TAGS -> readTags(p, v, b);
                case F_SEED -> seed = readUnsigned(p, v, "seed");
                case F_STRSEED -> strseed = readUnsigned(p, v, "strseed");
                case F_PREHASH -> prehash = readHashes(p, v, "prehash");
                case F_STRHASH -> strhash = readHashes(p, v, "strhash");
                case F_PRE -> pre = readPre(p, v);
                case F_ID -> readId(p, v, b);
                case F_HOST -> b.host(readHost(p, v));
                case F_LID -> b.lid(readUnsigned(p, v, "lid"));
                case F_TIMESTAMP -> b.timestamp(readTimestamp(p, v));
                default -> throw new IllegalStateException();
            }
        }
        if (t != JsonToken.END_OBJECT) {
            throw new RecordFormatException("record", "malformed object");
        }
        b.seed((seen & F_STRSEED) != 0 ? strseed : seed);
        if (prehash != null && pre != null && !sameCauses(prehash, pre)) {
            throw new RecordFormatException("prehash", "conflicts with Pre.Hash; give the cause once");
        }
        long[] causes = strhash != null ? strhash : prehash != null ? prehash : pre;
        if (causes != null) {
            b.prehashes(causes);
        }
        return b.build();
    }

    private static boolean sameCauses(long[] a, long[] b) {
        return java.util.Arrays.equals(LogRecord.builder().prehashes(a).build().prehashes(),
                LogRecord.builder().prehashes(b).build().prehashes());
    }

    private static int flagOf(String name) {
        switch (name.length()) {
            case 2:
                return name.equalsIgnoreCase("id") ? F_ID : 0;
            case 3:
                return name.equalsIgnoreCase("pre") ? F_PRE : name.equalsIgnoreCase("lid") ? F_LID : 0;
            case 4:
                return name.equalsIgnoreCase("tags") ? F_TAGS : name.equalsIgnoreCase("seed") ? F_SEED
                        : name.equalsIgnoreCase("host") ? F_HOST : 0;
            case 7:
                return name.equalsIgnoreCase("prehash") ? F_PREHASH : name.equalsIgnoreCase("strseed") ? F_STRSEED
                        : name.equalsIgnoreCase("strhash") ? F_STRHASH : 0;
            case 9:
                return name.equalsIgnoreCase("timestamp") ? F_TIMESTAMP : 0;
            default:
                return 0;
        }
    }

    private static String canonical(int flag) {
        return switch (flag) {
            case F_TAGS -> "tags";
            case F_SEED -> "seed";
            case F_STRSEED -> "strseed";
            case F_PREHASH -> "prehash";
            case F_PRE -> "Pre";
            case F_STRHASH -> "strhash";
            case F_ID -> "id";
            case F_HOST -> "host";
            case F_LID -> "lid";
            default -> "timestamp";
        };
    }

    private static void readTags(JsonParser p, JsonToken v, LogRecord.Builder b) throws IOException, RecordFormatException {
        if (v == JsonToken.VALUE_NULL) {
            return;
        }
        if (v != JsonToken.START_OBJECT) {
            throw new RecordFormatException("tags", "must be an object mapping strings to strings, got " + describe(p, v));
        }
        java.util.HashSet<String> keys = new java.util.HashSet<>();
        JsonToken t;
        while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            JsonToken val = p.nextToken();
            if (val != JsonToken.VALUE_STRING) {
                throw new RecordFormatException("tags." + key, "tag values must be strings, got " + describe(p, val));
            }
            if (!keys.add(key)) {
                throw new RecordFormatException("tags." + key, "duplicate tag key");
            }
            b.tag(key, p.getText());
        }
    }

    private static void readId(JsonParser p, JsonToken v, LogRecord.Builder b) throws IOException, RecordFormatException {
        if (v == JsonToken.VALUE_NULL) {
            return;
        }
        if (v != JsonToken.VALUE_STRING) {
            throw new RecordFormatException("id", "must be a string, got " + describe(p, v));
        }
        String id = p.getText();
        if (id.length() > MAX_ID_LENGTH) {
            throw new RecordFormatException("id", "longer than " + MAX_ID_LENGTH + " characters");
        }
        if (id.indexOf('\u0000') >= 0) {
            throw new RecordFormatException("id", "must not contain the character U+0000");
        }
        if (!id.isEmpty()) {
            b.id(id);
        }
    }

    private static int readHost(JsonParser p, JsonToken v) throws IOException, RecordFormatException {
        if (v == JsonToken.VALUE_NULL) {
            return LogRecord.NO_HOST;
        }
        long h = readUnsigned(p, v, "host");
        if (h < 0 || h > Integer.MAX_VALUE) {
            throw new RecordFormatException("host", "datacenter id " + Unsigned64.toString(h) + " is out of range");
        }
        return (int) h;
    }

    private static long readTimestamp(JsonParser p, JsonToken v) throws IOException, RecordFormatException {
        if (v == JsonToken.VALUE_NULL) {
            return 0;
        }
        if (v != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            throw new RecordFormatException("timestamp", "must be an integer (epoch milliseconds), got " + describe(p, v));
        }
        return p.getLongValue();
    }

    /** Pre: {Hash: n}, GoChariots' shape; also an array of those, or a bare number or array. */
    private static long[] readPre(JsonParser p, JsonToken v) throws IOException, RecordFormatException {
        if (v == JsonToken.VALUE_NULL) {
            return null;
        }
        if (v == JsonToken.START_OBJECT) {
            return readPreObject(p, "Pre");
        }
        if (v == JsonToken.START_ARRAY) {
            LongList out = new LongList("Pre");
            int i = 0;
            JsonToken t;
            while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                String field = "Pre[" + i++ + "]";
                if (t == JsonToken.START_OBJECT) {
                    long[] hs = readPreObject(p, field);
                    if (hs != null) {
                        out.addAll(hs);
                    }
                } else {
                    out.add(readUnsigned(p, t, field));
                }
            }
            return out.toArray();
        }
        return readHashes(p, v, "Pre");
    }

    private static long[] readPreObject(JsonParser p, String field) throws IOException, RecordFormatException {
        long[] hash = null, strhash = null;
        JsonToken t;
        while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken v = p.nextToken();
            if (name.equalsIgnoreCase("hash")) {
                hash = readHashes(p, v, field + ".Hash");
            } else if (name.equalsIgnoreCase("strhash")) {
                strhash = readHashes(p, v, field + ".strhash");
            } else {
                p.skipChildren();
            }
        }
        return strhash != null ? strhash : hash;
    }

    private static long[] readHashes(JsonParser p, JsonToken v, String field) throws IOException, RecordFormatException {
        if (v == JsonToken.VALUE_NULL) {
            return null;
        }
        if (v != JsonToken.START_ARRAY) {
            return new long[] {readUnsigned(p, v, field)};
        }
        LongList out = new LongList(field);
        int i = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            out.add(readUnsigned(p, t, field + "[" + i++ + "]"));
        }
        return out.toArray();
    }

    /** An unsigned 64-bit integer given as a JSON number or a decimal string. */
    private static long readUnsigned(JsonParser p, JsonToken v, String field) throws IOException, RecordFormatException {
        switch (v) {
            case VALUE_NUMBER_INT:
                if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                    try {
                        // Half of all random seeds and hashes are above 2^63: parse the digits
                        // directly rather than through a BigInteger.
                        return Unsigned64.fromDigits(p.getText());
                    } catch (NumberFormatException e) {
                        throw new RecordFormatException(field, "must be an unsigned 64-bit integer (0 to "
                                + Unsigned64.MAX_TEXT + "), got " + e.getMessage());
                    }
                }
                long n = p.getLongValue();
                if (n < 0) {
                    throw new RecordFormatException(field, "must be an unsigned 64-bit integer (0 to "
                            + Unsigned64.MAX_TEXT + "), got negative number " + n);
                }
                return n;
            case VALUE_NUMBER_FLOAT:
                throw new RecordFormatException(field, "must be a whole number, got " + Unsigned64.abbreviate(p.getText()));
            case VALUE_STRING:
                try {
                    return Unsigned64.parse(p.getText());
                } catch (NumberFormatException e) {
                    throw new RecordFormatException(field, "must be an unsigned 64-bit integer (0 to "
                            + Unsigned64.MAX_TEXT + "), got " + e.getMessage());
                }
            case VALUE_NULL:
                return 0;
            default:
                throw new RecordFormatException(field, "must be an unsigned 64-bit integer, got " + describe(p, v));
        }
    }

    private static String describe(JsonParser p, JsonToken t) throws IOException {
        if (t == null) {
            return "end of input";
        }
        return switch (t) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "string \"" + Unsigned64.abbreviate(p.getText()) + "\"";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "number " + Unsigned64.abbreviate(p.getText());
            case VALUE_TRUE, VALUE_FALSE -> "boolean " + p.getText();
            case VALUE_NULL -> "null";
            default -> t.asString() == null ? t.name() : t.asString();
        };
    }

    // ------------------------------------------------------------------ writing

    /** The HTTP shape of {@code r}; seeds and hashes as unsigned decimal numbers. */
    public static byte[] toJson(LogRecord r) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(128);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            write(g, r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * Writes {@code r} in the HTTP shape: {@code lid}, {@code host} and
     * {@code toid} (its number among its origin's records) when set,
     * {@code id}, {@code tags}, {@code seed}, {@code prehash} (a number when the
     * record has at most one cause, 0 for none; an array when it has several),
     * {@code timestamp}.
     */
    public static void write(JsonGenerator g, LogRecord r) throws IOException {
        g.writeStartObject();
        writeFields(g, r);
        g.writeEndObject();
    }

    /** The fields of {@link #write}, without the enclosing braces: for answers that add fields of their own. */
    public static void writeFields(JsonGenerator g, LogRecord r) throws IOException {
        if (r.lid() != 0) {
            g.writeFieldName("lid");
            g.writeNumber(Unsigned64.toString(r.lid()));
        }
        if (r.host() != LogRecord.NO_HOST) {
            g.writeNumberField("host", r.host());
        }
        if (r.toid() != 0) {
            g.writeFieldName("toid");
            g.writeNumber(Unsigned64.toString(r.toid()));
        }
        if (r.id() != null) {
            g.writeStringField("id", r.id());
        }
        g.writeObjectFieldStart("tags");
        for (Map.Entry<String, String> e : r.tags().entrySet()) {
            g.writeStringField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
        g.writeFieldName("seed");
        g.writeNumber(Unsigned64.toString(r.seed()));
        g.writeFieldName("prehash");
        long[] pre = r.prehashes();
        if (pre.length <= 1) {
            g.writeNumber(pre.length == 0 ? "0" : Unsigned64.toString(pre[0]));
        } else {
            g.writeStartArray();
            for (long h : pre) {
                g.writeNumber(Unsigned64.toString(h));
            }
            g.writeEndArray();
        }
        if (r.timestamp() != 0) {
            g.writeNumberField("timestamp", r.timestamp());
        }
    }

    /** The shared factory, configured for records. */
    public static JsonFactory factory() {
        return FACTORY;
    }

    /**
     * A record's causes as they are read: growable, without boxing; zeros (no
     * cause) are not kept, and past {@link #MAX_CAUSES} the record is refused.
     */
    private static final class LongList {
        private final String field;
        private long[] a = new long[4];
        private int n;

        LongList(String field) {
            this.field = field;
        }

        void add(long v) throws RecordFormatException {
            if (v == 0) {
                return;
            }
            if (n == MAX_CAUSES) {
                throw new RecordFormatException(field, "more than " + MAX_CAUSES + " causes; a record names at most "
                        + MAX_CAUSES + " (each is held, and looked up, until it is in the log): split the effect");
            }
            if (n == a.length) {
                a = java.util.Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        void addAll(long[] vs) throws RecordFormatException {
            for (long v : vs) {
                add(v);
            }
        }

        long[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}
