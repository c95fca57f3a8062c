package io.chariots.queue;

import io.chariots.common.layout.RingOwners;
import io.chariots.common.layout.StripeMap;
import io.chariots.common.membership.Membership;
import io.chariots.common.record.OriginMarks;
import io.chariots.proto.AvoidedMaintainer;
import io.chariots.proto.EnqueueReply;
import io.chariots.proto.Layout;
import io.chariots.proto.LayoutReply;
import io.chariots.proto.Member;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Rejection;
import io.chariots.proto.RingMember;
import io.chariots.proto.Role;
import io.chariots.proto.SealReply;
import io.chariots.proto.StoreReply;
import io.chariots.proto.Token;
import io.chariots.proto.TokenAck;
import io.chariots.proto.TokenStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;
import java.util.concurrent.TimeUnit;

/**
 * One queue of the token ring: the state machine that owns the token, the
 * epoch and the layout; owned by the queue's event loop, handed {@code now}.
 *
 * <pre>
 *   JOINING    ──view lists a maintainer──────────────────────▶ IDLE
 *   IDLE       ──token of this epoch or newer arrives──────────▶ HOLDING
 *   IDLE       ──no token for token_timeout, nobody holds one──▶ RECOVERING
 *   HOLDING    ──passed to the successor───────────────────────▶ PASSING
 *   HOLDING    ──a ring member is gone (or the ring must grow)─▶ RECOVERING
 *   PASSING    ──successor took it─────────────────────────────▶ IDLE
 *   PASSING    ──pass failed──────────────────────────────────▶ HOLDING (retry; after pass_timeout: RECOVERING)
 *   RECOVERING ──new epoch sealed and published────────────────▶ HOLDING (the new token)
 *   RECOVERING ──another queue sealed a newer epoch────────────▶ IDLE
 *   any        ──hears of a newer epoch───────────────────────▶ IDLE (unless HOLDING its token)
 * </pre>
 *
 * <p>The holder gives its ready records consecutive LIds, hands them to the
 * {@link StoreOutbox} and passes the token on. Records come from filters,
 * routed here because this queue owns their ids; the {@link IdLedger} lets
 * each id in once and answers a filter's batch once every record of it is
 * durable. Whoever suspects the token lost, or holds it and sees the ring
 * change, starts a new epoch through a {@link Recovery} (seal, holes, layout).
 * A newer epoch voids everything unstored: records not yet stored are dropped
 * here (their filters resend them), never stored late.
 */
public final class TokenRing {
    private static final Logger LOG = LoggerFactory.getLogger(TokenRing.class);
    /**
     * How long a record waits for a cause before it is parked: its batch is
     * answered without it, and its sender keeps it to send again (see
     * {@link IdLedger#parked}). Most causes come within milliseconds, and a
     * record parked costs a resend; one that waits longer must not hold the
     * room upstream that its cause needs to come in.
     */
    static final long PARK_AFTER_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    public enum State { JOINING, IDLE, HOLDING, PASSING, RECOVERING }

    /** Everything that leaves the queue; replies come back through the matching {@code on...} methods, on the loop. */
    public interface Links extends Recovery.Links, StoreOutbox.Sender, CauseProbes.Sender, Settlement.Links, RingWatch.Prober {
        void passToken(String successor, Token token);

        void wake(List<String> queues, String self);

        /** Tells the controller of a new layout (best effort). */
        void reportLayout(Layout layout);

        /** Answers a filter's Enqueue. */
        void answer(Object handle, EnqueueReply reply);

        /** Asks an avoided maintainer whether it answers (a cheap call); the outcome goes to {@link #onMaintainerProbed}. */
        void probeMaintainer(String maintainer);
    }

    private final QueueConfig config;
    private final RingMember self;
    private final Links links;
    private final CausalGate gate;
    private final IdLedger ledger;
    private final StoreOutbox outbox;
    private final CauseProbes probes;
    private final Settlement settlement;
    private final OriginOrder origins = new OriginOrder();
    private final OriginOrder.Out originOut = new OriginOrder.Out() {
        @Override
        public void next(RecordEnvelope r, Object tag, long[] deps, long now) {
            gate.add(r, tag, deps, probes.causeClock(now), now);
        }

        @Override
        public void duplicate(RecordEnvelope r, Object tag, long now) {
            metrics.originDuplicate();
            ledger.inLog(tag, now);
        }
    };
    private final QueueMetrics metrics;
    private State state = State.JOINING;
    private long knownEpoch;
    // This queue's attempts at a new epoch, numbered: answers to an attempt's seal and holes carry its number.
    private long attempts;
    private Layout layout = Layout.getDefaultInstance();
    private Token token;
    private long lastHop;
    // When this queue last held or received the token: what it tells probing queues.
    private long lastTokenAt;
    // Since when it waits for the token (a token seen, a holder found by a probe, a join): when it probes next.
    private long watchFrom;
    private long holdUntil;
    private long passStartedAt;
    // The token was sent to the successor and not yet taken: a retry resends it unchanged.
    private boolean retryingPass;
    private boolean passInFlight;
    private long passRetryAt;
    private long quiesceStartedAt = -1;
    private boolean wakeSent;
    private boolean tokenEverSeen;
    // A layout with this instance in its ring was adopted: the first said what this queue's memory is worth.
    private boolean everInRing;
    // The memory kept at the last clean stop was found whole at this start.
    private boolean keptMemoryWhole;
    // The highest LId this queue saw given out in this epoch (in a token it held); 0 before its first token.
    private long lastLidSeen;
    // The addresses of the ring this queue was in when it began to leave (none if it was not in one).
    private List<String> ringAtLeave = List.of();
    private final Set<String> wakeRequests = new LinkedHashSet<>();
    private final RingWatch watch;
    private final TokenHold hold;
    // Maintainers a new stripe's layout is being stored on: nothing is assigned until they all have it.
    private final Set<String> restriping = new HashSet<>();
    // The layout those maintainers were sent: only answers to it count.
    private Layout restripeSent;
    // Maintainers that did not take a layout this queue proposed (address → why): put in the token's
    // avoided maintainers at its next hold.
    private final Map<String, String> layoutRefusals = new LinkedHashMap<>();
    private final AvoidedMaintainers avoided;
    // Every indexer listed, and every one that left until the maintainers have re-fed its share elsewhere:
    // an answer without it is incomplete (wait, never guess).
    private final IndexerDepartures departures;
    private List<String> indexers = List.of();
    private List<String> layoutMaintainers = List.of();
    private long indexersCheckedAt;
    private Recovery recovery;
    // The epoch being started recovers from a fault (not a planned ring change or the first token).
    private boolean recoveryForFault;
    private long recoveryAfter;
    private volatile TokenStatus status = TokenStatus.newBuilder().setSinceMs(-1).build();
    // The last token accepted off the loop (see accept); the loop has handled it once status shows its hop.
    private volatile Token admitted;
    private volatile String recoveryNote = "";
    private volatile long publishedTokenAt = Long.MIN_VALUE;
    private final RandomGenerator random;
    // Stopping cleanly: out of the ring at the next epoch, taking no new records meanwhile.
    private boolean leaving;

