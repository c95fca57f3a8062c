package io.chariots.common.acks;

import io.chariots.common.loop.EventLoop;
import io.chariots.proto.AppendedId;
import io.chariots.proto.AppendedIds;
import io.chariots.proto.IdStatus;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Waits, at an edge (app or batcher), until record ids are in the log:
 * persisted by their maintainer and indexed. Each {@link #await} names the
 * ids of one request and a deadline, and its {@link Callback} runs once, with
 * one {@link Outcome} per id: {@link Appended} (LId and datacenter of origin),
 * {@link Rejected} (why the record will never enter the log), or
 * {@link TimedOut}.
 *
 * <p>Two ways to learn an outcome:
 * <ul>
 * <li><b>Pushed notices</b> ({@link #onAppended}): the edge sets its address
 *     as the records' {@code ack_to}; maintainers call {@code Acks.Appended}
 *     once an indexer acknowledged them. The normal, cheap path.</li>
 * <li><b>Lookups</b>, the fallback for ids that waited longer than
 *     {@link Limits#lookupAfter} (200 ms) without a notice: a notice can be
 *     lost (maintainer crash, failed call), or never come — a retried id the
 *     filter dropped as a duplicate is already in the log under its first
 *     append, and nobody will push it again; a record rejected because its
 *     cause never came is only known to the indexers. Due ids are looked up in
 *     batches ({@code Lookup{ids}}, at most {@link Limits#maxLookupIds}) at
 *     every indexer — indexers are partitioned by LId block, so any of them
 *     may hold an id — with one round in flight at a time, and again every
 *     {@link Limits#lookupEvery} while unresolved. An id found by lookup is
 *     reported with this edge's datacenter as its host (records waited for
 *     at an edge originate there).</li>
 * </ul>
 *
 * <p>Bounded: at most {@link Limits#maxWaiting} ids wait at once; an
 * {@code await} that would exceed it is refused (the edge answers 503).
 *
 * <p>Threads: owned by one {@link EventLoop}. Every method runs on it; the
 * {@link Lookup} delivers replies back on it; notices from the gRPC service
 * are enqueued onto it. Time comes only from {@link #poll}'s {@code now}, so
 * timeouts are tested with a hand clock.
 */
public final class AppendWaiters {
    private static final Logger LOG = LoggerFactory.getLogger(AppendWaiters.class);

    /** What became of one awaited id. */
    public sealed interface Outcome permits Appended, Rejected, TimedOut {
    }

    /** In the log at {@code lid}, originated in datacenter {@code host}. */
    public record Appended(long lid, int host) implements Outcome {
    }

    /** Will never enter the log (for instance: its cause never came). */
    public record Rejected(String reason) implements Outcome {
    }

    /** Not known to be in the log by the deadline; the append may still complete. */
    public record TimedOut() implements Outcome {
    }

    /** Runs once per {@link #await}, on the loop. */
    @FunctionalInterface
    public interface Callback {
        /** @param outcomes parallel to the ids awaited */
        void done(List<Outcome> outcomes);
    }

    /** Asks one indexer about ids (gRPC {@code Indexer.Lookup} in production). */
    public interface Lookup {
        /**
         * Must call exactly one of {@code reply} or {@code failed}, later, on
         * the loop.
         */
        void lookup(String indexer, List<String> ids, Consumer<List<IdStatus>> reply, Consumer<Throwable> failed);
    }

    /**
     * @param maxWaiting   ids waiting at once, at most
     * @param lookupAfter  how long an id waits for a notice before it is looked up
     * @param lookupEvery  how often an unresolved id is looked up again
     * @param maxLookupIds ids per lookup call at most (the indexer takes 10,000)
     */
    public record Limits(int maxWaiting, Duration lookupAfter, Duration lookupEvery, int maxLookupIds) {
        public Limits {
            if (maxWaiting < 1 || maxLookupIds < 1 || lookupAfter.isNegative() || lookupEvery.isNegative()
                    || lookupEvery.isZero()) {
                throw new IllegalArgumentException("invalid append waiter limits: " + maxWaiting + "/" + lookupAfter
                        + "/" + lookupEvery + "/" + maxLookupIds);
            }
        }

        public static Limits defaults() {
            return new Limits(100_000, Duration.ofMillis(200), Duration.ofMillis(500), 10_000);
        }

        /** These limits with another {@code maxWaiting}. */
        public Limits withMaxWaiting(int n) {
            return new Limits(n, lookupAfter, lookupEvery, maxLookupIds);
        }
    }

    /** One {@link #await}: its ids, their outcomes so far, its deadline. */
    public final class Wait {
        private final List<String> ids;
        private final Outcome[] outcomes;
        private final long deadline;
        private final long seq;
        private final Callback callback;
        private int left;
        private boolean done;

        private Wait(List<String> ids, long deadline, long seq, Callback callback) {
            this.ids = ids;
            this.outcomes = new Outcome[ids.size()];
            this.deadline = deadline;
            this.seq = seq;
            this.callback = callback;
            this.left = ids.size();
        }
    }

    /** Where one awaited id sits: a wait and the index of the id in it. */
    private record Slot(Wait owner, int index) {
    }

    /** Everything waiting for one id. */
    private static final class Waiter {
        final String id;
        final List<Slot> slots = new ArrayList<>(1);
        long nextLookup;
        boolean gone;

        Waiter(String id) {
            this.id = id;
        }
    }

    private final Lookup lookup;
    private final Limits limits;
    private final int localHost;
    private final Map<String, Waiter> waiting = new HashMap<>();
    private final TreeSet<Wait> byDeadline = new TreeSet<>(Comparator.<Wait>comparingLong(w -> w.deadline)
            .thenComparingLong(w -> w.seq));
    /** Waiters not looked up yet, by time of arrival: their first lookup is due in that order. */
    private final ArrayDeque<Waiter> firstLookups = new ArrayDeque<>();
    /** Waiters looked up without an answer, in the order their next lookup is due. */
    private final ArrayDeque<Waiter> nextLookups = new ArrayDeque<>();
    private List<String> indexers = List.of();
    private int lookupRepliesDue;
    private List<Waiter> lookingUp = List.of();
    private long lookupStartedAt;
    private long seq;
    private int waitingIds;

    private volatile int waitingGauge;
    private volatile long appendedByNotice;
    private volatile long appendedByLookup;
    private volatile long rejected;
    private volatile long timedOut;
    private volatile long refused;
    private volatile long lookupCalls;
    private volatile long lookupFailures;

    /**
     * @param localHost this edge's datacenter: the host reported for ids found by lookup
     */
    public AppendWaiters(Lookup lookup, Limits limits, int localHost) {
        this.lookup = lookup;
        this.limits = limits;
        this.localHost = localHost;
    }

    /** The indexers to look ids up at (gRPC addresses), from the newest membership. */
    public void onIndexers(List<String> indexers) {
        this.indexers = List.copyOf(indexers);
    }

    /** Whether {@code n} more ids can wait now. */
    public boolean hasRoomFor(int n) {
        return waitingIds + n <= limits.maxWaiting();
    }

    /**
     * Waits for {@code ids} until {@code deadline} ({@link #poll}'s clock).
     * Register before the records are handed on, so no notice can come first.
     *
     * @return the wait (to {@link #cancel} it if the records never reached
     *         the pipeline), or null when refused: more than
     *         {@link Limits#maxWaiting} ids would wait (the callback never runs)
     */
    public Wait await(List<String> ids, long deadline, long now, Callback callback) {
        if (!hasRoomFor(ids.size())) {
            refused++;
            return null;
        }
        Wait w = new Wait(List.copyOf(ids), deadline, seq++, callback);
        if (ids.isEmpty()) {
            finish(w);
            return w;
        }
        byDeadline.add(w);
        for (int i = 0; i < ids.size(); i++) {
            Waiter waiter = waiting.get(ids.get(i));
            if (waiter == null) {
                waiter = new Waiter(ids.get(i));
                waiter.nextLookup = now + limits.lookupAfter().toNanos();
                waiting.put(waiter.id, waiter);
                firstLookups.add(waiter);
            }
            waiter.slots.add(new Slot(w, i));
        }
        waitingIds += ids.size();
        waitingGauge = waitingIds;
        return w;
    }

    /** Stops waiting for what {@code w} still waits for; its callback will not run. */
    public void cancel(Wait w) {
        if (w == null || w.done) {
            return;
        }
        w.done = true;
        byDeadline.remove(w);
        release(w);
    }

    /** Notices pushed by maintainers: these ids are in the log. Unknown ids are ignored. */
    public void onAppended(AppendedIds notices) {
        for (AppendedId a : notices.getIdsList()) {
            Waiter waiter = waiting.get(a.getId());
            if (waiter != null) {
                appendedByNotice += waiter.slots.size();
                resolve(waiter, new Appended(a.getLid(), a.getHost()));
            }
        }
        waitingGauge = waitingIds;
    }

    /**
     * Times out waits past their deadline and starts a lookup round if ids
     * are due and none is in flight. Returns the next deadline.
     */
    public long poll(long now) {
        Wait first;
        while ((first = byDeadline.isEmpty() ? null : byDeadline.first()) != null && now - first.deadline >= 0) {
            byDeadline.pollFirst();
            timeOut(first);
        }
        dropGone(firstLookups);
        dropGone(nextLookups);
        if (lookupRepliesDue == 0 && !indexers.isEmpty()) {
            startLookups(now);
        }
        waitingGauge = waitingIds;
        return nextDeadline();
    }

    private long nextDeadline() {
        long next = EventLoop.Ticker.NO_DEADLINE;
        if (!byDeadline.isEmpty()) {
            next = byDeadline.first().deadline;
        }
        if (lookupRepliesDue == 0 && !indexers.isEmpty()) {
            next = EventLoop.Ticker.earlier(next, firstLookups.isEmpty() ? EventLoop.Ticker.NO_DEADLINE : firstLookups.peek().nextLookup);
            next = EventLoop.Ticker.earlier(next, nextLookups.isEmpty() ? EventLoop.Ticker.NO_DEADLINE : nextLookups.peek().nextLookup);
        }
        return next;
    }

    private static void dropGone(ArrayDeque<Waiter> queue) {
        while (!queue.isEmpty() && queue.peek().gone) {
            queue.poll();
        }
    }

    private void startLookups(long now) {
        List<Waiter> due = new ArrayList<>();
        takeDue(firstLookups, now, due);
        takeDue(nextLookups, now, due);
        if (due.isEmpty()) {
            return;
        }
        List<String> ids = new ArrayList<>(due.size());
        for (Waiter w : due) {
            ids.add(w.id);
        }
        lookingUp = due;
        lookupStartedAt = now;
        lookupRepliesDue = indexers.size();
        for (String indexer : indexers) {
            lookupCalls++;
            try {
                lookup.lookup(indexer, ids, this::onLookupReply, this::onLookupFailed);
            } catch (RuntimeException e) {
                onLookupFailed(e);
            }
        }
    }

    private void takeDue(ArrayDeque<Waiter> queue, long now, List<Waiter> due) {
        while (due.size() < limits.maxLookupIds() && !queue.isEmpty()) {
            Waiter w = queue.peek();
            if (w.gone) {
                queue.poll();
            } else if (now - w.nextLookup >= 0) {
                due.add(queue.poll());
            } else {
                return;
            }
        }
    }

    private void onLookupReply(List<IdStatus> statuses) {
        for (IdStatus s : statuses) {
            Waiter waiter = waiting.get(s.getId());
            if (waiter == null) {
                continue;
            }
            if (s.getLid() != 0) {
                appendedByLookup += waiter.slots.size();
                resolve(waiter, new Appended(s.getLid(), localHost));
            } else if (!s.getRejected().isEmpty()) {
                rejected += waiter.slots.size();
                resolve(waiter, new Rejected(s.getRejected()));
            }
        }
        lookupReturned();
    }

    private void onLookupFailed(Throwable t) {
        lookupFailures++;
        if (Long.bitCount(lookupFailures) == 1) {
            LOG.warn("lookup of awaited ids failed ({} so far; retried): {}", lookupFailures, t.toString());
        }
        lookupReturned();
    }

    /** When every indexer answered the round: what is still unresolved is looked up again later. */
    private void lookupReturned() {
        if (--lookupRepliesDue > 0) {
            return;
        }
        lookupRepliesDue = 0;
        // Rounds run one after another, so due times in nextLookups stay in order.
        long again = lookupStartedAt + limits.lookupEvery().toNanos();
        for (Waiter w : lookingUp) {
            if (!w.gone) {
                w.nextLookup = again;
                nextLookups.add(w);
            }
        }
        lookingUp = List.of();
        waitingGauge = waitingIds;
    }

    private void resolve(Waiter waiter, Outcome outcome) {
        waiting.remove(waiter.id);
        waiter.gone = true;
        for (Slot s : waiter.slots) {
            Wait w = s.owner();
            if (w.done || w.outcomes[s.index()] != null) {
                continue;
            }
            w.outcomes[s.index()] = outcome;
            waitingIds--;
            if (--w.left == 0) {
                byDeadline.remove(w);
                finish(w);
            }
        }
    }

    private void timeOut(Wait w) {
        for (int i = 0; i < w.outcomes.length; i++) {
            if (w.outcomes[i] == null) {
                w.outcomes[i] = new TimedOut();
                timedOut++;
            }
        }
        release(w);
        finish(w);
    }

    /** Removes {@code w}'s unresolved slots from their waiters. */
    private void release(Wait w) {
        for (int i = 0; i < w.ids.size(); i++) {
            Waiter waiter = waiting.get(w.ids.get(i));
            if (waiter == null) {
                continue;
            }
            int before = waiter.slots.size();
            waiter.slots.removeIf(s -> s.owner() == w);
            waitingIds -= before - waiter.slots.size();
            if (waiter.slots.isEmpty()) {
                waiting.remove(waiter.id);
                waiter.gone = true;
            }
        }
        waitingGauge = waitingIds;
    }

    private void finish(Wait w) {
        w.done = true;
        try {
            w.callback.done(Arrays.asList(w.outcomes));
        } catch (RuntimeException e) {
            LOG.error("append wait callback failed", e);
        }
    }

    /** Ids waiting now (any thread). */
    public int waitingIds() {
        return waitingGauge;
    }

    /** Awaited ids resolved by a pushed notice. */
    public long appendedByNotice() {
        return appendedByNotice;
    }

    /** Awaited ids resolved by a lookup at the indexers (the fallback). */
    public long appendedByLookup() {
        return appendedByLookup;
    }

    /** Awaited ids found rejected. */
    public long rejected() {
        return rejected;
    }

    /** Awaited ids not resolved by their deadline. */
    public long timedOut() {
        return timedOut;
    }

    /** Awaits refused because too many ids were waiting. */
    public long refused() {
        return refused;
    }

    /**
     * Registers this edge's waiting meters as {@code chariots_<role>_append_*}:
     * ids waiting, ids confirmed (by notice or by lookup), rejected, timed
     * out and refused, and the fallback lookups made and failed.
     */
    public void registerMeters(MeterRegistry meters, String role) {
        String p = "chariots_" + role + "_append_";
        Gauge.builder(p + "waiting", this, AppendWaiters::waitingIds)
                .description("Record ids waiting to be confirmed in the log").register(meters);
        FunctionCounter.builder(p + "acks_total", this, AppendWaiters::appendedByNotice)
                .tag("via", "notice").description("Awaited records confirmed in the log").register(meters);
        FunctionCounter.builder(p + "acks_total", this, AppendWaiters::appendedByLookup)
                .tag("via", "lookup").description("Awaited records confirmed in the log").register(meters);
        FunctionCounter.builder(p + "waits_rejected_total", this, AppendWaiters::rejected)
                .description("Awaited records found rejected").register(meters);
        FunctionCounter.builder(p + "waits_timed_out_total", this, AppendWaiters::timedOut)
                .description("Awaited records not confirmed by their deadline").register(meters);
        FunctionCounter.builder(p + "waits_refused_total", this, AppendWaiters::refused)
                .description("Awaits refused because too many ids were waiting").register(meters);
        FunctionCounter.builder(p + "lookups_total", this, w -> w.lookupCalls)
                .description("Fallback lookups of awaited ids at the indexers (one per indexer per round)").register(meters);
        FunctionCounter.builder(p + "lookup_failures_total", this, w -> w.lookupFailures)
                .description("Fallback lookups that failed and were retried").register(meters);
    }
}
