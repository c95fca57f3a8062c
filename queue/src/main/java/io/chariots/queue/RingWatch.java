package io.chariots.queue;

import io.chariots.common.membership.Membership;
import io.chariots.proto.Layout;
import io.chariots.proto.Member;
import io.chariots.proto.RingMember;
import io.chariots.proto.Role;
import io.chariots.proto.TokenStatus;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * What one queue knows of the others' liveness, from the membership view
 * and its own probes: which queues failed to take the token (suspects),
 * which answered lately (so may join the ring), and whether anyone holds the
 * token when this queue has not seen it for a while. Owned by the queue's
 * loop; the {@link TokenRing} acts on what it says.
 */
final class RingWatch {
    /** Asks queues whether they hold the token; each answer comes back through {@link TokenRing#onTokenStatus}, then {@link TokenRing#onProbeDone}. */
    interface Prober {
        void probeRing(long probeId, List<String> queues);
    }

    /**
     * What a token-loss probe found: a holder; none, every other queue having
     * answered or being gone; or none yet, a silent queue (that may hold it)
     * not silent for silence_timeout yet — asked again.
     */
    enum Verdict { NOT_A_LOSS_PROBE, HOLDER_FOUND, NO_HOLDER, SILENT }

    private static final long ANSWER_FRESH_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long OUTSIDER_PROBE_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long LOSS_PROBE_NANOS = TimeUnit.MILLISECONDS.toNanos(1000);

    private final RingMember self;
    private final QueueConfig config;
    private final Prober prober;
    private Membership view = Membership.NONE;
    private final Set<String> suspects = new HashSet<>();
    // Queues that answered they are stopping cleanly (until they leave the view or say otherwise).
    private final Set<String> leavingQueues = new HashSet<>();
    private final Map<String, Long> answeredAt = new HashMap<>();
    // Queues whose connections hold but that answer nothing, since the first unanswered probe was sent.
    private final Map<String, Long> silentSince = new HashMap<>();
    // Ring members the view dropped (late heartbeats, or gone), by address: what the ring itself hears of them.
    private final Map<String, Unlisted> unlisted = new HashMap<>();
    private List<String> lossProbeAsked = List.of();
    private long lossProbeSentAt;
    private long nextProbeId = 1;
    private long lossProbeId;
    private long lossProbeDeadline = -1;
    private boolean holderFound;
    private long outsiderProbeAt;

    /** A ring member the view no longer lists, and what this queue heard from it since. */
    private static final class Unlisted {
        final String instance;
        long heardAt; // when it was dropped, or its last answer after that
        boolean answered; // answered since it was dropped
        boolean gone; // refused a call since it last answered, or another instance answers at its address

        Unlisted(String instance, long droppedAt) {
            this.instance = instance;
            this.heardAt = droppedAt;
        }
    }

    RingWatch(RingMember self, QueueConfig config, Prober prober) {
        this.self = self;
        this.config = config;
        this.prober = prober;
    }

    void onMembership(Membership m) {
        view = m;
    }

    Membership view() {
        return view;
    }

    /** {@code queue} did not take the token: out of the ring until it answers this queue again. */
    void suspect(String queue) {
        suspects.add(queue);
        answeredAt.remove(queue);
    }

    /** A newer layout: a queue this one suspected but that the layout has was proven alive by whoever added it. */
    void layoutAdopted(Layout l) {
        for (RingMember m : l.getRingList()) {
            suspects.remove(m.getAddress());
        }
    }

    /** Whether {@code queue} said it is stopping cleanly: leaving the ring is planned, and it must not rejoin. */
    boolean leaving(String queue) {
        return leavingQueues.contains(queue);
    }

    /**
     * The ring this queue would have now (see {@link RingPlan#desiredRing}).
     * A ring member the view dropped stays while it is not known gone and
     * was heard from (or dropped) less than silence_timeout ago; in the ring
     * of a new epoch ({@code forNewEpoch}) only if it answered lately, so
     * that a silently dead host is not handed the new token.
     */
    List<RingMember> desiredRing(Layout layout, boolean forNewEpoch, long now) {
        Set<String> answered = new HashSet<>();
        // Outsiders are asked every second: one that answered within the last second is up now.
        answeredAt.forEach((q, at) -> {
            if (now - at < ANSWER_FRESH_NANOS) {
                answered.add(q);
            }
        });
        noteUnlisted(layout, now);
        return RingPlan.desiredRing(view, layout, suspects, answered, self, q -> unlistedAlive(q, forNewEpoch, now));
    }

    /** Whether a ring member the view dropped is still taken for alive (see {@link #desiredRing}). */
    boolean unlistedAlive(String queue, boolean forNewEpoch, long now) {
        Unlisted u = unlisted.get(queue);
        if (u == null) {
            return true; // not dropped (not noted yet): the caller decides by the view
        }
        if (u.gone) {
            return false;
        }
        if (forNewEpoch) {
            return u.answered && now - u.heardAt <= 2 * OUTSIDER_PROBE_NANOS;
        }
        return now - u.heardAt < config.silenceTimeout().toNanos();
    }

    private void noteUnlisted(Layout layout, long now) {
        Set<String> dropped = new HashSet<>();
        for (RingMember m : RingPlan.unlisted(view, layout)) {
            dropped.add(m.getAddress());
            Unlisted u = unlisted.get(m.getAddress());
            if (u == null || !u.instance.equals(m.getInstanceId())) {
                unlisted.put(m.getAddress(), new Unlisted(m.getInstanceId(), now));
            }
        }
        unlisted.keySet().retainAll(dropped);
        // A queue stopping cleanly stays "leaving" while the view or the ring still has it.
        Set<String> known = new HashSet<>(dropped);
        view.members(Role.QUEUE).forEach(q -> known.add(q.getGrpcAddress()));
        for (RingMember m : layout.getRingList()) {
            known.add(m.getAddress());
        }
        leavingQueues.retainAll(known);
    }