    /**
     * @param self   this queue as the ring names it (its instance id and gRPC address)
     * @param random jitter of retries (seeded in simulations, so runs replay)
     * @param now    the loop's clock now
     */
    public TokenRing(QueueConfig config, RingMember self, Links links, QueueMetrics metrics, RandomGenerator random,
                     long now) {
        this.config = config;
        this.random = random;
        this.self = self;
        this.links = links;
        this.metrics = metrics;
        this.gate = new CausalGate(config.causeTimeout().toNanos(), config.recentCapacity());
        this.ledger = new IdLedger(self.getAddress(), this::settled, config.dedupWindow().toNanos(),
                config.dedupSettled(), config.dedupFilterBytes(), now);
        this.outbox = new StoreOutbox(links, config.maintainerWindow(), config.maxBatch(), StoreOutbox.defaultBackoff());
        this.probes = new CauseProbes(links, config.maxBatch(), config.reprobeMin().toNanos(), config.reprobeMax().toNanos());
        this.settlement = new Settlement(links, ledger, config.maxBatch());
        this.departures = new IndexerDepartures(config.dedupWindow().toNanos());
        this.watch = new RingWatch(self, config, links::probeRing);
        this.hold = new TokenHold(self.getAddress(), config, gate, ledger, outbox, origins, originOut, metrics);
        this.avoided = new AvoidedMaintainers(config.maintainerRetry().toNanos());
        this.lastTokenAt = now;
        this.watchFrom = now;
        metrics.bind(this);
    }

    public State state() {
        return state;
    }

    public long epoch() {
        return knownEpoch;
    }

    public Layout layout() {
        return layout;
    }

    public Token token() {
        return token;
    }

    public CausalGate gate() {
        return gate;
    }

    /** Records of other datacenters waiting for their origin's earlier TOIds. */
    public int originsWaiting() {
        return origins.size();
    }

    public IdLedger ledger() {
        return ledger;
    }

    public StoreOutbox outbox() {
        return outbox;
    }

    public Recovery recovery() {
        return recovery;
    }

    /** The new epoch this queue is starting and what it waits for, for operators ("" if none); any thread. */
    public String recoveryNote() {
        return recoveryNote;
    }

    /** Whether the token's holder may be asked about this queue: answered off the loop from a snapshot. */
    public TokenStatus status() {
        return status;
    }

    /** {@link #status()} with how long ago this queue saw the token as of {@code now}, not as of its last poll. */
    public TokenStatus status(long now) {
        TokenStatus s = status;
        Token a = admitted;
        if (a != null && (a.getEpoch() > s.getEpoch() || (a.getEpoch() == s.getEpoch() && a.getHop() > s.getSeenHop()))) {
            return s.toBuilder().setHolding(true).setSinceMs(0).build(); // taken, not yet handled by the loop
        }
        long at = publishedTokenAt;
        return at == Long.MIN_VALUE ? s : s.toBuilder().setSinceMs(Math.max(0, TimeUnit.NANOSECONDS.toMillis(now - at))).build();
    }

    // ------------------------------------------------------------ inputs

    public void onMembership(Membership m, long now) {
        watch.onMembership(m);
        for (String restarted : avoided.restartedIn(m)) {
            outbox.restarted(restarted);
        }
        departures.onView(addresses(m, Role.INDEXER), now);
        indexers = departures.toAsk(layoutMaintainers, now);
        if (state == State.JOINING && !m.members(Role.MAINTAINER).isEmpty()) {
            state(State.IDLE, now);
            watchFrom = now;
            LOG.info("joined: {} queue(s), {} maintainer(s), {} indexer(s) in the view", m.members(Role.QUEUE).size(),
                    m.members(Role.MAINTAINER).size(), indexers.size());
        }
        if (state == State.HOLDING) {
            process(now);
        }
    }

    private static List<String> addresses(Membership m, Role role) {
        List<String> out = new ArrayList<>();
        for (Member mem : m.members(role)) {
            if (!mem.getGrpcAddress().isEmpty()) {
                out.add(mem.getGrpcAddress());
            }
        }
        return out;
    }

    /** A filter's batch, routed by the layout of {@code epoch}. */
    public void onEnqueue(long epoch, List<RecordEnvelope> records, Object handle, long now) {
        if (epoch > knownEpoch) {
            adoptEpoch(epoch, null, now);
        }
        if (leaving) {
            answer(handle, EnqueueReply.Status.RETRY, "queue " + self.getAddress() + " is leaving the ring");
            return;
        }
        if (state == State.JOINING || layout.getEpoch() == 0 || layout.getEpoch() != knownEpoch) {
            answer(handle, EnqueueReply.Status.RETRY, "queue " + self.getAddress() + " does not have the layout of epoch "
                    + knownEpoch + " yet");
            return;
        }
        if (epoch < knownEpoch || !ownsAll(records)) {
            links.answer(handle, EnqueueReply.newBuilder().setStatus(EnqueueReply.Status.STALE_EPOCH)
                    .setEpoch(knownEpoch).setLayout(layout).build());
            return;
        }
        // Records waiting for a cause are bounded apart (crowded out below): refusing batches for them would
        // keep their causes out. Only while the indexers cannot be asked, when none is crowded out, do they count.
        int waiting = gate.heldCount();
        int onTheirWay = ledger.liveCount() - waiting;
        if (onTheirWay >= config.maxBuffered()
                || (probes.stopped() && (waiting >= config.maxWaiting() || gate.heldBytes() >= config.maxWaitingBytes()))) {
            metrics.refusedFull();
            answer(handle, EnqueueReply.Status.RETRY, "queue " + self.getAddress() + " is full ("
                    + onTheirWay + " records on their way to the log, " + waiting + " waiting for causes"
                    + (probes.stopped() ? ", and none is crowded out while the indexers cannot be asked)" : ")"));
            return;
        }
        IdLedger.Batch b = new IdLedger.Batch(handle, epoch, records.size());
        if (records.isEmpty()) {
            b.answered = true;
            settled(b);
            return;
        }
        long causeNow = probes.causeClock(now);
        for (RecordEnvelope r : records) {
            if (ledger.admit(r, b, now) == IdLedger.Admission.NEW) {
                if (r.getToid() != 0) {
                    origins.add(r, ledger.admitted(r), originOut, now);
                } else {
                    gate.add(r, ledger.admitted(r), causeNow, now);
                }
            }
        }
        if (gate.heldCount() > config.maxWaiting() || gate.heldBytes() > config.maxWaitingBytes()) {
            rejectUnmet(causeNow); // at once: a turn's worth of batches must not overshoot the bound
        }
        afterNewWork(now);
    }

