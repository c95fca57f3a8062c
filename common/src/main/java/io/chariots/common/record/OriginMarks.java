package io.chariots.common.record;

import io.chariots.proto.OriginMark;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * TOIds by datacenter of origin ({@link OriginMark} lists on the wire): how
 * far each origin's records go in a log, a store or a token. Only ever
 * raised: {@link #raise} keeps the higher of two marks.
 */
public final class OriginMarks {
    private final TreeMap<Integer, Long> byOrigin = new TreeMap<>();
    // The LId at its origin of the record at each mark, where known.
    private final TreeMap<Integer, Long> originLids = new TreeMap<>();

    public OriginMarks() {
    }

    public static OriginMarks of(List<OriginMark> marks) {
        OriginMarks m = new OriginMarks();
        m.raiseAll(marks);
        return m;
    }

    /** The mark of {@code origin}, 0 if none. */
    public long get(int origin) {
        return byOrigin.getOrDefault(origin, 0L);
    }

    /** The LId at its origin of the record at {@code origin}'s mark, 0 if not known. */
    public long originLid(int origin) {
        return originLids.getOrDefault(origin, 0L);
    }

    /** Raises {@code origin}'s mark to {@code toid} if that is higher; true if it changed. */
    public boolean raise(int origin, long toid) {
        return raise(origin, toid, 0);
    }

    /** As {@link #raise(int, long)}, with the LId that record has at its origin (0: not known). */
    public boolean raise(int origin, long toid, long originLid) {
        if (Long.compareUnsigned(toid, get(origin)) > 0) {
            byOrigin.put(origin, toid);
            if (originLid != 0) {
                originLids.put(origin, originLid);
            } else {
                originLids.remove(origin);
            }
            return true;
        }
        return false;
    }

    public void raiseAll(List<OriginMark> marks) {
        for (OriginMark m : marks) {
            raise(m.getOrigin(), m.getToid(), m.getOriginLid());
        }
    }

    public void raiseAll(OriginMarks other) {
        other.byOrigin.forEach((o, t) -> raise(o, t, other.originLid(o)));
    }

    /** The marks, origin ascending; {@code except} (e.g. this datacenter) left out, or -1 for all. */
    public List<OriginMark> toList(int except) {
        return byOrigin.entrySet().stream().filter(e -> e.getKey() != except)
                .map(e -> mark(e.getKey())).toList();
    }

    /** {@code origin}'s mark on the wire (TOId 0 if none). */
    public OriginMark mark(int origin) {
        return OriginMark.newBuilder().setOrigin(origin).setToid(get(origin)).setOriginLid(originLid(origin)).build();
    }

    public List<OriginMark> toList() {
        return toList(-1);
    }

    public Map<Integer, Long> asMap() {
        return java.util.Collections.unmodifiableMap(byOrigin);
    }

    public boolean isEmpty() {
        return byOrigin.isEmpty();
    }

    @Override
    public String toString() {
        return byOrigin.toString();
    }
}
