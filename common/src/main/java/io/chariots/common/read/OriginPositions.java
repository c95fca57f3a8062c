package io.chariots.common.read;

import io.chariots.common.record.Unsigned64;
import io.chariots.proto.OriginMark;
import io.chariots.proto.RecordEnvelope;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where a reader stands in each datacenter of origin ({@code
 * from_toids=0:120,1:77,2:5}): it has exactly the records of origin 0 up to
 * TOId 120, of origin 1 up to 77, and so on. Every datacenter's log holds
 * each origin's records in the same order (I4) but interleaves the origins
 * its own way, so a reader that moves to another datacenter resumes from
 * these — not from an LId, which means something else there — and is given
 * each record it has not seen, once.
 *
 * <p>Reading starts at {@link #startLid}: record n of an origin is at LId n or
 * later in every datacenter (each earlier one of that origin, or its hole,
 * takes an LId before it), so nothing unseen lies below the lowest position
 * plus one. From there every record at or below its origin's position is
 * {@link #seen} and skipped. A record without a TOId (appended before TOIds)
 * is never skipped.
 */
public final class OriginPositions {
    private final Map<Integer, Long> byOrigin;
    private final int numDc;

    private OriginPositions(Map<Integer, Long> byOrigin, int numDc) {
        this.byOrigin = byOrigin;
        this.numDc = numDc;
    }

    /**
     * Parses {@code origin:toid,…} for a log of {@code numDc} datacenters;
     * an origin left out is read from its first record.
     *
     * @throws IllegalArgumentException naming the problem: not origin:toid, an origin not below num_dc, one twice,
     *                                  a TOId that is not an unsigned 64-bit number
     */
    public static OriginPositions parse(String text, int numDc) {
        Map<Integer, Long> out = new TreeMap<>();
        for (String part : text.split(",", -1)) {
            String p = part.strip();
            int colon = p.indexOf(':');
            if (colon <= 0 || colon == p.length() - 1) {
                throw new IllegalArgumentException("\"" + p + "\" is not origin:toid (e.g. 0:120,1:77)");
            }
            int origin;
            long toid;
            try {
                origin = Integer.parseInt(p.substring(0, colon));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("\"" + p.substring(0, colon) + "\" is not a datacenter id");
            }
            if (origin < 0 || origin >= numDc) {
                throw new IllegalArgumentException("datacenter " + origin + " does not exist (num_dc = " + numDc + ")");
            }
            try {
                toid = Unsigned64.parse(p.substring(colon + 1));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("\"" + p.substring(colon + 1) + "\" is not a TOId (0 … 2^64-1)");
            }
            if (out.put(origin, toid) != null) {
                throw new IllegalArgumentException("datacenter " + origin + " is given twice");
            }
        }
        return new OriginPositions(out, numDc);
    }

    public static OriginPositions of(List<OriginMark> marks, int numDc) {
        Map<Integer, Long> out = new TreeMap<>();
        for (OriginMark m : marks) {
            if (m.getOrigin() >= numDc) {
                throw new IllegalArgumentException("datacenter " + m.getOrigin() + " does not exist (num_dc = " + numDc + ")");
            }
            out.put(m.getOrigin(), m.getToid());
        }
        return new OriginPositions(out, numDc);
    }

    /** The lowest LId that can hold a record not yet seen. */
    public long startLid() {
        long start = -1L; // unsigned max
        for (int o = 0; o < numDc; o++) {
            long next = byOrigin.getOrDefault(o, 0L) + 1; // 2^64-1 + 1 wraps to 0: nothing after it, read from the start
            if (next != 0 && Long.compareUnsigned(next, start) < 0) {
                start = next;
            }
        }
        return start == -1L ? 1 : start;
    }

    /** Whether the reader has {@code r} already (it is at or below its origin's position). */
    public boolean seen(RecordEnvelope r) {
        return r.getToid() != 0 && Long.compareUnsigned(r.getToid(), byOrigin.getOrDefault((int) r.getHost(), 0L)) <= 0;
    }

    /** The records of {@code page} not seen yet, in order. */
    public List<RecordEnvelope> unseen(List<RecordEnvelope> page) {
        boolean any = false;
        for (RecordEnvelope r : page) {
            if (seen(r)) {
                any = true;
                break;
            }
        }
        return any ? page.stream().filter(r -> !seen(r)).toList() : page;
    }
}