    private boolean ownsAll(List<RecordEnvelope> records) {
        for (RecordEnvelope r : records) {
            if (!owns(RingOwners.routingKey(r))) {
                return false;
            }
        }
        return true;
    }

    /** Whether this queue owns {@code id} in the current epoch (false while its layout is not known here yet). */
    public boolean owns(String id) {
        return layout.getEpoch() == knownEpoch && self.getAddress().equals(RingOwners.ownerAddress(id, layout.getRingList()));
    }

    private void answer(Object handle, EnqueueReply.Status s, String detail) {
        links.answer(handle, EnqueueReply.newBuilder().setStatus(s).setEpoch(knownEpoch).setDetail(detail).build());
    }

    private void settled(IdLedger.Batch b) {
        EnqueueReply.Builder reply = EnqueueReply.newBuilder().setStatus(EnqueueReply.Status.SETTLED).setEpoch(knownEpoch)
                .setAppended(b.appended).setRejected(b.rejected);
        if (b.parkedIds != null) {
            reply.addAllParkedIds(b.parkedIds);
        }
        links.answer(b.handle, reply.build());
    }

    private void afterNewWork(long now) {
        if (state == State.HOLDING) {
            process(now);
        } else if (state == State.IDLE && gate.readyCount() > 0 && !wakeSent && layout.getRingCount() > 1) {
            wakeSent = true;
            List<String> others = new ArrayList<>();
            for (RingMember m : layout.getRingList()) {
                if (!m.getAddress().equals(self.getAddress())) {
                    others.add(m.getAddress());
                }
            }
            links.wake(others, self.getAddress());
        }
    }

    public void onWake(String from, long now) {
        if (!from.equals(self.getAddress())) {
            wakeRequests.add(from);
            if (state == State.HOLDING) {
                process(now);
            }
        }
    }

    /**
     * Whether a token may be taken, answered from this queue's published
     * {@link #status()} on any thread, before the loop sees it: a queue whose
     * loop is busy still takes the token at once, so a slow machine is never
     * mistaken for a dead successor. Refused only before this queue has a view
     * or when an epoch it knows is newer. Should the loop then refuse it (a
     * newer epoch came meanwhile), the token is gone, as if this queue had
     * died holding it: the ring recovers from that.
     */
    public static TokenAck admit(Token t, TokenStatus s) {
        boolean ok = s.getJoined() && Long.compareUnsigned(t.getEpoch(), s.getEpoch()) >= 0;
        return TokenAck.newBuilder().setSeenHop(ok ? t.getHop() : s.getSeenHop()).setEpoch(ok ? t.getEpoch() : s.getEpoch())
                .setAccepted(ok).build();
    }

    /**
     * Takes a token on a gRPC (or any) thread, as {@link #admit} decides, and
     * publishes at once that this queue holds it: until the loop handles it, a
     * queue asking whether the token exists must hear "yes", else a busy loop
     * (a long hold, a GC pause) would look like a lost token.
     */
    public TokenAck accept(Token t) {
        TokenAck ack = admit(t, status);
        if (ack.getAccepted()) {
            admitted = t;
        }
        return ack;
    }

    /** The token arrived from the predecessor. */
    public TokenAck onToken(Token t, long now) {
        try {
            return handleToken(t, now);
        } finally {
            if (admitted == t) {
                admitted = null; // handled (taken, refused or ignored): the published status says which
            }
        }
    }

    private TokenAck handleToken(Token t, long now) {
        if (state == State.JOINING) {
            // No view yet: it could not tell the ring from strangers. The sender tries again in a moment.
            return TokenAck.newBuilder().setSeenHop(lastHop).setEpoch(knownEpoch).setAccepted(false).build();
        }
        if (t.getEpoch() < knownEpoch || (state == State.RECOVERING && t.getEpoch() < recovery.epoch())) {
            return TokenAck.newBuilder().setSeenHop(lastHop).setEpoch(knownEpoch).setAccepted(false).build();
        }
        if (t.getEpoch() > knownEpoch || newer(t.getLayout(), layout)) {
            adoptEpoch(t.getEpoch(), t.getLayout(), now);
        }
        TokenAck ack = TokenAck.newBuilder().setSeenHop(Math.max(lastHop, t.getHop())).setEpoch(knownEpoch).setAccepted(true)
                .build();
        if (t.getHop() <= lastHop) {
            return ack; // a duplicate delivery of a token already handled
        }
        if (state == State.HOLDING) {
            LOG.error("received a second token (epoch {} hop {}) while holding hop {}: ignoring it", t.getEpoch(),
                    t.getHop(), lastHop);
            return ack;
        }
        take(t, now);
        return ack;
    }

    private void take(Token t, long now) {
        token = t;
        sawLid(t.getLastLid());
        retryingPass = false;
        lastHop = t.getHop();
        tokenEverSeen = true;
        lastTokenAt = now;
        watchFrom = now;
        metrics.tokenReceived();
        wakeSent = false;
        holdUntil = now + config.idleHold().toNanos();
        state(State.HOLDING, now);
        process(now);
    }

    public void onPassed(long hop, TokenAck ack, long now) {
        if (state != State.PASSING || token == null || token.getHop() != hop) {
            return;
        }
        if (!ack.getAccepted()) {
            if (ack.getEpoch() > knownEpoch) {
                LOG.info("the successor refused the token: it knows epoch {}", ack.getEpoch());
                adoptEpoch(ack.getEpoch(), null, now); // drops the token
            } else {
                onPassFailed(hop, true, "the successor is not ready for it", now);
            }
            return;
        }
        token = null;
        retryingPass = false;
        state(State.IDLE, now);
    }