    /** This queue's place among the view's queues (0 for the --hold queue): who recovers a lost token first. */
    long rank() {
        if (config.hold()) {
            return 0;
        }
        List<Member> qs = view.members(Role.QUEUE);
        for (int i = 0; i < qs.size(); i++) {
            if (qs.get(i).getGrpcAddress().equals(self.getAddress())) {
                return i + 1;
            }
        }
        return qs.size() + 1;
    }

    /** Whether a token-loss probe is out. */
    boolean probing() {
        return lossProbeDeadline >= 0;
    }

    /** Asks every other queue of the view, and every member of the ring the view dropped, whether it holds (or is making) a token. */
    void probeForToken(Layout layout, long now) {
        holderFound = false;
        lossProbeDeadline = now + LOSS_PROBE_NANOS;
        lossProbeSentAt = now;
        lossProbeId = nextProbeId++;
        List<String> ask = others(m -> true);
        addUnlisted(ask, layout, now);
        lossProbeAsked = ask;
        prober.probeRing(lossProbeId, ask);
    }

    /** A queue answered a probe; returns whether it holds or recently saw a token of at least {@code epoch}. */
    void onStatus(long probe, String queue, TokenStatus s, long knownEpoch, long now) {
        suspects.remove(queue); // it answers: it may join the ring again
        answeredAt.put(queue, now);
        if (s.getLeaving()) {
            leavingQueues.add(queue);
        } else {
            leavingQueues.remove(queue);
        }
        silentSince.remove(queue);
        Unlisted u = unlisted.get(queue);
        if (u != null) {
            if (!s.getInstanceId().isEmpty() && !s.getInstanceId().equals(u.instance)) {
                u.gone = true; // restarted: the ring member that was there is dead
                return;
            }
            u.answered = true;
            u.gone = false;
            u.heardAt = now;
        }
        if (probe == lossProbeId && (s.getHolding() || (s.getEpoch() >= knownEpoch && s.getSinceMs() >= 0
                && s.getSinceMs() < config.tokenTimeout().toMillis()))) {
            holderFound = true;
        }
    }

    /** A probed queue did not answer: gone ({@code refused}) or silent since this probe was sent. */
    void onNoAnswer(long probe, String queue, boolean refused, long now) {
        if (refused) {
            silentSince.remove(queue);
            Unlisted u = unlisted.get(queue);
            if (u != null) {
                u.gone = true;
            }
        } else if (probe == lossProbeId) {
            silentSince.putIfAbsent(queue, lossProbeSentAt);
        }
    }

    /**
     * Every queue asked answered or failed. For a loss probe that found no
     * holder, the queues that did not answer become suspects: they are not
     * put in the new epoch's ring.
     */
    Verdict onProbeDone(long probe, long now) {
        if (probe != lossProbeId || lossProbeDeadline < 0) {
            return Verdict.NOT_A_LOSS_PROBE;
        }
        lossProbeDeadline = -1;
        if (holderFound) {
            return Verdict.HOLDER_FOUND;
        }
        for (String q : lossProbeAsked) {
            Long since = silentSince.get(q);
            Long at = answeredAt.get(q);
            boolean answered = at != null && now - at <= ANSWER_FRESH_NANOS;
            if (!answered && since != null && now - since < config.silenceTimeout().toNanos()) {
                return Verdict.SILENT;
            }
        }
        for (String q : lossProbeAsked) {
            Long at = answeredAt.get(q);
            if (at == null || now - at > ANSWER_FRESH_NANOS) {
                suspect(q);
            }
        }
        return Verdict.NO_HOLDER;
    }

    /** Every second, asks the listed queues outside the ring, the suspects and the ring members the view dropped whether they are alive. */
    void pollOutsiders(Layout layout, long now) {
        if (now - outsiderProbeAt < 0) {
            return;
        }
        outsiderProbeAt = now + OUTSIDER_PROBE_NANOS;
        Set<String> inRing = new HashSet<>();
        for (RingMember m : layout.getRingList()) {
            inRing.add(m.getInstanceId());
        }
        List<String> ask = others(m -> !inRing.contains(m.getInstanceId()) || suspects.contains(m.getGrpcAddress()));
        addUnlisted(ask, layout, now);
        if (!ask.isEmpty()) {
            prober.probeRing(nextProbeId++, ask);
        }
    }

    /** Adds to {@code ask} the ring members the view dropped that are not known gone (they may still answer). */
    private void addUnlisted(List<String> ask, Layout layout, long now) {
        noteUnlisted(layout, now);
        for (Map.Entry<String, Unlisted> e : unlisted.entrySet()) {
            if (!e.getKey().equals(self.getAddress()) && !e.getValue().gone && !ask.contains(e.getKey())) {
                ask.add(e.getKey());
            }
        }
    }

    private List<String> others(java.util.function.Predicate<Member> which) {
        List<String> out = new ArrayList<>();
        for (Member m : view.members(Role.QUEUE)) {
            if (!m.getGrpcAddress().isEmpty() && !m.getGrpcAddress().equals(self.getAddress()) && which.test(m)) {
                out.add(m.getGrpcAddress());
            }
        }
        return out;
    }
}
