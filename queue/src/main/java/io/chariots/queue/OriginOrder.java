package io.chariots.queue;

import io.chariots.common.record.OriginMarks;
import io.chariots.proto.OriginMark;
import io.chariots.proto.RecordEnvelope;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Puts the records of other datacenters in their origin order (I4) and lets
 * each (origin, TOId) into the log once. The queue that owns an origin (see
 * {@code RingOwners#routingKey}) keeps that origin's records here by TOId and
 * hands the causal gate only the next one: TOId n once n − 1 is in the log or
 * has just been given an LId (then n depends on that LId, so that it is never
 * stored if that LId becomes a hole). A copy of a TOId at or below the mark —
 * the highest TOId of the origin given an LId, which the token carries and a
 * recovery rebuilds from the sealed maintainers — is a duplicate: the log has
 * it already, however often a link resends it and whatever restarted.
 *
 * <p>A TOId hole (its origin gave the TOId with an LId that became a hole
 * there) is ordered like a record and stored as a hole that carries the
 * TOId: so the mark never goes back below it, and readers skip it.
 *
 * <p>The marks are known only once this queue holds a token of the current
 * epoch ({@link #onToken}); until then nothing is handed on. After an epoch
 * change everything here is dropped ({@link #clear}): the filters send it
 * again and the new token's marks sort out what the log has. Owned by the
 * queue's loop.
 */
final class OriginOrder {
    /** Where records go on. */
    interface Out {
        /** {@code r} is next for its origin: to the causal gate, depending on {@code deps} (LIds not yet stored). */
        void next(RecordEnvelope r, Object tag, long[] deps, long now);

        /** The log has {@code r}'s TOId already: settle its copy as appended. */
        void duplicate(RecordEnvelope r, Object tag, long now);
    }

    private record Waiting(RecordEnvelope record, Object tag) {
    }

    private final Map<Integer, TreeMap<Long, Waiting>> waiting = new HashMap<>();
    private OriginMarks marks = new OriginMarks();
    // For each origin: the LId given to the record at its mark in this epoch (0: none, or stored before).
    private final Map<Integer, Long> markLid = new HashMap<>();
    // For each origin: the TOId handed to the gate and not yet given an LId (0: none).
    private final Map<Integer, Long> inGate = new HashMap<>();
    private boolean marksKnown;
    private int size;

    /** A record of another datacenter, new to this queue (its ledger entry is {@code tag}). */
    void add(RecordEnvelope r, Object tag, Out out, long now) {
        int origin = (int) r.getHost();
        if (marksKnown && Long.compareUnsigned(r.getToid(), marks.get(origin)) <= 0) {
            out.duplicate(r, tag, now);
            return;
        }
        if (waiting.computeIfAbsent(origin, o -> new TreeMap<>(Long::compareUnsigned))
                .putIfAbsent(r.getToid(), new Waiting(r, tag)) == null) {
            size++;
        }
        handOn(origin, out, now);
    }

    /**
     * A token of the current epoch: its marks for other origins (only ever
     * raised here). Copies at or below them are duplicates; then the next of
     * each origin is handed on.
     */
    void onToken(List<OriginMark> tokenMarks, Out out, long now) {
        marksKnown = true;
        for (OriginMark m : tokenMarks) {
            if (marks.raise(m.getOrigin(), m.getToid())) {
                markLid.remove(m.getOrigin()); // given by another holder: stored before it reached this token's marks
            }
        }
        for (Integer origin : new ArrayList<>(waiting.keySet())) {
            handOn(origin, out, now);
        }
    }

    /** The marks to carry on in the token. */
    List<OriginMark> marks(int self) {
        return marks.toList(self);
    }

    /**
     * The gate released {@code r}: whether it may take the next LId now (it is
     * its origin's next TOId). False for a copy the log has (answered through
     * {@code out}) or one out of turn (kept here again).
     */
    boolean mayAssign(RecordEnvelope r, Object tag, Out out, long now) {
        int origin = (int) r.getHost();
        long mark = marks.get(origin);
        if (Long.compareUnsigned(r.getToid(), mark) <= 0) {
            inGate.remove(origin, r.getToid());
            out.duplicate(r, tag, now);
            return false;
        }
        if (r.getToid() != mark + 1) {
            inGate.remove(origin, r.getToid());
            add(r, tag, out, now);
            return false;
        }
        return true;
    }

    /** {@code r} (its origin's next TOId) was given {@code lid}: its successor may follow in the same hold. */
    void assigned(RecordEnvelope r, long lid, Out out, long now) {
        int origin = (int) r.getHost();
        marks.raise(origin, r.getToid());
        markLid.put(origin, lid);
        inGate.remove(origin);
        handOn(origin, out, now);
    }

    private void handOn(int origin, Out out, long now) {
        if (!marksKnown || inGate.containsKey(origin)) {
            return;
        }
        TreeMap<Long, Waiting> w = waiting.get(origin);
        if (w == null) {
            return;
        }
        long mark = marks.get(origin);
        while (!w.isEmpty() && Long.compareUnsigned(w.firstKey(), mark) <= 0) {
            Waiting d = w.pollFirstEntry().getValue();
            size--;
            out.duplicate(d.record(), d.tag(), now);
        }
        if (!w.isEmpty() && w.firstKey() == mark + 1) {
            Waiting next = w.pollFirstEntry().getValue();
            size--;
            inGate.put(origin, next.record().getToid());
            Long lid = markLid.get(origin);
            out.next(next.record(), next.tag(), lid == null ? CausalGate.NO_DEPS : new long[] {lid}, now);
        }
        if (w.isEmpty()) {
            waiting.remove(origin);
        }
    }

    /** An epoch change: the filters send everything again, and the next token's marks are the truth. */
    void clear() {
        waiting.clear();
        inGate.clear();
        markLid.clear();
        marks = new OriginMarks(); // the new token's may be lower: a TOId given an LId that became a hole
        marksKnown = false;
        size = 0;
    }

    /** Records kept here, out of turn or before the marks are known. */
    int size() {
        return size;
    }
}