    /**
     * A pass failed: {@code refused} when the successor answered no or its
     * process is gone (connection refused or reset), otherwise it was silent
     * (deadline passed). A refusing successor is skipped after pass_timeout,
     * a silent one (paused, starved, cut off) only after silence_timeout.
     */
    public void onPassFailed(long hop, boolean refused, String why, long now) {
        if (state != State.PASSING || token == null || token.getHop() != hop) {
            return;
        }
        passInFlight = false;
        passRetryAt = now + TimeUnit.MILLISECONDS.toNanos(20);
        long limit = (refused ? config.passTimeout() : config.silenceTimeout()).toNanos();
        if (now - passStartedAt >= limit) {
            String successor = RingPlan.successor(layout.getRingList(), self.getAddress());
            LOG.warn("queue {} did not take the token for {} ms ({}): leaving it out of the ring", successor,
                    TimeUnit.NANOSECONDS.toMillis(now - passStartedAt), why);
            watch.suspect(successor);
            startRecovery(true, "queue " + successor + " did not take the token", now);
        } else {
            LOG.debug("could not pass the token: {}; retrying", why);
        }
    }

    // ------------------------------------------------------------ stores and settlement

    public void onStoreReply(String maintainer, long batchId, StoreReply r, long now) {
        switch (r.getStatus()) {
            case STORED -> {
                StoreOutbox.StoreBatch stored = outbox.onStored(batchId);
                if (stored != null) {
                    List<RecordEnvelope> recs = stored.records();
                    for (int i = 0; i < recs.size(); i++) {
                        RecordEnvelope rec = recs.get(i);
                        ledger.stored(stored.tags().get(i), rec.getId());
                        gate.stored(rec);
                    }
                    settlement.onIndexedThrough(maintainer, r.getIndexedThrough(), now);
                    outbox.flush(now);
                }
            }
            case SEALED -> {
                outbox.onRefused(batchId);
                if (r.getSealedEpoch() > knownEpoch) {
                    LOG.info("maintainer {} is sealed at epoch {}: this queue's epoch {} is over", maintainer,
                            r.getSealedEpoch(), knownEpoch);
                    adoptEpoch(r.getSealedEpoch(), null, now);
                }
            }
            default -> {
                outbox.onRefused(batchId);
                metrics.conflict();
                LOG.error("maintainer {} holds other records at LIds {}: two queues gave out the same LIds; starting a new epoch",
                        maintainer, r.getConflictsList());
                startRecovery(true, "conflicting LIds at " + maintainer, now);
            }
        }
        if (state == State.HOLDING) {
            process(now);
        }
    }

    public void onStoreFailed(String maintainer, long batchId, String why, long now) {
        LOG.debug("store to {} failed: {}", maintainer, why);
        outbox.onFailed(maintainer, batchId, now);
    }

    public void onIndexedThrough(String maintainer, long through, long now) {
        settlement.onIndexedThrough(maintainer, through, now);
    }

    /** Maintainer {@code m}, asked at {@code askedAt}, named the indexers that may hold its entries. */
    public void onIndexHolders(String m, long askedAt, Set<String> holders, long now) {
        departures.onHolders(m, askedAt, holders);
    }

    public void onIndexHoldersFailed(String m, long now) {
        departures.onHoldersFailed(m);
    }

    /** A maintainer asked in verification {@code verifyId} holds nothing unindexed below {@code lowestUnindexed} (0: nothing at all). */
    public void onUnindexedFrom(long verifyId, String maintainer, long lowestUnindexed, long now) {
        settlement.onUnindexedFrom(verifyId, maintainer, lowestUnindexed);
    }

    public void onIndexedThroughFailed(String maintainer, long now) {
        settlement.onIndexedThroughFailed(maintainer, now);
    }

    public void onExists(long probe, long[] lids, boolean complete, long now) {
        for (CauseKey k : probes.onAnswered(probe, lids, complete, gate::isUnmet, now)) {
            if (gate.isUnmet(k)) {
                metrics.causeFoundByIndexer();
            }
            gate.satisfy(k);
        }
        afterNewWork(now);
    }

    public void onExistsFailed(long probe, long now) {
        probes.onFailed(probe, gate::isUnmet, now);
    }

    public void onRejected(long rejectId, boolean ok, long now) {
        settlement.onRejected(rejectId, ok, now);
    }

    public void onVerified(long verifyId, List<IdLedger.Found> found, long now) {
        long causeNow = probes.causeClock(now);
        for (RecordEnvelope r : settlement.onVerified(verifyId, found, this::owns, now)) {
            gate.add(r, ledger.admitted(r), causeNow, now);
        }
        afterNewWork(now);
    }

    public void onVerifyFailed(long verifyId, long now) {
        settlement.onVerifyFailed(verifyId, now);
    }

    /** Records with these ids waiting here for a cause. */
    public List<CausalGate.Held> pending(Set<String> ids) {
        return gate.heldWithIds(ids);
    }

    // ------------------------------------------------------------ epochs

    /**
     * A newer epoch exists (and, if given, its layout): everything this queue
     * holds of older epochs is void. Its token is dropped; records not yet
     * stored are dropped (their filters get STALE_EPOCH and resend); records
     * given an LId but not known stored are verified once the new epoch's
     * layout is known.
     */
    private void adoptEpoch(long epoch, Layout newLayout, long now) {
        if (epoch > knownEpoch) {
            LOG.info("epoch {} → {}", knownEpoch, epoch);
            knownEpoch = epoch;
            lastHop = 0;
            token = null;
            lastLidSeen = 0; // what older epochs gave out above the new one's start never was (it is sealed there)
            retryingPass = false;
            passInFlight = false;
            quiesceStartedAt = -1;
            gate.dropAll();
            origins.clear();
            outbox.clear();
            for (IdLedger.Batch b : ledger.epochChanged(epoch)) {
                links.answer(b.handle, EnqueueReply.newBuilder().setStatus(EnqueueReply.Status.STALE_EPOCH)
                        .setEpoch(epoch).build());
            }
            restriping.clear();
            if (recovery != null && recovery.epoch() <= epoch) {
                recovery = null;
            }
            if (state != State.JOINING && recovery == null) {
                state(State.IDLE, now);
            }
            watchFrom = now;
        }
        if (newLayout != null && newLayout.getEpoch() == knownEpoch && newer(newLayout, layout)) {
            if (!everInRing && inRing(newLayout)) {
                // The first epoch with this very instance in its ring (not a predecessor at its address), from its
                // start: nobody else let in an id it owns in this epoch, and everything before is sealed.
                everInRing = true;
                firstInRing(newLayout.getStartLid(), newLayout.getRingList(), now);
            } else if (layout.getEpoch() != 0 && newLayout.getEpoch() > layout.getEpoch() + 1) {
                // Epochs went by unseen (this queue was paused or cut off): whatever rings they had,
                // other queues may have let in ids this one owns now.
                ledger.memoryGap(now);
            } else if (!newLayout.getRingList().equals(layout.getRingList())) {
                ledger.ringChanged(layout.getRingList(), now);
            }
            layout = newLayout;
            layoutMaintainers = allMaintainers(layout);
            restriping.clear(); // a newer layout replaced the one being stored: its answers no longer matter
            metrics.layout(layout);
            watch.layoutAdopted(layout);
        }
    }

