package io.chariots.common.link;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * The one stage-to-stage sender of Chariots: batches queued per destination,
 * at most {@code window} of them in flight to each destination, explicit
 * per-destination states and one backoff policy. Every link between roles
 * (app → batcher, batcher → filter, filter → queue, queue → maintainer,
 * maintainer → indexer, maintainer → edge) sends through one of these; what
 * differs between links is only what the owner does with a failed batch:
 * {@link #retry retry} it to the same destination (an LId's maintainer never
 * changes), or take it back and route it elsewhere.
 *
 * <p>A destination is {@link State#READY} while calls to it succeed; a failure
 * puts it in {@link State#BACKING_OFF} until {@link Backoff#delayNanos} has
 * passed (no batch is sent to it meanwhile; those in flight complete as they
 * will); the first success makes it READY again. Batches sent to a
 * destination are not re-sent by the sender itself: every outcome goes back
 * to the owner, who decides (except when {@link Transport#send} throws: see
 * there).
 *
 * <p>Threads: owned by one event loop. {@link Transport#send} is called on
 * it and must report the outcome later, on the same loop, through
 * {@link #onSuccess} or {@link #onFailure} (both ignore an unknown batch id,
 * e.g. one whose destination was {@link #forget forgotten}). Time is handed
 * in, so backoffs are tested without sleeping.
 *
 * @param <B> the batch type
 */
public final class WindowedSender<B> {
    private static final Logger LOG = LoggerFactory.getLogger(WindowedSender.class);

    /**
     * Sends one batch; the outcome must come back later, on the owner's
     * loop, also when the call cannot even start (never by throwing). Should
     * it throw all the same, the batch is put back first in line and its
     * destination backs off as after a failure: no outcome is awaited for it.
     */
    @FunctionalInterface
    public interface Transport<B> {
        void send(String destination, long batchId, B batch);
    }

    /** Where a destination stands. */
    public enum State {
        /** Calls succeed (or none failed yet): batches go out as the window allows. */
        READY,
        /** A call failed: nothing is sent until the backoff ends. */
        BACKING_OFF
    }

    /**
     * The backoff after consecutive failures: {@code min} doubling per
     * failure up to {@code max}.
     */
    public record Backoff(Duration min, Duration max) {
        public Backoff {
            if (min.isNegative() || max.compareTo(min) < 0) {
                throw new IllegalArgumentException("invalid backoff " + min + ".." + max);
            }
        }

        /** The pause after {@code failures} (≥ 1) failures in a row. */
        public long delayNanos(int failures) {
            long base = min.toNanos();
            long cap = max.toNanos();
            int shift = Math.min(Math.max(failures - 1, 0), 30);
            long d = base > (cap >> shift) ? cap : base << shift; // a shift past the cap may overflow
            return d <= 0 || d > cap ? cap : d;
        }
    }

    /** A batch on its way; known to the owner by its id. */
    private record Pending<B>(long id, String destination, B batch) {
    }

    private static final class Destination<B> {
        final ArrayDeque<Pending<B>> queued = new ArrayDeque<>();
        final Map<Long, Pending<B>> inFlight = new HashMap<>();
        State state = State.READY;
        int failures;
        long retryAt;
    }

    private final Transport<B> transport;
    private final int window;
    private final Backoff backoff;
    private final Map<String, Destination<B>> destinations = new LinkedHashMap<>();
    private final Map<Long, String> where = new HashMap<>();
    private long nextId = 1;
    private long queuedCount;
    private long inFlightCount;

    /**
     * @param window batches in flight per destination at most (≥ 1)
     */
    public WindowedSender(Transport<B> transport, int window, Backoff backoff) {
        if (window < 1) {
            throw new IllegalArgumentException("window must be at least 1, got " + window);
        }
        this.transport = transport;
        this.window = window;
        this.backoff = backoff;
    }

    /** Queues {@code batch} for {@code destination}; it is sent at the next {@link #poll} (or at once with {@link #pump}). Returns its id. */
    public long submit(String destination, B batch) {
        long id = nextId++;
        dest(destination).queued.add(new Pending<>(id, destination, batch));
        where.put(id, destination);
        queuedCount++;
        return id;
    }

    /** Sends to {@code destination} what its window and state allow, now. */
    public void pump(String destination, long now) {
        Destination<B> d = destinations.get(destination);
        if (d != null) {
            pump(destination, d, now);
        }
    }

    private void pump(String name, Destination<B> d, long now) {
        if (d.state == State.BACKING_OFF) {
            if (now - d.retryAt < 0) {
                return;
            }
            d.state = State.READY; // probe: the next call decides
        }
        while (d.inFlight.size() < window && !d.queued.isEmpty()) {
            Pending<B> p = d.queued.poll();
            queuedCount--;
            d.inFlight.put(p.id(), p);
            inFlightCount++;
            try {
                transport.send(name, p.id(), p.batch());
            } catch (RuntimeException e) {
                // The transport broke its contract: the batch is not on its way and no outcome will come.
                // It goes back first in line and the destination backs off, as after a failed call, so
                // the batch is neither lost nor holding a place in the window for ever.
                LOG.warn("sending batch {} to {} threw instead of reporting a failure; retried after a backoff", p.id(), name, e);
                if (d.inFlight.remove(p.id()) == null) {
                    return; // the transport reported an outcome before throwing: the owner has the batch
                }
                inFlightCount--;
                d.queued.addFirst(p);
                queuedCount++;
                backOff(d, now);
                return;
            }
        }
    }

    /** The batch {@code batchId} arrived; returns it (null if unknown). */
    public B onSuccess(long batchId) {
        Pending<B> p = land(batchId);
        if (p == null) {
            return null;
        }
        Destination<B> d = destinations.get(p.destination());
        d.failures = 0;
        d.state = State.READY;
        return p.batch();
    }

    /**
     * The call carrying {@code batchId} failed: its destination backs off.
     * Returns the batch (null if unknown) for the owner to {@link #retry} or
     * route elsewhere.
     */
    public B onFailure(long batchId, long now) {
        Pending<B> p = land(batchId);
        if (p == null) {
            return null;
        }
        backOff(destinations.get(p.destination()), now);
        return p.batch();
    }

    /** One failure more for {@code d}: nothing goes to it until its backoff ends. */
    private void backOff(Destination<B> d, long now) {
        d.failures++;
        d.state = State.BACKING_OFF;
        d.retryAt = now + backoff.delayNanos(d.failures);
    }

    /** Puts a failed batch back at the head of {@code destination}'s queue (sent again after the backoff). Returns its new id. */
    public long retry(String destination, B batch) {
        long id = nextId++;
        dest(destination).queued.addFirst(new Pending<>(id, destination, batch));
        where.put(id, destination);
        queuedCount++;
        return id;
    }

    private Pending<B> land(long batchId) {
        String name = where.remove(batchId);
        if (name == null) {
            return null;
        }
        Destination<B> d = destinations.get(name);
        Pending<B> p = d.inFlight.remove(batchId);
        if (p != null) {
            inFlightCount--;
            return p;
        }
        // Still queued (the owner settled it another way): take it out.
        for (Iterator<Pending<B>> it = d.queued.iterator(); it.hasNext(); ) {
            Pending<B> q = it.next();
            if (q.id() == batchId) {
                it.remove();
                queuedCount--;
                return q;
            }
        }
        return null;
    }

    /**
     * Stops tracking {@code destination}: returns its queued batches (never
     * sent) for the owner to route elsewhere, and hands each batch in flight
     * to {@code inFlight} — their outcomes will be ignored when they arrive.
     */
    public List<B> forget(String destination, BiConsumer<Long, B> inFlight) {
        Destination<B> d = destinations.remove(destination);
        if (d == null) {
            return List.of();
        }
        List<B> out = new ArrayList<>(d.queued.size());
        for (Pending<B> p : d.queued) {
            where.remove(p.id());
            out.add(p.batch());
        }
        queuedCount -= d.queued.size();
        for (Pending<B> p : d.inFlight.values()) {
            where.remove(p.id());
            inFlight.accept(p.id(), p.batch());
        }
        inFlightCount -= d.inFlight.size();
        return out;
    }

    /** Takes every batch, queued or in flight, out of the sender (e.g. all of them are void now); later outcomes are ignored. */
    public List<B> clear() {
        List<B> out = new ArrayList<>();
        for (String name : List.copyOf(destinations.keySet())) {
            out.addAll(forget(name, (id, b) -> out.add(b)));
        }
        return out;
    }

    /**
     * Sends what every READY destination's window allows and re-opens
     * destinations whose backoff ended. Returns the earliest backoff end of a
     * destination with batches waiting, or {@code Long.MAX_VALUE}.
     */
    public long poll(long now) {
        long next = Long.MAX_VALUE;
        for (Map.Entry<String, Destination<B>> e : destinations.entrySet()) {
            Destination<B> d = e.getValue();
            pump(e.getKey(), d, now);
            if (d.state == State.BACKING_OFF && !d.queued.isEmpty()) {
                next = Math.min(next, d.retryAt);
            }
        }
        return next;
    }

    /**
     * {@code destination} is known to be back (a new process at its address):
     * its failures are forgotten and what waits for it goes at the next poll,
     * not after the rest of its backoff.
     */
    public void backAgain(String destination) {
        Destination<B> d = destinations.get(destination);
        if (d != null) {
            d.failures = 0;
            if (d.state == State.BACKING_OFF) {
                d.state = State.READY;
            }
        }
    }

    /** The state of {@code destination} (READY if unknown). */
    public State state(String destination) {
        Destination<B> d = destinations.get(destination);
        return d == null ? State.READY : d.state;
    }

    /** Failures in a row of {@code destination}. */
    public int failures(String destination) {
        Destination<B> d = destinations.get(destination);
        return d == null ? 0 : d.failures;
    }

    public int inFlight(String destination) {
        Destination<B> d = destinations.get(destination);
        return d == null ? 0 : d.inFlight.size();
    }

    public int queued(String destination) {
        Destination<B> d = destinations.get(destination);
        return d == null ? 0 : d.queued.size();
    }

    /** Batches queued, over all destinations. */
    public long queuedBatches() {
        return queuedCount;
    }

    /** Batches in flight, over all destinations. */
    public long inFlightBatches() {
        return inFlightCount;
    }

    /** The destinations known (with batches, or that had some). */
    public List<String> destinations() {
        return List.copyOf(destinations.keySet());
    }

    private Destination<B> dest(String name) {
        return destinations.computeIfAbsent(name, n -> new Destination<>());
    }
}
