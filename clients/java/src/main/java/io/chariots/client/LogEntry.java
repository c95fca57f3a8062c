package io.chariots.client;

import java.math.BigInteger;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A record read back from the log.
 *
 * @param lid       its position, from 1
 * @param host      its datacenter of origin (-1 when the answer does not say)
 * @param toid      its number among the records of its datacenter of origin
 *                  ({@code host}): 1, 2, 3…, unsigned 64-bit; 0 for a record
 *                  written before the server numbered them
 * @param id        its id
 * @param tags      its tags
 * @param seed      its chain, unsigned 64-bit
 * @param prehashes the FNV-1a-64 of one tag of each of its causes (empty: none)
 * @param timestamp epoch milliseconds of its append
 * @param causes    in a trace, the LIds of its causes; otherwise empty
 */
public record LogEntry(long lid, int host, long toid, String id, Map<String, String> tags, long seed, long[] prehashes,
                       long timestamp, long[] causes) {

    /** A record without a TOId (as before records carried one). */
    public LogEntry(long lid, int host, String id, Map<String, String> tags, long seed, long[] prehashes,
                    long timestamp, long[] causes) {
        this(lid, host, 0, id, tags, seed, prehashes, timestamp, causes);
    }

    /** The TOId in unsigned decimal, as the server prints it ("0" when absent). */
    public String toidText() {
        return Long.toUnsignedString(toid);
    }

    public String seedText() {
        return Long.toUnsignedString(seed);
    }

    @SuppressWarnings("unchecked")
    static LogEntry from(Map<String, Object> m) {
        Map<String, String> tags = new LinkedHashMap<>();
        Object t = m.get("tags");
        if (t instanceof Map<?, ?> tm) {
            tm.forEach((k, v) -> tags.put(String.valueOf(k), String.valueOf(v)));
        }
        long[] pre;
        Object p = m.get("prehash");
        if (p instanceof List<?> l) {
            pre = l.stream().mapToLong(LogEntry::u64).toArray();
        } else {
            long h = p == null ? 0 : u64(p);
            pre = h == 0 ? new long[0] : new long[] {h};
        }
        long[] causes = m.get("causes") instanceof List<?> l ? l.stream().mapToLong(LogEntry::u64).toArray() : new long[0];
        Object host = m.get("host");
        Object toid = m.get("toid");
        Object ts = m.get("timestamp");
        return new LogEntry(u64(m.get("lid")), host == null ? -1 : ((Number) host).intValue(), toid == null ? 0 : u64(toid),
                (String) m.get("id"), Map.copyOf(tags), u64(m.get("seed")), pre, ts == null ? 0 : ((Number) ts).longValue(), causes);
    }

    static long u64(Object v) {
        if (v instanceof BigInteger b) {
            return b.longValue(); // two's complement: the unsigned value in a long
        }
        if (v instanceof String s) {
            return Long.parseUnsignedLong(s);
        }
        if (v instanceof Number n) {
            return n.longValue();
        }
        throw new IllegalArgumentException("expected an unsigned 64-bit number, got " + v);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LogEntry e && e.lid == lid && e.host == host && e.toid == toid
                && java.util.Objects.equals(e.id, id)
                && e.tags.equals(tags) && e.seed == seed && Arrays.equals(e.prehashes, prehashes)
                && e.timestamp == timestamp && Arrays.equals(e.causes, causes);
    }

    @Override
    public int hashCode() {
        return (Long.hashCode(lid) * 31 + Long.hashCode(toid)) * 31 + java.util.Objects.hashCode(id);
    }

    @Override
    public String toString() {
        return "LogEntry[lid=" + Long.toUnsignedString(lid)
                + (host >= 0 ? ", host=" + host : "")
                + (toid != 0 ? ", toid=" + Long.toUnsignedString(toid) : "")
                + ", id=" + id + ", tags=" + tags + ", seed=" + seedText()
                + (prehashes.length > 0 ? ", prehash=" + Arrays.toString(Arrays.stream(prehashes).mapToObj(Long::toUnsignedString).toArray()) : "")
                + (causes.length > 0 ? ", causes=" + Arrays.toString(causes) : "") + "]";
    }
}