    private static boolean newer(Layout a, Layout b) {
        int c = Long.compareUnsigned(a.getEpoch(), b.getEpoch());
        return c > 0 || (c == 0 && Long.compareUnsigned(a.getVersion(), b.getVersion()) > 0);
    }

    private void startRecovery(boolean fault, String reason, long now) {
        if (state == State.RECOVERING) {
            return;
        }
        long epoch = knownEpoch + 1;
        List<RingMember> ring = desiredRing(true, now);
        Set<String> failing = AvoidedMaintainers.addresses(avoided.last());
        failing.addAll(failingHere().keySet());
        List<String> maintainers = RingPlan.desiredMaintainers(watch.view(), failing);
        Recovery.KnownEnd known = null;
        if (!fault && token != null && TokenHold.allStored(token)) {
            // A planned change holds the epoch's token and waited for every LId it gave out to be stored.
            OriginMarks given = OriginMarks.of(token.getOriginMarksList());
            given.raise(config.datacenter(), token.getLocalToid());
            known = new Recovery.KnownEnd(token.getLastLid(), given);
        }
        token = null;
        retryingPass = false;
        passInFlight = false;
        restriping.clear();
        state(State.RECOVERING, now);
        recovery = new Recovery(links, ++attempts, epoch, self.getInstanceId(), layout, maintainers, ring, reason, known);
        recoveryForFault = fault;
        recovery.start(now);
        metrics.recoveryStarted();
    }

    /**
     * {@code maintainer} answered the seal of recovery attempt {@code attempt}:
     * an earlier attempt's answer is not the current one's.
     */
    public void onSealed(String maintainer, long attempt, SealReply r, long now) {
        if (recovery != null) {
            recovery.onSealed(maintainer, attempt, r, now);
            afterRecoveryStep(now);
        }
    }

    public void onSealFailed(String maintainer, long attempt, String why, long now) {
        if (recovery != null) {
            recovery.onSealFailed(maintainer, attempt, why, now);
            afterRecoveryStep(now); // a planned change may go on without it
        }
    }

    /** {@code maintainer} answered the holes sent by recovery attempt {@code attempt}. */
    public void onHolesFilled(String maintainer, long attempt, StoreReply r, long now) {
        if (recovery != null) {
            recovery.onHolesFilled(maintainer, attempt, r, now);
            afterRecoveryStep(now);
        }
    }

    public void onHolesFailed(String maintainer, long attempt, String why, long now) {
        if (recovery != null) {
            recovery.onHolesFailed(maintainer, attempt, why, now);
        }
    }

    /** {@code maintainer} answered the layout {@code sent}: replies are matched by the layout, not the address alone. */
    public void onLayoutSet(String maintainer, Layout sent, LayoutReply r, long now) {
        if (recovery != null) {
            if (sent.getEpoch() == recovery.epoch()) {
                recovery.onLayoutSet(maintainer, r, now);
                afterRecoveryStep(now);
            }
        } else if (restripeOf(sent) && restriping.remove(maintainer)) {
            if (!r.getAccepted() && r.getSealedEpoch() > knownEpoch) {
                adoptEpoch(r.getSealedEpoch(), null, now);
            } else if (state == State.HOLDING) {
                process(now);
            }
        }
    }

    public void onLayoutFailed(String maintainer, Layout sent, String why, long now) {
        if (recovery != null) {
            if (sent.getEpoch() == recovery.epoch()) {
                recovery.onLayoutFailed(maintainer, why, now);
            }
        } else if (restripeOf(sent) && restriping.remove(maintainer)) {
            layoutRefusals.put(maintainer, "did not take layout " + layout.getEpoch() + "." + layout.getVersion() + ": " + why);
            restriping.clear();
            if (state == State.HOLDING) {
                process(now);
            }
        }
    }

    /** A probe of an avoided maintainer answered ({@code ok}) or failed: once it answers, new stripes may include it. */
    public void onMaintainerProbed(String maintainer, boolean ok, long now) {
        avoided.onProbe(maintainer, ok, now);
    }

    /** The maintainers the new epoch's token avoids: those avoided before, and those a planned change left out. */
    private List<AvoidedMaintainer> avoidedAfter(Recovery r) {
        List<AvoidedMaintainer> out = new ArrayList<>(avoided.last());
        Set<String> have = AvoidedMaintainers.addresses(out);
        for (String m : r.skipped()) {
            if (have.add(m)) {
                String instance = "";
                for (Member member : watch.view().members(Role.MAINTAINER)) {
                    if (member.getGrpcAddress().equals(m)) {
                        instance = member.getInstanceId();
                    }
                }
                out.add(AvoidedMaintainer.newBuilder().setAddress(m).setInstanceId(instance)
                        .setReason("did not answer the seal of epoch " + r.epoch()).build());
            }
        }
        return out;
    }

    /** Whether {@code sent} is the layout of the restripe under way (a late answer to an earlier one is not). */
    private boolean restripeOf(Layout sent) {
        return sent.equals(restripeSent);
    }

    private void afterRecoveryStep(long now) {
        Recovery r = recovery;
        if (r.step() == Recovery.Step.DONE) {
            recovery = null;
            adoptEpoch(r.epoch(), r.layout(), now);
            metrics.epochStarted(recoveryForFault, r.holesFilled());
            metrics.maintainersLeftOut(r.skipped().size());
            links.reportLayout(r.layout());
            take(Token.newBuilder().setEpoch(r.epoch()).setHop(1).setLastLid(r.lastLid()).setLayout(r.layout())
                    .setLocalToid(r.toids().get(config.datacenter())).addAllOriginMarks(r.toids().toList(config.datacenter()))
                    .addAllAvoidedMaintainers(avoidedAfter(r)).build(), now);
        } else if (r.step() == Recovery.Step.ABORTED) {
            recovery = null;
            state(State.IDLE, now);
            watchFrom = now; // give the queue that won time to pass its token round
            recoveryAfter = now + random.nextLong(TimeUnit.MILLISECONDS.toNanos(300));
            if (r.newestEpochSeen() > knownEpoch) {
                adoptEpoch(r.newestEpochSeen(), null, now);
            }
        }
    }

