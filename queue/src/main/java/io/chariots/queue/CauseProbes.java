package io.chariots.queue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.Predicate;

/**
 * Asks the indexers, in batches, whether the causes the {@link CausalGate}
 * waits for are in the log; a cause not found is asked about again after a
 * backoff ({@code reprobeMin} doubling up to {@code reprobeMax}). Also keeps
 * the <em>cause clock</em>: the time during which the indexers answered, so
 * that a record waits for its cause only while its cause could be found. Owned
 * by the queue's loop.
 */
public final class CauseProbes {
    /** Sends one batched existence query to every indexer; the answer comes back via {@link #onAnswered} / {@link #onFailed}. */
    public interface Sender {
        void exists(List<String> indexers, long probeId, List<CauseKey> keys);
    }

    private final Sender sender;
    private final int maxBatch;
    private final long reprobeMinNanos;
    private final long reprobeMaxNanos;
    private long nextProbeId = 1;
    private final Map<Long, List<CauseKey>> inFlight = new HashMap<>();
    private final Map<CauseKey, Integer> attempts = new HashMap<>();
    // Re-asks by due time (then in the order scheduled): backoffs differ per key, so a FIFO is not in time order.
    private record Due(long at, long seq, CauseKey key) {
    }

    private final PriorityQueue<Due> due = new PriorityQueue<>((a, b) -> a.at() != b.at()
            ? Long.compare(a.at() - b.at(), 0) : Long.compare(a.seq(), b.seq()));
    private long nextSeq;
    // The cause clock: real time minus the time during which the indexers could not answer.
    private long outageStart = Long.MIN_VALUE;
    private long outageTotal;

    CauseProbes(Sender sender, int maxBatch, long reprobeMinNanos, long reprobeMaxNanos) {
        this.sender = sender;
        this.maxBatch = maxBatch;
        this.reprobeMinNanos = reprobeMinNanos;
        this.reprobeMaxNanos = reprobeMaxNanos;
    }

    /** The cause clock at {@code now}: it stands still while the indexers cannot answer. */
    long causeClock(long now) {
        return (outageStart == Long.MIN_VALUE ? now : outageStart) - outageTotal;
    }

    /** Whether the cause clock stands still now. */
    boolean stopped() {
        return outageStart != Long.MIN_VALUE;
    }

    private void outage(boolean down, long now) {
        if (down && outageStart == Long.MIN_VALUE) {
            outageStart = now;
        } else if (!down && outageStart != Long.MIN_VALUE) {
            outageTotal += now - outageStart;
            outageStart = Long.MIN_VALUE;
        }
    }

    /** Sends new causes and due re-asks; with no indexer known, the clock stops and they wait. */
    void probe(List<CauseKey> fresh, List<String> indexers, Predicate<CauseKey> stillUnmet, long now) {
        List<CauseKey> keys = new ArrayList<>(fresh);
        while (!due.isEmpty() && now - due.peek().at() >= 0) {
            CauseKey k = due.poll().key();
            if (stillUnmet.test(k)) {
                keys.add(k);
            } else {
                attempts.remove(k);
            }
        }
        if (keys.isEmpty()) {
            return;
        }
        if (indexers.isEmpty()) {
            outage(true, now);
            for (CauseKey k : keys) {
                schedule(k, now);
            }
            return;
        }
        for (int from = 0; from < keys.size(); from += maxBatch) {
            List<CauseKey> part = List.copyOf(keys.subList(from, Math.min(keys.size(), from + maxBatch)));
            long id = nextProbeId++;
            inFlight.put(id, part);
            sender.exists(indexers, id, part);
        }
    }

    /**
     * Indexers answered probe {@code probeId}: {@code lids[i]} is the LId of
     * key i, or 0; {@code complete} when every indexer answered (otherwise a
     * key not found may be at the one that did not, and the clock stops).
     * Returns the keys found; those not found are asked about again later.
     */
    List<CauseKey> onAnswered(long probeId, long[] lids, boolean complete, Predicate<CauseKey> stillUnmet, long now) {
        List<CauseKey> keys = inFlight.remove(probeId);
        if (keys == null) {
            return List.of();
        }
        outage(!complete, now);
        List<CauseKey> found = new ArrayList<>();
        for (int i = 0; i < keys.size(); i++) {
            CauseKey k = keys.get(i);
            if (i < lids.length && lids[i] != 0) {
                attempts.remove(k);
                found.add(k);
            } else if (stillUnmet.test(k)) {
                schedule(k, now);
            }
        }
        return found;
    }

    /** Some indexer did not answer: the answer would be incomplete, so the clock stops and the keys are asked again. */
    void onFailed(long probeId, Predicate<CauseKey> stillUnmet, long now) {
        List<CauseKey> keys = inFlight.remove(probeId);
        if (keys == null) {
            return;
        }
        outage(true, now);
        for (CauseKey k : keys) {
            if (stillUnmet.test(k)) {
                schedule(k, now);
            }
        }
    }

    private void schedule(CauseKey k, long now) {
        int attempt = attempts.merge(k, 1, Integer::sum);
        long delay = Math.min(reprobeMaxNanos, reprobeMinNanos << Math.min(attempt - 1, 20));
        due.add(new Due(now + delay, nextSeq++, k));
    }

    /** Forgets a key that no record waits for anymore. */
    void forget(CauseKey k) {
        attempts.remove(k);
    }

    /** The next re-ask, or {@code Long.MAX_VALUE}. */
    long nextDue() {
        return due.isEmpty() ? Long.MAX_VALUE : due.peek().at();
    }
}
