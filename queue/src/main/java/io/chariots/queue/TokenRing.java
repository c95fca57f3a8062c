package io.chariots.queue;

import io.chariots.common.membership.Membership;
import io.chariots.proto.Found;
import io.chariots.proto.Member;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Rejection;
import io.chariots.proto.Role;
import io.chariots.proto.Token;
import io.chariots.proto.Wanted;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One queue of the token ring: all of a queue's state, owned by its event
 * loop. The queue holding the token gives its ready records consecutive LIds
 * (after the token's {@code last_lid}), dispatches them to their maintainers
 * and passes the token to its ring successor. Records whose causes are not
 * yet in the log wait in the {@link CausalGate}; the token carries the causes
 * queues wait for ({@code wanted}) and the answers others found in their own
 * recent assignments ({@code found}), so a chain whose links enter through
 * different queues does not wait for an indexer round trip; older causes are
 * found by batched existence queries to the indexers.
 *
 * <pre>
 * State transitions:
 *   JOINING  ──view lists this queue and a maintainer──▶ IDLE
 *   IDLE     ──token received, or created (--hold)─────▶ HOLDING
 *   HOLDING  ──passed to the successor─────────────────▶ PASSING
 *   PASSING  ──successor acknowledged──────────────────▶ IDLE
 *   PASSING  ──pass failed (successor unreachable)─────▶ HOLDING (retry with the newest ring)
 * </pre>
 *
 * With a single queue the token never leaves: the queue assigns as records
 * become ready. The token moves on at once when this queue did work, when it
 * carries answers ({@code found}) or when a queue asked for it; otherwise it
 * is held at most {@link QueueConfig#idleHold()} — no fixed sleep on the
 * token path, and a bounded low rate when the ring is idle.
 */
final class TokenRing {
    private static final Logger LOG = LoggerFactory.getLogger(TokenRing.class);

    /** Queue node states; see the class comment for transitions. */
    enum State { JOINING, IDLE, HOLDING, PASSING }

    /** Everything that leaves the queue. Replies come back through the matching {@code on...} methods on the loop. */
    interface Links {
        void passToken(String successor, Token token);

        void wake(List<String> queues, String self);

        void exists(List<String> indexers, long probeId, List<CauseKey> keys);

        void reject(List<String> indexers, List<Rejection> rejections);

        /** Finds the highest stored LId and its maintainer, and whether another queue has seen a token. */
        void prepareToken(List<String> maintainers, List<String> otherQueues);

        /** Completes a deferred Enqueue acknowledgement. */
        void ack(Object handle);
    }

    private final QueueConfig config;
    private final String self;
    private final Links links;
    private final CausalGate gate;
    private final MaintainerOutbox outbox;
    private State state = State.JOINING;
    private Token token;
    private long lastHop;
    private long holdUntil;
    private long passRetryAt;
    private long prepareRetryAt;
    private boolean preparing;
    private boolean tokenEverCreated;
    private boolean wakeSent;
    private final Set<String> wakeRequests = new LinkedHashSet<>();
    private List<String> ring = List.of();
    private List<String> maintainers = List.of();
    private List<String> indexers = List.of();
    private Membership view = Membership.NONE;
    private final ArrayDeque<Object> deferredAcks = new ArrayDeque<>();
    private long nextProbeId = 1;
    private final Map<Long, List<CauseKey>> probesInFlight = new HashMap<>();
    private final Map<CauseKey, Integer> probeAttempts = new HashMap<>();
    private final ArrayDeque<long[]> reprobeDue = new ArrayDeque<>(); // [dueNanos] parallel to reprobeKeys
    private final ArrayDeque<CauseKey> reprobeKeys = new ArrayDeque<>();
    private final List<Rejection> unsentRejections = new ArrayList<>();
    private final Counter assignedCounter;
    private final Counter hopsCounter;
    private final Counter rejectedCounter;
    private final Counter foundByTokenCounter;
    private final Counter foundByIndexerCounter;
    private final DistributionSummary assignedPerHold;

    TokenRing(QueueConfig config, String self, Links links, MeterRegistry meters) {
        this.config = config;
        this.self = self;
        this.links = links;
        this.gate = new CausalGate(config.causeTimeout().toNanos(), config.recentCapacity());
        this.outbox = new MaintainerOutbox((m, id, records) -> storeLink.store(m, id, records),
                config.maintainerWindow(), config.maxBatch());
        this.assignedCounter = Counter.builder("chariots_queue_assigned_total").description("Records given an LId here").register(meters);
        this.hopsCounter = Counter.builder("chariots_queue_token_received_total").description("Token arrivals").register(meters);
        this.rejectedCounter = Counter.builder("chariots_queue_cause_timeouts_total")
                .description("Records rejected because a cause did not come within the timeout").register(meters);
        this.foundByTokenCounter = Counter.builder("chariots_queue_causes_found_total").tag("via", "token").register(meters);
        this.foundByIndexerCounter = Counter.builder("chariots_queue_causes_found_total").tag("via", "indexer").register(meters);
        this.assignedPerHold = DistributionSummary.builder("chariots_queue_assigned_per_hold").register(meters);
        meters.gauge("chariots_queue_waiting_records", this, r -> r.gate.heldCount());
        meters.gauge("chariots_queue_ready_records", this, r -> r.gate.readyCount());
        meters.gauge("chariots_queue_unacknowledged_records", this, r -> r.outbox.unacknowledged());
    }

    // The outbox's sender is set after construction (the wiring needs the loop).
    private MaintainerOutbox.Sender storeLink = (m, id, r) -> {
        throw new IllegalStateException("no maintainer link");
    };

    void maintainerLink(MaintainerOutbox.Sender sender) {
        this.storeLink = sender;
    }

    State state() {
        return state;
    }

    /** The token while held (for tests and health). */
    Token token() {
        return token;
    }

    long lastLid() {
        return token == null ? -1 : token.getLastLid();
    }

    CausalGate gate() {
        return gate;
    }

    long buffered() {
        return gate.readyCount() + gate.heldCount() + outbox.unacknowledged();
    }

    // ------------------------------------------------------------ inputs

    /** A newer membership view. */
    void onMembership(Membership m, long now) {
        view = m;
        ring = addresses(m, Role.QUEUE);
        maintainers = addresses(m, Role.MAINTAINER);
        indexers = addresses(m, Role.INDEXER);
        if (state == State.JOINING && ring.contains(self) && !maintainers.isEmpty()) {
            state = State.IDLE;
            LOG.info("in the ring {} with maintainers {}", ring, maintainers);
        }
        if (state == State.HOLDING) {
            process(now);
        }
    }

    private static List<String> addresses(Membership m, Role role) {
        List<String> out = new ArrayList<>();
        for (Member mem : m.members(role)) {
            out.add(mem.getGrpcAddress());
        }
        return out;
    }

    /** A batch from a filter; {@code ackHandle} is acknowledged at once or once the buffer drains below its bound. */
    void onEnqueue(List<RecordEnvelope> records, Object ackHandle, long now) {
        for (RecordEnvelope r : records) {
            gate.add(r, now);
        }
        if (buffered() > config.maxBuffered() || !deferredAcks.isEmpty()) {
            deferredAcks.add(ackHandle);
        } else {
            links.ack(ackHandle);
        }
        afterNewWork(now);
    }

    private void afterNewWork(long now) {
        if (state == State.HOLDING) {
            process(now);
        } else if (state == State.IDLE && gate.readyCount() > 0 && !wakeSent && ring.size() > 1) {
            wakeSent = true;
            List<String> others = new ArrayList<>(ring);
            others.remove(self);
            links.wake(others, self);
        }
    }

    /** Another queue has work and asks for the token. */
    void onWake(String from, long now) {
        if (from.equals(self)) {
            return;
        }
        wakeRequests.add(from);
        if (state == State.HOLDING) {
            process(now);
        }
    }

    /** The token arrived from the predecessor. Returns the highest hop seen (for the ack). */
    long onToken(Token t, long now) {
        if (Long.compareUnsigned(t.getHop(), lastHop) <= 0) {
            return lastHop; // a duplicate delivery of a token already handled
        }
        if (state == State.PASSING) {
            // Our pass was delivered and the token came round before its acknowledgement.
            state = State.IDLE;
        }
        if (state == State.HOLDING) {
            LOG.error("received a second token (hop {}) while holding hop {}: ignoring it", t.getHop(), lastHop);
            return lastHop;
        }
        lastHop = t.getHop();
        hopsCounter.increment();
        token = t;
        state = State.HOLDING;
        wakeSent = false;
        holdUntil = now + config.idleHold().toNanos();
        process(now);
        return lastHop;
    }

    long seenHop() {
        return lastHop;
    }

    /** The successor took the token. */
    void onPassed(long hop) {
        if (state == State.PASSING && token != null && token.getHop() == hop) {
            token = null;
            state = State.IDLE;
        }
    }

    /** The successor could not be reached; keep the token and retry with the newest ring. */
    void onPassFailed(long hop, String why, long now) {
        if (state == State.PASSING && token != null && token.getHop() == hop) {
            LOG.warn("could not pass the token: {}; retrying", why);
            state = State.HOLDING;
            passRetryAt = now + TimeUnit.MILLISECONDS.toNanos(20);
            holdUntil = passRetryAt;
        }
    }

    /** Answer to {@link Links#prepareToken}. */
    void onTokenPrepared(long lastStoredLid, String ownerOfLast, long seenHopElsewhere, long now) {
        preparing = false;
        if (token != null || tokenEverCreated) {
            return;
        }
        if (seenHopElsewhere > 0) {
            LOG.warn("not creating a token: queue ring already has one (hop {})", seenHopElsewhere);
            tokenEverCreated = true;
            return;
        }
        Token.Builder b = Token.newBuilder().setHop(1).setLastLid(lastStoredLid);
        if (lastStoredLid % StripeMap.BLOCK != 0 && ownerOfLast != null) {
            // The block holding the last stored LId stays with the maintainer that has it.
            b.addStripes(io.chariots.proto.Stripe.newBuilder().setFromBlock(StripeMap.blockOf(lastStoredLid))
                    .addMaintainers(ownerOfLast));
        }
        tokenEverCreated = true;
        LOG.info("created the token; the log continues after LId {}", lastStoredLid);
        lastHop = 0;
        onToken(b.build(), now);
    }

    void onPrepareFailed(String why, long now) {
        preparing = false;
        prepareRetryAt = now + TimeUnit.MILLISECONDS.toNanos(500);
        LOG.info("waiting for maintainers before creating the token: {}", why);
    }

    void onStored(String maintainer, long batchId, long now) {
        outbox.onStored(maintainer, batchId, now);
        releaseAcks();
    }

    void onStoreFailed(String maintainer, long batchId, String why, long now) {
        LOG.debug("store to {} failed: {}", maintainer, why);
        outbox.onFailed(maintainer, batchId, now);
    }

    /** Indexers answered a probe: {@code lids[i]} is the LId of {@code keys[i]}, or 0. */
    void onExists(long probeId, long[] lids, long now) {
        List<CauseKey> keys = probesInFlight.remove(probeId);
        if (keys == null) {
            return;
        }
        for (int i = 0; i < keys.size(); i++) {
            CauseKey k = keys.get(i);
            if (lids[i] != 0) {
                if (gate.isUnmet(k)) {
                    foundByIndexerCounter.increment();
                }
                probeAttempts.remove(k);
                gate.satisfy(k);
            } else if (gate.isUnmet(k)) {
                scheduleReprobe(k, now);
            }
        }
        afterNewWork(now);
    }

    void onExistsFailed(long probeId, long now) {
        List<CauseKey> keys = probesInFlight.remove(probeId);
        if (keys != null) {
            for (CauseKey k : keys) {
                if (gate.isUnmet(k)) {
                    scheduleReprobe(k, now);
                }
            }
        }
    }

    private void scheduleReprobe(CauseKey k, long now) {
        int attempt = probeAttempts.merge(k, 1, Integer::sum);
        long delay = Math.min(config.reprobeMax().toNanos(), config.reprobeMin().toNanos() << Math.min(attempt - 1, 20));
        reprobeDue.add(new long[] {now + delay});
        reprobeKeys.add(k);
    }

    /** Records with these ids waiting here for a cause. */
    List<CausalGate.Held> pending(Set<String> ids) {
        return gate.heldWithIds(ids);
    }

    // ------------------------------------------------------------ timed work

    /** Does due work and returns the next deadline. */
    long poll(long now) {
        long next = now + TimeUnit.SECONDS.toNanos(1);
        if (state == State.IDLE && config.hold() && !tokenEverCreated && !preparing && now - prepareRetryAt >= 0) {
            preparing = true;
            List<String> others = new ArrayList<>(ring);
            others.remove(self);
            links.prepareToken(maintainers, others);
        }
        if (config.hold() && !tokenEverCreated && !preparing) {
            next = Math.min(next, prepareRetryAt);
        }
        if (state == State.HOLDING) {
            process(now);
            if (state == State.HOLDING && ring.size() > 1) {
                next = Math.min(next, holdUntil);
            }
        }
        List<CausalGate.Expired> expired = gate.expire(now);
        if (!expired.isEmpty()) {
            reject(expired, now);
        }
        next = Math.min(next, gate.nextExpiry());
        if (!unsentRejections.isEmpty() && !indexers.isEmpty()) {
            links.reject(indexers, List.copyOf(unsentRejections));
            unsentRejections.clear();
        }
        probe(now);
        if (!reprobeDue.isEmpty()) {
            next = Math.min(next, reprobeDue.peek()[0]);
        }
        next = Math.min(next, outbox.poll(now));
        releaseAcks();
        return next;
    }

    private void probe(long now) {
        List<CauseKey> keys = new ArrayList<>(gate.drainToProbe());
        while (!reprobeDue.isEmpty() && now - reprobeDue.peek()[0] >= 0) {
            reprobeDue.poll();
            CauseKey k = reprobeKeys.poll();
            if (gate.isUnmet(k)) {
                keys.add(k);
            } else {
                probeAttempts.remove(k);
            }
        }
        if (keys.isEmpty()) {
            return;
        }
        if (indexers.isEmpty()) {
            for (CauseKey k : keys) {
                scheduleReprobe(k, now);
            }
            return;
        }
        for (int from = 0; from < keys.size(); from += config.maxBatch()) {
            List<CauseKey> part = List.copyOf(keys.subList(from, Math.min(keys.size(), from + config.maxBatch())));
            long id = nextProbeId++;
            probesInFlight.put(id, part);
            links.exists(indexers, id, part);
        }
    }

    private void reject(List<CausalGate.Expired> expired, long now) {
        for (CausalGate.Expired e : expired) {
            rejectedCounter.increment();
            String reason = "cause " + e.missing() + " not in the log after "
                    + TimeUnit.NANOSECONDS.toMillis(e.waitedNanos()) + " ms (cause timeout)";
            LOG.warn("rejected record {}: {}", e.record().getId(), reason);
            unsentRejections.add(Rejection.newBuilder().setId(e.record().getId()).setReason(reason)
                    .setAtMs(System.currentTimeMillis()).build());
            for (CauseKey k : e.missing()) {
                probeAttempts.remove(k);
            }
        }
        releaseAcks();
    }

    private void releaseAcks() {
        while (!deferredAcks.isEmpty() && buffered() <= config.maxBuffered()) {
            links.ack(deferredAcks.poll());
        }
    }

    // ------------------------------------------------------------ holding the token

    /** Applies the token's answers, assigns ready records, and passes the token if it should move. */
    private void process(long now) {
        Token.Builder t = token.toBuilder();
        // Answers addressed to this queue; drop this queue's old requests (re-added below if still unmet).
        t.clearFound();
        for (Found f : token.getFoundList()) {
            if (f.getQueue().equals(self)) {
                CauseKey k = CauseKey.of(f.getKey());
                if (gate.isUnmet(k)) {
                    foundByTokenCounter.increment();
                }
                gate.satisfy(k);
            } else {
                t.addFound(f);
            }
        }
        t.clearWanted();
        for (Wanted w : token.getWantedList()) {
            if (!w.getQueue().equals(self)) {
                t.addWanted(w);
            }
        }
        t.clearWaitingQueues();
        for (String q : token.getWaitingQueuesList()) {
            if (!q.equals(self) && ring.contains(q)) {
                t.addWaitingQueues(q);
            }
        }
        for (String q : wakeRequests) {
            if (!q.equals(self) && ring.contains(q) && !t.getWaitingQueuesList().contains(q)) {
                t.addWaitingQueues(q);
            }
        }
        wakeRequests.clear();
        Token withStripes = StripeMap.withMaintainers(t.build(), maintainers, view.epoch(), view.version());
        t = withStripes.toBuilder();

        // Assign: consecutive LIds to ready records, in order; a chain completes within one hold.
        long lid = t.getLastLid();
        int assigned = 0;
        RecordEnvelope r;
        while (assigned < config.maxPerHold() && (r = gate.pollReady()) != null) {
            lid++;
            String owner = StripeMap.ownerOf(withStripes, lid);
            RecordEnvelope withLid = r.toBuilder().setLid(lid).build();
            gate.assigned(withLid);
            outbox.add(owner, withLid);
            assigned++;
        }
        t.setLastLid(lid);
        if (assigned > 0) {
            assignedCounter.increment(assigned);
            assignedPerHold.record(assigned);
            outbox.flush(now);
        }

        // Answer other queues' causes from this queue's recent assignments.
        Set<String> answered = new HashSet<>();
        for (Found f : t.getFoundList()) {
            answered.add(f.getQueue() + "/" + f.getKey().getHash() + "/" + f.getKey().getSeed());
        }
        for (Wanted w : t.getWantedList()) {
            CauseKey k = CauseKey.of(w.getKey());
            long at = gate.recentLid(k);
            if (at != 0 && answered.add(w.getQueue() + "/" + k.hash() + "/" + k.seed())) {
                t.addFound(Found.newBuilder().setKey(w.getKey()).setLid(at).setQueue(w.getQueue()));
            }
        }
        // Ask the ring for this queue's unmet causes.
        int asked = 0;
        for (CauseKey k : gate.unmet()) {
            if (asked++ >= config.maxWanted()) {
                break;
            }
            t.addWanted(Wanted.newBuilder().setKey(k.toProto()).setQueue(self));
        }
        token = t.build();

        if (ring.size() <= 1) {
            return; // a ring of one keeps the token
        }
        boolean urgent = assigned > 0 || token.getFoundCount() > 0 || token.getWaitingQueuesCount() > 0;
        if ((urgent || now - holdUntil >= 0) && now - passRetryAt >= 0) {
            pass();
        }
    }

    private void pass() {
        int i = ring.indexOf(self);
        String successor = ring.get(i < 0 ? 0 : (i + 1) % ring.size());
        if (successor.equals(self)) {
            return;
        }
        token = token.toBuilder().setHop(token.getHop() + 1).build();
        lastHop = token.getHop();
        state = State.PASSING;
        links.passToken(successor, token);
    }
}