    public void onTokenStatus(long probe, String queue, TokenStatus s, long now) {
        LOG.trace("probe {}: {} says epoch {} holding {} since {} ms", probe, queue, s.getEpoch(), s.getHolding(), s.getSinceMs());
        watch.onStatus(probe, queue, s, knownEpoch, now);
        if (s.getEpoch() > knownEpoch) {
            adoptEpoch(s.getEpoch(), null, now);
        }
    }

    /** A probed queue did not answer: {@code refused} if its process is gone, otherwise it was silent. */
    public void onProbeFailed(long probe, String queue, boolean refused, long now) {
        watch.onNoAnswer(probe, queue, refused, now);
    }

    public void onProbeDone(long probe, long now) {
        RingWatch.Verdict v = watch.onProbeDone(probe, now);
        if (v != RingWatch.Verdict.NOT_A_LOSS_PROBE) {
            LOG.debug("token-loss probe {}: {} (state {})", probe, v, state);
        }
        if (v == RingWatch.Verdict.NOT_A_LOSS_PROBE || v == RingWatch.Verdict.SILENT || state != State.IDLE) {
            return;
        }
        if (v == RingWatch.Verdict.HOLDER_FOUND) {
            watchFrom = now;
        } else {
            boolean lost = tokenEverSeen || layout.getEpoch() > 0;
            startRecovery(lost, lost ? "the token was lost" : "no token yet", now);
        }
    }

    // ------------------------------------------------------------ timed work

    public long poll(long now) {
        long next = now + TimeUnit.SECONDS.toNanos(1);
        if (state == State.IDLE) {
            next = Math.min(next, watchToken(now));
        }
        if (state == State.HOLDING) {
            process(now);
            if (state == State.HOLDING && layout.getRingCount() > 1 && restriping.isEmpty()) {
                next = Math.min(next, holdUntil);
            }
        } else if (state == State.PASSING && !passInFlight) {
            if (now - passRetryAt >= 0) {
                pass(now); // the same token again
            } else {
                next = Math.min(next, passRetryAt);
            }
        }
        if (recovery != null) {
            next = Math.min(next, recovery.poll(now));
        }
        if (state != State.JOINING) {
            watch.pollOutsiders(layout, now);
        }
        long causeNow = probes.causeClock(now);
        rejectUnmet(causeNow);
        for (CausalGate.Held h; (h = gate.overdue(now, PARK_AFTER_NANOS)) != null; ) {
            if (h.record.getToid() == 0) { // another datacenter's records wait in origin order, held by their link
                ledger.parked(h.tag, h.record.getId());
                metrics.parked();
            }
        }
        next = Math.min(next, gate.nextOverdue(PARK_AFTER_NANOS));
        if (!probes.stopped() && gate.nextExpiry() != Long.MAX_VALUE) {
            next = Math.min(next, now + (gate.nextExpiry() - causeNow));
        }
        if (now - indexersCheckedAt > TimeUnit.SECONDS.toNanos(1)) {
            indexersCheckedAt = now;
            indexers = departures.toAsk(layoutMaintainers, now);
            for (String m : departures.due(layoutMaintainers, now)) {
                links.indexHolders(m, now);
            }
        }
        probes.probe(gate.drainToProbe(), indexers, gate::isUnmet, now);
        next = Math.min(next, probes.nextDue());
        next = Math.min(next, outbox.poll(now));
        next = Math.min(next, settlement.poll(now, layoutMaintainers, indexers, layout.getEpoch(), layout.getStartLid()));
        status = snapshot(now);
        Recovery r = recovery;
        recoveryNote = r == null ? "" : "starting epoch " + r.epoch() + " (" + r.step().name().toLowerCase()
                + (r.waitingFor().isEmpty() ? ")" : "): waiting for " + r.waitingFor());
        return next;
    }


    /** Every maintainer the layout names (any of them may hold records not yet indexed). */
    static List<String> allMaintainers(Layout layout) {
        Set<String> out = new LinkedHashSet<>();
        for (io.chariots.proto.Stripe s : layout.getStripesList()) {
            out.addAll(s.getMaintainersList());
        }
        return new ArrayList<>(out);
    }

    /** No token for a while: ask the ring whether anyone has one (a lost one is recovered by the queue that finds none). */
    private long watchToken(long now) {
        // Only a --hold queue of a log that never had a token starts the first epoch at once.
        boolean firstEver = config.hold() && !tokenEverSeen && layout.getEpoch() == 0 && knownEpoch == 0;
        long wait = (firstEver ? 0 : config.tokenTimeout().toNanos())
                + watch.rank() * TimeUnit.MILLISECONDS.toNanos(300);
        long due = Math.max(watchFrom + wait, recoveryAfter);
        if (now - due < 0) {
            return due;
        }
        if (!watch.probing()) {
            LOG.debug("no token for {} ms: asking the ring whether anyone holds it", TimeUnit.NANOSECONDS.toMillis(now - watchFrom));
            watch.probeForToken(layout, now);
        }
        return now + TimeUnit.MILLISECONDS.toNanos(100);
    }

    /**
     * Rejects the records whose cause did not come in time, and the longest-waiting beyond {@code queue.max_waiting}
     * records or {@code queue.max_waiting_mb}.
     */
    private void rejectUnmet(long causeNow) {
        // While the indexers cannot be asked the cause clock stops, and no record is crowded out either.
        boolean bounded = !probes.stopped();
        for (CausalGate.Expired e : gate.expire(causeNow, bounded ? config.maxWaiting() : Integer.MAX_VALUE,
                bounded ? config.maxWaitingBytes() : Long.MAX_VALUE)) {
            reject(e);
        }
    }

    private void reject(CausalGate.Expired e) {
        if (e.crowdedOut()) {
            metrics.crowdedOut();
        } else {
            metrics.causeTimeout();
        }
        String reason = "cause " + e.missing() + " not in the log after " + TimeUnit.NANOSECONDS.toMillis(e.waitedNanos())
                + (e.crowdedOut() ? " ms, the longest wait of more than queue.max_waiting (" + config.maxWaiting()
                        + ") records or queue.max_waiting_mb (" + (config.maxWaitingBytes() >> 20) + " MiB) waiting at queue "
                        + self.getAddress() : " ms (cause timeout)");
        LOG.warn("rejected record {}: {}", e.record().getId(), reason);
        for (CauseKey k : e.missing()) {
            probes.forget(k);
        }
        settlement.reject(Rejection.newBuilder().setId(e.record().getId()).setReason(reason)
                .setAtMs(System.currentTimeMillis()).build());
    }

