package io.chariots.queue;

import io.chariots.common.layout.StripeMap;
import io.chariots.proto.Found;
import io.chariots.proto.Layout;
import io.chariots.proto.QueueProgress;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.RingMember;
import io.chariots.proto.Token;
import io.chariots.proto.Wanted;

import java.util.HashSet;
import java.util.Set;

/**
 * What the holder does with the token in one hold: take the answers meant
 * for it, give its ready records consecutive LIds (a chain that arrived in
 * one burst completes within the hold), record how far its own assignments
 * are stored, answer other queues' causes from its recently stored records
 * and ask the ring for its own. Not the state machine: the {@link TokenRing}
 * decides when a hold happens and where the token goes next.
 */
final class TokenHold {
    private final String self;
    private final QueueConfig config;
    private final CausalGate gate;
    private final IdLedger ledger;
    private final StoreOutbox outbox;
    private final OriginOrder origins;
    private final OriginOrder.Out originOut;
    private final QueueMetrics metrics;

    TokenHold(String self, QueueConfig config, CausalGate gate, IdLedger ledger, StoreOutbox outbox, OriginOrder origins,
              OriginOrder.Out originOut, QueueMetrics metrics) {
        this.self = self;
        this.config = config;
        this.gate = gate;
        this.ledger = ledger;
        this.outbox = outbox;
        this.origins = origins;
        this.originOut = originOut;
        this.metrics = metrics;
    }

    /**
     * One hold of {@code token} under {@code layout}: returns the token to pass
     * on. {@code assign} is false while LIds must not be given (quiescing, or a
     * new stripe not yet stored on its maintainers); {@code assigned[0]} says
     * how many were given.
     */
    Token hold(Token token, Layout layout, long epoch, boolean assign, int[] assigned, Set<String> wakeRequests, long now) {
        Token.Builder t = token.toBuilder();
        applyAnswers(token, t, layout, wakeRequests);
        origins.onToken(token.getOriginMarksList(), originOut, now);
        assigned[0] = assign ? assign(t, layout, epoch, now) : 0;
        t.clearOriginMarks().addAllOriginMarks(origins.marks(config.datacenter()));
        setProgress(t);
        answerWanted(t);
        return t.build();
    }

    private void applyAnswers(Token token, Token.Builder t, Layout layout, Set<String> wakeRequests) {
        t.clearFound();
        for (Found f : token.getFoundList()) {
            if (f.getQueue().equals(self)) {
                CauseKey k = CauseKey.of(f.getKey());
                if (gate.isUnmet(k)) {
                    metrics.causeFoundByToken();
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
        Set<String> ring = new HashSet<>();
        for (RingMember m : layout.getRingList()) {
            ring.add(m.getAddress());
        }
        t.clearWaitingQueues();
        for (String q : token.getWaitingQueuesList()) {
            if (!q.equals(self) && ring.contains(q)) {
                t.addWaitingQueues(q);
            }
        }
        for (String q : wakeRequests) {
            if (ring.contains(q) && !t.getWaitingQueuesList().contains(q)) {
                t.addWaitingQueues(q);
            }
        }
        wakeRequests.clear();
    }

    private int assign(Token.Builder t, Layout layout, long epoch, long now) {
        long lid = t.getLastLid();
        long toid = t.getLocalToid();
        int n = 0;
        CausalGate.Ready r;
        while (n < config.maxPerHold() && (r = gate.pollReady()) != null) {
            boolean fromElsewhere = r.record().getToid() != 0;
            if (fromElsewhere && !origins.mayAssign(r.record(), r.tag(), originOut, now)) {
                continue;
            }
            lid++;
            String owner = StripeMap.ownerOf(layout, lid);
            RecordEnvelope.Builder b = r.record().toBuilder().setLid(lid);
            if (!fromElsewhere && r.record().getHost() == config.datacenter()) {
                b.setToid(++toid); // TOIds of this origin follow its LIds: increasing, no gap unless an LId becomes a hole
            }
            RecordEnvelope withLid = b.build();
            if (fromElsewhere) {
                origins.assigned(withLid, lid, originOut, now); // its origin's next may follow in this very hold
            }
            gate.assigned(withLid);
            ledger.assigned(r.tag(), withLid.getId(), lid, owner);
            outbox.add(epoch, owner, withLid, r.localDeps(), r.tag());
            n++;
        }
        t.setLastLid(lid).setLocalToid(toid);
        if (n > 0) {
            metrics.assigned(n);
            outbox.flush(now);
        }
        return n;
    }

    private void setProgress(Token.Builder t) {
        long from = outbox.unstoredFrom();
        for (int i = 0; i < t.getProgressCount(); i++) {
            if (t.getProgress(i).getQueue().equals(self)) {
                t.setProgress(i, QueueProgress.newBuilder().setQueue(self).setUnstoredFrom(from));
                return;
            }
        }
        t.addProgress(QueueProgress.newBuilder().setQueue(self).setUnstoredFrom(from));
    }

    /** Whether every queue's assignments were stored at its last hold (nothing assigned since, while quiescing). */
    static boolean allStored(Token t) {
        for (QueueProgress p : t.getProgressList()) {
            if (p.getUnstoredFrom() != 0) {
                return false;
            }
        }
        return true;
    }

    /** A cause asked by a queue, answered at most once per token. */
    private record Answer(String queue, long hash, long seed) {
    }

    private void answerWanted(Token.Builder t) {
        Set<Answer> answered = null;
        for (Wanted w : t.getWantedList()) {
            long at = gate.recentLid(w.getKey().getHash(), w.getKey().getSeed());
            if (at == 0) {
                continue; // the common case: not stored here lately
            }
            CauseKey k = CauseKey.of(w.getKey());
            if (answered == null) {
                answered = new HashSet<>();
                for (Found f : t.getFoundList()) {
                    answered.add(new Answer(f.getQueue(), f.getKey().getHash(), f.getKey().getSeed()));
                }
            }
            if (answered.add(new Answer(w.getQueue(), k.hash(), k.seed()))) {
                t.addFound(Found.newBuilder().setKey(w.getKey()).setLid(at).setQueue(w.getQueue()));
            }
        }
        int asked = 0;
        for (CauseKey k : gate.unmet()) {
            if (asked++ >= config.maxWanted()) {
                break;
            }
            t.addWanted(Wanted.newBuilder().setKey(k.toProto()).setQueue(self));
        }
    }
}
