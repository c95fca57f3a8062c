package io.chariots.queue;

import io.chariots.common.grpc.MessageLimits;
import io.chariots.common.link.WindowedSender;
import io.chariots.proto.RecordEnvelope;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Records that have their LIds, on their way to the maintainers that own
 * them: batched per maintainer (closed at {@code maxBatch} records or
 * {@link MessageLimits#BATCH_BYTES}), sent through the {@link WindowedSender}, and
 * retried to the same maintainer until stored (an LId's maintainer never
 * changes). A record whose causes this queue gave LIds but has not stored yet
 * (its local dependencies) waits until they are stored, so an effect is never
 * durable before its cause. Everything here belongs to one epoch: an epoch
 * change voids it all ({@link #clear}). Owned by the queue's loop.
 */
public final class StoreOutbox {
    /** Sends one batch; the reply comes back on the loop via {@link #onStored} / {@link #onFailed}. */
    public interface Sender {
        void store(String maintainer, long batchId, long epoch, List<RecordEnvelope> records);
    }

    /** A batch for one maintainer, at the epoch its LIds were given at; {@code tags[i]} came with {@code records[i]}. */
    static final class StoreBatch {
        private final long epoch;
        private final List<RecordEnvelope> records = new ArrayList<>();
        private final List<Object> tags = new ArrayList<>();
        private long bytes; // serialized, of records

        StoreBatch(long epoch) {
            this.epoch = epoch;
        }

        long epoch() {
            return epoch;
        }

        List<RecordEnvelope> records() {
            return records;
        }

        List<Object> tags() {
            return tags;
        }
    }

    private record Waiting(String maintainer, RecordEnvelope record, long[] deps, Object tag) {
    }

    private final WindowedSender<StoreBatch> sender;
    private final int maxBatch;
    private final Map<String, StoreBatch> collecting = new HashMap<>();
    private final ArrayDeque<Waiting> blocked = new ArrayDeque<>();
    private final UnstoredLids unstored = new UnstoredLids();
    // Something was stored since blocked records were last looked at.
    private boolean storedSinceScan;
    private long epoch;

    StoreOutbox(Sender sender, int window, int maxBatch, WindowedSender.Backoff backoff) {
        this.sender = new WindowedSender<>((m, id, b) -> sender.store(m, id, b.epoch(), b.records()), window, backoff);
        this.maxBatch = maxBatch;
    }

    static WindowedSender.Backoff defaultBackoff() {
        return new WindowedSender.Backoff(Duration.ofMillis(20), Duration.ofSeconds(1));
    }

    /** Adds a record given an LId at {@code epoch}; sent at the next {@link #flush} once its local dependencies are stored. */
    void add(long epoch, String maintainer, RecordEnvelope r, long[] localDeps) {
        add(epoch, maintainer, r, localDeps, null);
    }

    /** As {@link #add(long, String, RecordEnvelope, long[])}, with {@code tag} handed back in its {@link StoreBatch}. */
    void add(long epoch, String maintainer, RecordEnvelope r, long[] localDeps, Object tag) {
        this.epoch = epoch;
        unstored.add(r.getLid());
        if (depsStored(localDeps) || inBatch(maintainer, localDeps, r)) {
            collect(maintainer, r, tag);
        } else {
            blocked.add(new Waiting(maintainer, r, localDeps, tag));
        }
    }

    private boolean depsStored(long[] deps) {
        long lowest = unstored.first(); // 0 when all are stored
        for (long d : deps) {
            // Below the lowest unstored LId is stored: no search (most causes are long stored).
            if (lowest != 0 && Long.compareUnsigned(d, lowest) >= 0 && unstored.contains(d)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether every dependency not yet stored is in the batch being collected
     * for {@code maintainer}, and {@code r} would join that batch (not start
     * the next at {@link MessageLimits#BATCH_BYTES}): a batch is stored whole or not at all (one
     * RocksDB WriteBatch), so the record may go with it. A chain — the records
     * of another datacenter, each depending on the one before — then needs no
     * round trip per record. Dependencies are nearly always the last records
     * collected.
     */
    private boolean inBatch(String maintainer, long[] deps, RecordEnvelope r) {
        StoreBatch c = collecting.get(maintainer);
        if (c == null || MessageLimits.closesBefore(c.bytes, r.getSerializedSize())) { // r would start the next batch
            return false;
        }
        long lowest = unstored.first();
        List<RecordEnvelope> rs = c.records();
        for (long d : deps) {
            if (lowest == 0 || Long.compareUnsigned(d, lowest) < 0 || !unstored.contains(d)) {
                continue; // stored
            }
            if (!contains(rs, d)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether {@code rs} holds LId {@code lid}. A batch being collected holds
     * the LIds a hold gave, in increasing order: a binary search (a chain
     * released from blocked at a flush finds its cause last). Were it not
     * sorted, a miss would only make the record wait for its dependency's
     * store.
     */
    private static boolean contains(List<RecordEnvelope> rs, long lid) {
        if (!rs.isEmpty() && rs.get(rs.size() - 1).getLid() == lid) {
            return true; // a chain released from blocked: its cause was the last one collected
        }
        int lo = 0;
        int hi = rs.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = Long.compareUnsigned(rs.get(mid).getLid(), lid);
            if (c == 0) {
                return true;
            }
            if (c < 0) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return false;
    }

    private void collect(String maintainer, RecordEnvelope r, Object tag) {
        StoreBatch c = collecting.computeIfAbsent(maintainer, m -> new StoreBatch(epoch));
        int size = r.getSerializedSize(); // memoized: the call's serialization reads it again
        // Closed by bytes too: a batch of large records must stay one call a maintainer can take.
        if (MessageLimits.closesBefore(c.bytes, size)) {
            sender.submit(maintainer, c);
            c = new StoreBatch(epoch);
            collecting.put(maintainer, c);
        }
        c.records.add(r);
        c.tags.add(tag);
        c.bytes += size;
        if (c.records.size() >= maxBatch) {
            sender.submit(maintainer, c);
            collecting.remove(maintainer);
        }
    }

    /** Seals what was collected (and what is no longer blocked) into batches and sends what the windows allow. */
    void flush(long now) {
        if (!blocked.isEmpty() && storedSinceScan) {
            storedSinceScan = false; // nothing stored since the last look: nothing blocked can have been freed
            for (Iterator<Waiting> it = blocked.iterator(); it.hasNext(); ) {
                Waiting w = it.next();
                // A chain blocked behind a batch just stored goes out whole in one batch, not one record per store.
                if (depsStored(w.deps()) || inBatch(w.maintainer(), w.deps(), w.record())) {
                    it.remove();
                    collect(w.maintainer(), w.record(), w.tag());
                }
            }
        }
        collecting.forEach(sender::submit);
        collecting.clear();
        sender.poll(now);
    }

    /** The maintainer stored batch {@code batchId}: returns it (null if unknown: settled or voided). */
    StoreBatch onStored(long batchId) {
        StoreBatch b = sender.onSuccess(batchId);
        if (b == null) {
            return null;
        }
        for (RecordEnvelope r : b.records()) {
            unstored.remove(r.getLid());
        }
        storedSinceScan = true;
        return b;
    }

    /** The maintainer refused batch {@code batchId} (sealed or conflict): it is out of flight; the caller changes epoch. */
    void onRefused(long batchId) {
        sender.onSuccess(batchId);
    }

    /** The call failed: retried to the same maintainer after its backoff. */
    void onFailed(String maintainer, long batchId, long now) {
        StoreBatch b = sender.onFailure(batchId, now);
        if (b != null) {
            sender.retry(maintainer, b);
        }
    }

    /** Retries due batches; returns the next retry deadline or {@code Long.MAX_VALUE}. */
    long poll(long now) {
        return sender.poll(now);
    }

    /** The lowest LId given out here and not yet stored, or 0. */
    long unstoredFrom() {
        return unstored.first();
    }

    /** For diagnostics: the first LIds not yet stored, what is blocked, and each maintainer's link. */
    public String describe() {
        StringBuilder sb = new StringBuilder("unstored ");
        for (long l : unstored.lowest(5)) {
            sb.append(Long.toUnsignedString(l)).append(' ');
        }
        if (unstored.size() > 5) {
            sb.append("… ");
        }
        sb.append("blocked ").append(blocked.size());
        for (String m : sender.destinations()) {
            sb.append(", ").append(m).append(": ").append(sender.state(m)).append(' ').append(sender.inFlight(m))
                    .append(" in flight, ").append(sender.queued(m)).append(" queued");
        }
        return sb.toString();
    }

    /** Records given LIds here and not yet stored. */
    public int unstoredCount() {
        return unstored.size();
    }

    /** Maintainers whose calls have failed {@code failures} times in a row or more, and that still have batches to take. */
    Set<String> failing(int failures) {
        Set<String> out = new HashSet<>();
        for (String m : sender.destinations()) {
            // Only while it still has work there: a count left from a crash long over proves nothing now.
            if (sender.failures(m) >= failures && sender.queued(m) + sender.inFlight(m) > 0) {
                out.add(m);
            }
        }
        return out;
    }

    /** A new process serves at {@code maintainer}'s address: its old failures count no more, its batches go now. */
    void restarted(String maintainer) {
        sender.backAgain(maintainer);
    }

    /** Voids everything (a newer epoch sealed the maintainers); late replies are ignored. */
    void clear() {
        sender.clear();
        collecting.clear();
        blocked.clear();
        unstored.clear();
    }
}
