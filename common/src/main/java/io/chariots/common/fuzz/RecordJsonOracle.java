package io.chariots.common.fuzz;

import io.chariots.common.record.LogRecord;
import io.chariots.common.record.RecordFormatException;
import io.chariots.common.record.RecordJson;

/**
 * What the JSON record reader must do with any input: give records, or an
 * error naming a field and a problem — never another exception, never a
 * long stall — and every record it gives reads back the same once written.
 */
public final class RecordJsonOracle {
    /** Records an array may carry in these checks (the edges' limit is of the same order). */
    public static final int MAX_RECORDS = 10_000;
    /** Longest a reading of one input may take before it counts as a hang. */
    public static final long SLOW_MS = 5_000;

    private RecordJsonOracle() {
    }

    /** @return null if the reader did what it must with {@code json}, else what it did wrong */
    public static String check(byte[] json) {
        long start = System.nanoTime();
        String problem = checkArray(json);
        if (problem == null) {
            problem = checkOne(json);
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        if (problem == null && ms > SLOW_MS && json.length < (1 << 20)) {
            problem = "reading " + json.length + " bytes took " + ms + " ms";
        }
        return problem;
    }

    private static String checkArray(byte[] json) {
        try {
            RecordJson.Parsed p = RecordJson.readRecords(json, 0, json.length, MAX_RECORDS);
            for (RecordFormatException e : p.rejected()) {
                String bad = unnamed(e);
                if (bad != null) {
                    return bad;
                }
            }
            for (LogRecord r : p.records()) {
                String bad = roundTrip(r);
                if (bad != null) {
                    return bad;
                }
            }
            return null;
        } catch (RecordFormatException e) {
            return unnamed(e);
        } catch (RuntimeException | StackOverflowError e) {
            return "readRecords threw " + e;
        }
    }

    private static String checkOne(byte[] json) {
        try {
            return roundTrip(RecordJson.readRecord(json));
        } catch (RecordFormatException e) {
            return unnamed(e);
        } catch (RuntimeException | StackOverflowError e) {
            return "readRecord threw " + e;
        }
    }

    private static String unnamed(RecordFormatException e) {
        if (e.field() == null || e.field().isEmpty() || e.problem() == null || e.problem().isEmpty()) {
            return "an error without a field or a problem: " + e.getMessage();
        }
        return null;
    }

    private static String roundTrip(LogRecord r) {
        byte[] written = RecordJson.toJson(r);
        try {
            LogRecord again = RecordJson.readRecord(written);
            return again.equals(r) ? null : "record " + r + " reads back as " + again;
        } catch (RecordFormatException e) {
            return "record " + r + " written as " + new String(written, java.nio.charset.StandardCharsets.UTF_8)
                    + " does not read back: " + e.getMessage();
        }
    }
}