    private TokenStatus snapshot(long now) {
        // Holding, passing it on, or making a new one: in each case a token exists or is coming.
        boolean holding = state == State.HOLDING || state == State.PASSING || state == State.RECOVERING;
        publishedTokenAt = tokenEverSeen ? lastTokenAt : Long.MIN_VALUE;
        return TokenStatus.newBuilder().setEpoch(knownEpoch).setSeenHop(lastHop).setHolding(holding)
                .setInstanceId(self.getInstanceId())
                .setJoined(state != State.JOINING).setLeaving(leaving)
                .setSinceMs(tokenEverSeen ? TimeUnit.NANOSECONDS.toMillis(now - lastTokenAt) : -1).build();
    }

    private void state(State s, long now) {
        if (s != state) {
            LOG.debug("{} → {}", state, s);
            state = s;
        }
        status = snapshot(now);
    }

    // ------------------------------------------------------------ holding the token

    /** Reconfigures if the ring changed, holds the token (answers, LIds), passes it on. */
    private void process(long now) {
        lastTokenAt = now;
        watchFrom = now;
        // Only a member asks to be left out: one that sealed the epoch leaving it out holds that epoch's token,
        // and its address on it would keep a queue restarted there out of the ring for the whole epoch.
        if (leaving && inRing(layout) && !token.getLeavingList().contains(self.getAddress())) {
            token = token.toBuilder().addLeaving(self.getAddress()).build();
        }
        if (reconfigure(now)) {
            return;
        }
        boolean quiescing = token.getQuiescing();
        int[] assigned = new int[1];
        token = hold.hold(token, layout, knownEpoch, !quiescing && restriping.isEmpty() && layout.getStripesCount() > 0,
                assigned, wakeRequests, now);
        sawLid(token.getLastLid());
        if (quiescing && TokenHold.allStored(token)) {
            startRecovery(false, "the ring changes", now);
            return;
        }
        if (!restriping.isEmpty()) {
            return; // kept until the new stripe's maintainers stored its layout: the next holder assigns under it
        }
        if (layout.getRingCount() <= 1 && inRing(layout)) {
            return; // a ring of one keeps the token
        }
        // Out of the ring (this queue sealed the epoch that leaves it out): hand the token in at once.
        boolean urgent = assigned[0] > 0 || token.getFoundCount() > 0 || token.getWaitingQueuesCount() > 0 || quiescing
                || !inRing(layout);
        if (urgent || now - holdUntil >= 0) {
            pass(now);
        }
    }

    /**
     * Starts a new epoch if the ring must change: at once when a member is
     * gone (its unstored LIds become holes), after a quiesce (nothing left
     * unstored, so no hole) when queues join or leave cleanly. Adds a stripe
     * when the maintainers changed. True if the token was given up.
     */
    private boolean reconfigure(long now) {
        List<RingMember> desired = desiredRing(false, now);
        List<RingMember> removed = RingPlan.removed(layout, desired);
        List<RingMember> failed = new ArrayList<>();
        for (RingMember m : removed) {
            if (!token.getLeavingList().contains(m.getAddress()) && !watch.leaving(m.getAddress())) {
                failed.add(m);
            }
        }
        if (!failed.isEmpty()) {
            startRecovery(true, "queue(s) " + addressesOf(failed) + " left the ring", now);
            return true;
        }
        token = avoided.update(token, watch.view(), failingHere(), now);
        layoutRefusals.clear();
        for (String m : avoided.toProbe()) {
            links.probeMaintainer(m);
        }
        if (!token.getQuiescing()) {
            quiesceStartedAt = -1; // a quiesce this queue started was called off by another: a later one starts afresh
        }
        List<String> maintainers = RingPlan.desiredMaintainers(watch.view(),
                AvoidedMaintainers.addresses(token.getAvoidedMaintainersList()));
        List<RingMember> added = RingPlan.added(layout, desired);
        // A join waits while a maintainer that may hold LIds of this epoch fails or is gone from the view: the new
        // epoch would have to seal that maintainer, so the whole log would wait for it, where without the join it
        // goes on with the others. (A queue leaving cleanly is not kept waiting: it goes at the end of its drain.)
        String unsealable = null;
        if (removed.isEmpty() && !added.isEmpty()) {
            for (String m : Recovery.mayHoldCurrentLids(layout)) {
                if (!maintainers.contains(m)) {
                    unsealable = m;
                    break;
                }
            }
        }
        if ((!added.isEmpty() || !removed.isEmpty()) && !token.getQuiescing() && unsealable == null) {
            LOG.info("ring change (joining {}, leaving {}): waiting for every LId given out to be stored, then a new epoch",
                    addressesOf(added), addressesOf(removed));
            token = token.toBuilder().setQuiescing(true).build();
            quiesceStartedAt = now;
        }
        if (token.getQuiescing() && unsealable != null) {
            LOG.warn("ring change (joining {}) put off: maintainer {} fails or left the view, and a new epoch would wait"
                    + " for it; new LIds go to the others, and the queue joins once it is back", addressesOf(added), unsealable);
            token = token.toBuilder().setQuiescing(false).build();
            quiesceStartedAt = -1;
            metrics.ringChangePutOff();
        }
        if (token.getQuiescing() && quiesceStartedAt >= 0 && now - quiesceStartedAt > config.quiesceTimeout().toNanos()) {
            startRecovery(true, "ring change; quiesce timed out", now);
            return true;
        }
        if (!maintainers.isEmpty() && !maintainers.equals(RingPlan.currentMaintainers(layout)) && restriping.isEmpty()) {
            restripe(maintainers);
        }
        return false;
    }

    /** See {@link RingWatch#desiredRing}; {@code forNewEpoch} when it becomes the ring of an epoch this queue starts. */
    private List<RingMember> desiredRing(boolean forNewEpoch, long now) {
        List<RingMember> out = new ArrayList<>();
        for (RingMember m : watch.desiredRing(layout, forNewEpoch, now)) {
            boolean leavingNow = (token != null && token.getLeavingList().contains(m.getAddress()))
                    || watch.leaving(m.getAddress()) || (leaving && m.getAddress().equals(self.getAddress()));
            if (!leavingNow) {
                out.add(m);
            }
        }
        return out;
    }

    private static List<String> addressesOf(List<RingMember> ms) {
        List<String> out = new ArrayList<>();
        for (RingMember m : ms) {
            out.add(m.getAddress());
        }
        return out;
    }

