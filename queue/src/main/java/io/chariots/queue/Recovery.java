package io.chariots.queue;

import io.chariots.common.layout.StripeMap;
import io.chariots.common.record.OriginMarks;
import io.chariots.proto.Layout;
import io.chariots.proto.LayoutReply;
import io.chariots.proto.RingMember;
import io.chariots.proto.SealReply;
import io.chariots.proto.Stripe;
import io.chariots.proto.StoreReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One attempt to start a new epoch — CORFU's seal and LogDevice's sequencer
 * failover, by whichever queue needs it (the holder reconfiguring the ring,
 * or a queue that found the token lost):
 *
 * <ol>
 * <li><b>SEALING</b>: every maintainer that may hold LIds of the current epoch
 *     (named by a stripe reaching past the epoch's start) and every live one
 *     is sealed at the new epoch: a compare-and-set, so of two queues
 *     recovering at once at most one seals them all; a maintainer sealed at
 *     this epoch or a newer one by someone else ends the attempt. Each seal
 *     answers with the maintainer's layout (a newer one names more
 *     maintainers to seal), its floor and the LIds it holds above it. A
 *     maintainer that does not answer is waited for, and named — except in a
 *     planned change ({@link KnownEnd}), where the token's holder knows where
 *     the log ends: one whose seal fails twice may be left out of the new
 *     epoch instead, on the conditions of {@link #mayLeaveOut}.</li>
 * <li><b>FILLING</b>: the log continues after the highest LId any of them
 *     holds; every LId at or below it that its maintainer does not hold was
 *     given out but never stored, and gets a hole marker.</li>
 * <li><b>PUBLISHING</b>: the new layout (this epoch, the log's end as its
 *     start, a stripe for the live maintainers, the new ring) is stored on
 *     every maintainer.</li>
 * <li><b>DONE</b>: the caller issues a token at this epoch with
 *     {@link #lastLid()} as its last LId.</li>
 * </ol>
 *
 * Owned by the queue's loop; the {@link Links} report back on it, a seal's
 * and holes' answer with the attempt its call was made for (the queue numbers
 * its attempts). An earlier attempt's answer, late, is not this one's: its
 * seal may have been at an older epoch, its holes another set (an attempt
 * that aborted on a conflict learnt no newer epoch, and the next one starts
 * the same epoch), its failure not this attempt's call.
 */
public final class Recovery {
    private static final Logger LOG = LoggerFactory.getLogger(Recovery.class);
    private static final long RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    private static final int HOLES_PER_CALL = 50_000;

    public enum Step { SEALING, FILLING, PUBLISHING, DONE, ABORTED }

    /**
     * Calls to maintainers; each reply comes back through the matching
     * {@code on...} method, the seal's and the holes' with the
     * {@code attempt} they were made for.
     */
    public interface Links {
        /** Seals {@code maintainer}; {@code afterLid} above 0 asks for the next page of its report, after that LId. */
        void seal(String maintainer, long attempt, long epoch, String by, long afterLid);

        void fillHoles(String maintainer, long attempt, long epoch, List<Long> lids);

        void setLayout(String maintainer, Layout layout);
    }

    /**
     * Where the log ends, as the holder of the token knows it when a planned
     * change (a queue joining or leaving cleanly) has waited for every LId
     * given out to be stored: {@code lastLid} is the last LId the epoch gave
     * out, and every one up to it is stored; {@code toids} the TOIds the
     * token gave (all stored too). A maintainer whose seal then fails twice
     * (paused, cut off) need not be waited for: the log's end and its TOIds
     * are known without it, it holds nothing that would become a hole, and
     * nothing stores to it at the old epoch any more — the epoch's one token
     * is held by the queue recovering, which gave out nothing since; a store
     * it acknowledged that arrives again is the same record at the same LId.
     * A queue that thinks the token lost and starts the same epoch at once
     * is fenced as before, through a maintainer both must seal
     * ({@link #mayLeaveOut}). The one left out gets no part of the new
     * epoch's stripe nor its layout (it adopts a newer layout when one is
     * next stored on it), and the new token avoids it.
     */
    record KnownEnd(long lastLid, OriginMarks toids) {
    }

    private final Links links;
    private final KnownEnd known;
    /** Maintainers left out of a planned change because their seal failed. */
    private final Set<String> skipped = new LinkedHashSet<>();
    /** Seal calls that failed, by maintainer: one lost call does not leave a maintainer out. */
    private final Map<String, Integer> sealFailures = new HashMap<>();
    private static final int SKIP_AFTER_FAILURES = 2;
    private final long attempt;
    private final long epoch;
    private final String by;
    private final List<String> liveMaintainers;
    private final List<RingMember> ring;
    private final String reason;
    private Layout base;
    private Step step = Step.SEALING;
    private final Set<String> targets = new LinkedHashSet<>();
    private final Map<String, SealReport> sealed = new HashMap<>();
    /** Reports still coming in pages, by maintainer (its seal goes on after the last LId listed). */
    private final Map<String, SealReport> paged = new HashMap<>();
    private final Set<String> outstanding = new HashSet<>();
    private final Map<String, Long> retryAt = new HashMap<>();
    private final Map<String, List<Long>> holes = new HashMap<>();
    private long lastLid;
    private OriginMarks toids = new OriginMarks();
    private Layout result;
    private long newestEpochSeen;
    private String waitingFor = "";
    private long loggedWaitAt;
    private long holesFilled;

    /**
     * @param attempt         this attempt's number, which the answers to its calls carry
     * @param base            the newest layout the caller knows (may be empty)
     * @param liveMaintainers maintainers of the membership view, for the new stripe
     * @param ring            the queues of the new epoch, in ring order
     * @param known           where the log ends, for a planned change; null after a fault
     */
    Recovery(Links links, long attempt, long epoch, String by, Layout base, List<String> liveMaintainers, List<RingMember> ring,
             String reason, KnownEnd known) {
        this.links = links;
        this.known = known;
        this.attempt = attempt;
        this.epoch = epoch;
        this.by = by;
        this.base = base;
        this.liveMaintainers = List.copyOf(liveMaintainers);
        this.ring = List.copyOf(ring);
        this.reason = reason;
    }

    void start(long now) {
        LOG.info("starting epoch {} ({}): sealing the maintainers", epoch, reason);
        addTargets(base); // seals each as it is added
        for (String m : liveMaintainers) {
            if (targets.add(m)) {
                seal(m);
            }
        }
    }

    /** Maintainers named by a stripe that reaches past the layout's start (they may hold LIds of its epoch). */
    static Set<String> mayHoldCurrentLids(Layout layout) {
        Set<String> out = new LinkedHashSet<>();
        List<Stripe> stripes = layout.getStripesList();
        for (int i = 0; i < stripes.size(); i++) {
            boolean last = i + 1 == stripes.size();
            if (last || Long.compareUnsigned(stripes.get(i + 1).getFromLid(), layout.getStartLid() + 1) > 0) {
                out.addAll(stripes.get(i).getMaintainersList());
            }
        }
        return out;
    }

    private void addTargets(Layout layout) {
        for (String m : mayHoldCurrentLids(layout)) {
            if (!skipped.contains(m) && targets.add(m) && step == Step.SEALING) {
                seal(m);
            }
        }
    }

    private void seal(String m) {
        outstanding.add(m);
        SealReport so = paged.get(m);
        links.seal(m, attempt, epoch, by, so == null ? 0 : so.nextAfter());
    }

    void onSealed(String m, long attempt, SealReply r, long now) {
        if (attempt != this.attempt || step != Step.SEALING || !outstanding.remove(m)) {
            return;
        }
        if (!r.getSealed()) {
            newestEpochSeen = Math.max(newestEpochSeen, r.getEpoch());
            abort("maintainer " + m + " is sealed at epoch " + r.getEpoch() + " by " + r.getBy());
            return;
        }
        SealReport report = paged.remove(m);
        report = report != null ? report : new SealReport();
        switch (report.add(r)) {
            case MORE -> { // cut: a maintainer holding more LIds above its floor than one answer lists
                paged.put(m, report);
                sealFailures.remove(m); // it answers
                seal(m);
                return;
            }
            case BROKEN -> {
                abort("maintainer " + m + " did not list its LIds above " + Long.toUnsignedString(report.nextAfter())
                        + " when asked for the next page of its seal report (a maintainer of an older version?"
                        + " upgrade it): holes found from a cut report would be wrong");
                return;
            }
            case WHOLE -> {
            }
        }
        sealed.put(m, report);
        if (newer(report.layout(), base)) {
            base = report.layout();
            addTargets(base);
        }
        sealingStepped();
    }

    /** A seal was answered or its maintainer left out: once every target is sealed, on to the holes. */
    private void sealingStepped() {
        if (outstanding.isEmpty() && sealed.keySet().containsAll(targets)) {
            computeHoles();
        }
        progress();
    }

    void onSealFailed(String m, long attempt, String why, long now) {
        if (attempt != this.attempt || step != Step.SEALING || !outstanding.remove(m)) {
            return;
        }
        if (known != null && sealFailures.merge(m, 1, Integer::sum) >= SKIP_AFTER_FAILURES && mayLeaveOut(m)) {
            skipped.add(m);
            targets.remove(m);
            paged.remove(m);
            LOG.warn("epoch {} goes on without maintainer {}, whose seal failed ({}): every LId given out up to {} is stored,"
                    + " so the log's end is known without it; new LIds go to the others until it answers", epoch, m, why,
                    Long.toUnsignedString(known.lastLid()));
            sealingStepped();
            return;
        }
        retryAt.put(m, now + RETRY_NANOS);
        waiting("maintainer " + m + ", which may hold LIds " + StripeMap.describeShare(base, m)
                + (known == null ? ": the new epoch cannot know where the log ends without it ("
                : ": the new epoch must seal it before it starts (") + why + ")", now);
    }

    /**
     * Whether a planned change may go on without {@code m}. Another queue
     * that thinks the token lost may start the same epoch meanwhile; seals
     * are compare-and-sets, so of two attempts at most one completes as long
     * as both must seal some maintainer in common. The holder of the epoch's
     * token has the epoch's newest layout, and every restripe raises its
     * version: at version 0 this layout is the only one of the epoch. An
     * attempt from it seals every maintainer that may hold its LIds; one from
     * an older epoch's layout reaches a maintainer the recovery that made
     * this epoch sealed and stored this layout on, learns the layout there
     * and must seal those too. So {@code m} may be left out only while the
     * layout is at version 0 and another maintainer that may hold LIds of it
     * is not left out (this attempt must seal it to complete). The new
     * stripe also needs a live maintainer besides {@code m}.
     */
    private boolean mayLeaveOut(String m) {
        if (base.getVersion() != 0) {
            return false;
        }
        boolean anotherHolder = false;
        for (String h : mayHoldCurrentLids(base)) {
            anotherHolder |= !h.equals(m) && !skipped.contains(h);
        }
        boolean anotherLive = false;
        for (String l : liveMaintainers) {
            anotherLive |= !l.equals(m) && !skipped.contains(l);
        }
        return anotherHolder && anotherLive;
    }

    // Says what recovery waits for: at once, then every 10 s while it still waits.
    private void waiting(String what, long now) {
        waitingFor = what;
        if (loggedWaitAt == 0 || now - loggedWaitAt >= TimeUnit.SECONDS.toNanos(10)) {
            loggedWaitAt = now == 0 ? 1 : now;
            LOG.warn("epoch {} waits for {}", epoch, what);
        }
    }

    /** Whether {@code a} is newer than {@code b}: by epoch, then version, unsigned. */
    static boolean newer(Layout a, Layout b) {
        int c = Long.compareUnsigned(a.getEpoch(), b.getEpoch());
        return c > 0 || (c == 0 && Long.compareUnsigned(a.getVersion(), b.getVersion()) > 0);
    }

    private void computeHoles() {
        lastLid = base.getStartLid();
        // What the epoch began with covers every maintainer not sealed now (it holds nothing of the current epoch).
        toids = OriginMarks.of(base.getStartToidsList());
        if (known != null) {
            if (Long.compareUnsigned(known.lastLid(), lastLid) > 0) {
                lastLid = known.lastLid();
            }
            toids.raiseAll(known.toids());
        }
        for (SealReport r : sealed.values()) {
            if (Long.compareUnsigned(r.maxLid(), lastLid) > 0) {
                lastLid = r.maxLid();
            }
            toids.raiseAll(r.maxToids());
        }
        for (Map.Entry<String, SealReport> e : sealed.entrySet()) {
            String m = e.getKey();
            SealReport r = e.getValue();
            List<Long> missing = new ArrayList<>();
            for (long l = StripeMap.nextOwnedAfter(base, m, r.floor()); l != 0 && Long.compareUnsigned(l, lastLid) <= 0;
                 l = StripeMap.nextOwnedAfter(base, m, l)) {
                if (!r.holds(l)) {
                    missing.add(l);
                }
            }
            if (!missing.isEmpty()) {
                holes.put(m, missing);
            }
        }
        step = Step.FILLING;
        if (!holes.isEmpty()) {
            LOG.warn("epoch {}: LIds given out but never stored become holes: {}", epoch, describeHoles());
        }
        for (String m : holes.keySet()) {
            sendHoles(m);
        }
    }

    private String describeHoles() {
        StringBuilder sb = new StringBuilder();
        holes.forEach((m, l) -> sb.append(m).append(": ").append(l.size()).append(" (from ").append(l.get(0))
                .append(" to ").append(l.get(l.size() - 1)).append(") "));
        return sb.toString().trim();
    }

    private void sendHoles(String m) {
        List<Long> l = holes.get(m);
        outstanding.add(m);
        links.fillHoles(m, attempt, epoch, List.copyOf(l.subList(0, Math.min(l.size(), HOLES_PER_CALL))));
    }

    void onHolesFilled(String m, long attempt, StoreReply r, long now) {
        if (attempt != this.attempt || step != Step.FILLING || !outstanding.remove(m)) {
            return;
        }
        if (r.getStatus() != StoreReply.Status.STORED) {
            newestEpochSeen = Math.max(newestEpochSeen, r.getSealedEpoch());
            abort("maintainer " + m + " refused holes: " + r.getStatus() + " (sealed at " + r.getSealedEpoch() + ")");
            return;
        }
        List<Long> l = holes.get(m);
        int done = Math.min(l.size(), HOLES_PER_CALL);
        holesFilled += done;
        l.subList(0, done).clear();
        if (l.isEmpty()) {
            holes.remove(m);
        } else {
            sendHoles(m);
        }
        progress();
    }

    void onHolesFailed(String m, long attempt, String why, long now) {
        if (attempt == this.attempt && step == Step.FILLING && outstanding.remove(m)) {
            retryAt.put(m, now + RETRY_NANOS);
            waiting("maintainer " + m + " to store holes (" + why + ")", now);
        }
    }

    private void publish() {
        step = Step.PUBLISHING;
        Layout.Builder b = base.toBuilder().clearStripes();
        for (Stripe s : base.getStripesList()) {
            // Stripes starting past the log's end cover no LId yet: the new one may replace them.
            if (Long.compareUnsigned(s.getFromLid(), lastLid + 1) <= 0) {
                b.addStripes(s);
            }
        }
        Layout kept = b.build();
        List<String> live = new ArrayList<>(liveMaintainers);
        live.removeAll(skipped);
        Layout next = live.isEmpty() ? kept : StripeMap.withStripe(kept, lastLid + 1, live);
        result = next.toBuilder().setEpoch(epoch).setVersion(0).setStartLid(lastLid).clearRing().addAllRing(ring)
                .clearStartToids().addAllStartToids(toids.toList()).build();
        for (String m : publishTo()) {
            outstanding.add(m);
            links.setLayout(m, result);
        }
    }

    private Set<String> publishTo() {
        Set<String> to = new LinkedHashSet<>(targets);
        to.addAll(mayHoldCurrentLids(result));
        to.removeAll(skipped);
        return to;
    }

    void onLayoutSet(String m, LayoutReply r, long now) {
        if (step != Step.PUBLISHING || !outstanding.remove(m)) {
            return;
        }
        if (!r.getAccepted()) {
            newestEpochSeen = Math.max(newestEpochSeen, r.getSealedEpoch());
            abort("maintainer " + m + " refused the layout of epoch " + epoch + " (it has epoch " + r.getSealedEpoch() + ")");
            return;
        }
        progress();
    }

    void onLayoutFailed(String m, String why, long now) {
        if (step == Step.PUBLISHING && outstanding.remove(m)) {
            retryAt.put(m, now + RETRY_NANOS);
            waiting("maintainer " + m + " to store the layout (" + why + ")", now);
        }
    }

    private void progress() {
        if (!outstanding.isEmpty() || !retryAt.isEmpty()) {
            return;
        }
        waitingFor = "";
        if (step == Step.FILLING && holes.isEmpty()) {
            publish();
        } else if (step == Step.PUBLISHING) {
            step = Step.DONE;
            LOG.info("epoch {} sealed and published: the log continues after LId {} ({} hole(s) filled, {} maintainer(s), ring {})",
                    epoch, Long.toUnsignedString(lastLid), holesFilled, sealed.size(), ring.size());
        }
    }

    private void abort(String why) {
        step = Step.ABORTED;
        LOG.info("epoch {} not started: {}", epoch, why);
    }

    /** Retries calls that failed; returns the next retry deadline or {@code Long.MAX_VALUE}. */
    long poll(long now) {
        long next = Long.MAX_VALUE;
        for (String m : List.copyOf(retryAt.keySet())) {
            long at = retryAt.get(m);
            if (now - at < 0) {
                next = Math.min(next, at);
                continue;
            }
            retryAt.remove(m);
            switch (step) {
                case SEALING -> seal(m);
                case FILLING -> sendHoles(m);
                case PUBLISHING -> {
                    outstanding.add(m);
                    links.setLayout(m, result);
                }
                default -> {
                }
            }
        }
        return next;
    }

    public Step step() {
        return step;
    }

    long epoch() {
        return epoch;
    }

    /** The new layout, once DONE. */
    Layout layout() {
        return result;
    }

    /** The log's last LId when the epoch starts, once past SEALING. */
    long lastLid() {
        return lastLid;
    }

    /**
     * The highest TOId of each origin in the log when the epoch starts, once
     * past SEALING: of this datacenter, the highest one stored. TOIds given
     * with LIds that became holes above it are given again (nothing carries
     * them); one below it stays a gap, which its shipper sends as a hole.
     */
    OriginMarks toids() {
        return toids;
    }

    /** Maintainers a planned change left out because their seal failed: the new token avoids them. */
    Set<String> skipped() {
        return skipped;
    }

    long holesFilled() {
        return holesFilled;
    }

    /** The newest epoch a maintainer reported when this attempt was refused (0 if none). */
    long newestEpochSeen() {
        return newestEpochSeen;
    }

    /** What the attempt waits for now, for logs and /health; empty when nothing is late. */
    public String waitingFor() {
        return waitingFor;
    }

    String reason() {
        return reason;
    }
}