    /**
     * New LIds go to {@code maintainers} from the next LId on (mid-block if
     * need be): no seal, since nothing is lost — the layout's new version is
     * stored on every maintainer of the new stripe before any LId is given
     * under it (a dead maintainer learns it when it comes back).
     */
    private void restripe(List<String> maintainers) {
        Layout next = StripeMap.withStripe(layout, token.getLastLid() + 1, maintainers);
        LOG.info("new LIds from {} go to {} (layout {}.{})", Long.toUnsignedString(token.getLastLid() + 1), maintainers,
                next.getEpoch(), next.getVersion());
        layout = next;
        layoutMaintainers = allMaintainers(layout);
        token = token.toBuilder().setLayout(next).build();
        metrics.layout(next);
        restriping.addAll(maintainers);
        restripeSent = next;
        for (String m : maintainers) {
            links.setLayout(m, next);
        }
        links.reportLayout(next);
    }

    /** Maintainers whose calls from this queue fail (address → why). */
    private Map<String, String> failingHere() {
        Map<String, String> out = new LinkedHashMap<>();
        for (String m : outbox.failing(config.maintainerFailures())) {
            out.put(m, config.maintainerFailures() + " or more store calls in a row failed");
        }
        out.putAll(layoutRefusals);
        return out;
    }

    /**
     * Passes the token on. A retry after a failed pass sends the very same
     * token (same hop): the successor may have taken it and lost only its
     * answer, and must see a duplicate, not a second token.
     */
    private void pass(long now) {
        String successor = RingPlan.successor(layout.getRingList(), self.getAddress());
        if (successor == null && !inRing(layout) && layout.getRingCount() > 0) {
            // Out of the ring and holding its token (this queue sealed the epoch that leaves it out): hand it in.
            successor = layout.getRing(0).getAddress();
        }
        if (successor == null) {
            return;
        }
        if (!retryingPass) {
            token = token.toBuilder().setHop(token.getHop() + 1).build();
            lastHop = token.getHop();
            passStartedAt = now;
            retryingPass = true;
        }
        state(State.PASSING, now);
        passInFlight = true;
        links.passToken(successor, token);
    }

    /**
     * A clean stop: take no new records, and leave the ring at the next epoch,
     * which the holder starts once everything given out is stored (no hole).
     * Records this queue holds then are dropped by that epoch change and sent
     * by their filters to their new owners: nothing is lost.
     */
    public void leave(long now) {
        if (!leaving) {
            leaving = true;
            ringAtLeave = inRing(layout) ? layout.getRingList().stream().map(RingMember::getAddress).toList() : List.of();
            status = snapshot(now);
            LOG.info("leaving the ring at the next epoch");
            if (state == State.HOLDING) {
                process(now);
            }
        }
    }

    private void sawLid(long lid) {
        if (Long.compareUnsigned(lid, lastLidSeen) > 0) {
            lastLidSeen = lid;
        }
    }

    /**
     * The first epoch with this instance in its ring began at {@code logEnd}:
     * what its dedup memory is worth now ({@link IdLedger#logEndsAt}).
     */
    private void firstInRing(long logEnd, List<RingMember> ring, long now) {
        long keptAt = ledger.keptLogEnd();
        if (ledger.logEndsAt(logEnd, ring, now)) {
            if (keptAt >= 0 && logEnd != 0) {
                keptMemoryWhole = true;
                LOG.info("the log ends where it ended at this queue's last clean stop (LId {}): its dedup memory is whole,"
                        + " and new ids are not checked against the id index", Long.toUnsignedString(logEnd));
            }
        } else if (keptAt >= 0) {
            LOG.info("the log went on after this queue's last clean stop (it ends at LId {}, then at {}): new ids are"
                    + " checked against the id index for a window (queue.dedup_window_ms), as after a crash",
                    Long.toUnsignedString(logEnd), Long.toUnsignedString(keptAt));
        }
    }

    /**
     * Where the log ends, as this queue knows it once it has {@link #left}
     * the ring, if every LId up to there is known stored: a layout it holds
     * begins there or later (everything before an epoch's start is sealed),
     * or it was alone in the ring and has nothing unstored. Only then does a
     * log that ends there at the next start prove that nothing was appended
     * since: every LId given out later is above it. -1 otherwise (an LId may
     * become a hole and be given out again), and no memory is kept.
     */
    public long durableLogEnd() {
        if (!left()) {
            return -1;
        }
        if (Long.compareUnsigned(layout.getStartLid(), lastLidSeen) >= 0) {
            return layout.getStartLid();
        }
        boolean alone = inRing(layout) && layout.getRingCount() == 1;
        return alone && outbox.unstoredCount() == 0 ? lastLidSeen : -1;
    }

    /**
     * Writes this queue's dedup memory for its next start ({@link DedupMemory})
     * at the log's end {@link #durableLogEnd} gave: it has {@link #left}, so it
     * takes no more records and nothing changes the memory after this.
     */
    public void keepMemory(DataOutput out, long logEnd, long now, DedupMemory.Stamp stamp) throws IOException {
        if (!left() || logEnd < 0) {
            throw new IllegalStateException("the dedup memory is kept only once the queue has left the ring, at a durable end");
        }
        ledger.keep(out, now, stamp, logEnd, ringAtLeave);
    }

    /** Whether this queue has been in the ring of an epoch (it joined, or started the first). */
    public boolean everInRing() {
        return everInRing;
    }

    /** Whether this start found the memory its last clean stop kept whole: the log had not gone on since. */
    public boolean keptMemoryWhole() {
        return keptMemoryWhole;
    }

    /**
     * Reads the memory {@link #keepMemory} wrote, for this queue's filter
     * (one of another size is refused before it takes any memory); nothing is
     * taken until {@link #restoreMemory}.
     */
    public IdLedger.Memory readMemory(DataInput in) throws IOException {
        return ledger.readMemory(in);
    }

    /**
     * Takes the memory {@link #keepMemory} wrote at this queue's last clean
     * stop ({@link #readMemory}), before the loop starts.
     *
     * @throws IOException if another queue kept it, or a filter of another size
     */
    public void restoreMemory(IdLedger.Memory memory, long now, DedupMemory.Stamp stamp) throws IOException {
        ledger.restore(memory, now, stamp);
    }

    private boolean inRing(Layout l) {
        for (RingMember m : l.getRingList()) {
            if (m.getInstanceId().equals(self.getInstanceId())) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether this queue is out of the ring after {@link #leave} and has
     * handed the token on (or is alone in the ring: nobody to hand over to).
     * The queue that seals the epoch leaving itself out holds that epoch's
     * token: it may exit only once a member of the new ring took it, else the
     * others would find it lost and start yet another epoch.
     */
    public boolean left() {
        if (!leaving) {
            return false;
        }
        boolean handedOn = state == State.IDLE || state == State.JOINING;
        return (!inRing(layout) && handedOn) || (inRing(layout) && layout.getRingCount() <= 1) || state == State.JOINING;
    }

    public long buffered() {
        return ledger.liveCount();
    }
}
