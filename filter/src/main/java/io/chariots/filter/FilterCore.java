package io.chariots.filter;

import io.chariots.common.layout.RingOwners;
import io.chariots.common.link.WindowedSender;
import io.chariots.common.membership.Membership;
import io.chariots.proto.EnqueueReply;
import io.chariots.proto.Layout;
import io.chariots.proto.Member;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Routes each record to the queue that owns its id (by the layout's ring),
 * where every copy of it meets the others and enters the log once — a record
 * from another datacenter to the queue that owns its origin, which admits
 * that origin's records in order — and keeps
 * each batcher's batch until every record of it is settled (durable, or
 * rejected for good) or parked (waiting at its queue for a cause): the batcher
 * is answered only then, with the parked ids, and keeps those records to send
 * them again, so a record is never only in a memory that a crash empties.
 *
 * <p>A batch part a queue could not take (the call failed, or the queue said
 * retry) goes to the same queue again after a backoff: resending it anywhere
 * else could append it twice while the first queue still holds it. Only a
 * newer epoch — every maintainer sealed, so whatever that queue holds can no
 * longer be stored — lets the filter route the part again, by the new ring.
 * Owned by the filter's loop; time is handed in.
 */
public final class FilterCore {
    private static final Logger LOG = LoggerFactory.getLogger(FilterCore.class);

    /** Sends one part to a queue; the outcome comes back through {@link #onReply} / {@link #onFailed}. */
    public interface Sender {
        void enqueue(String queue, long partId, long epoch, List<RecordEnvelope> records);
    }

    /** Asks a queue for the newest layout it knows; the answer comes back through {@link #onLayout}. */
    public interface LayoutSource {
        void fetch(String queue);
    }

    /** How a batcher's batch is answered: once every record of it is settled or parked. */
    public interface Answer {
        /** @param parkedIds ids of records that wait at their queue for a cause (empty: none); the batcher keeps them */
        void settled(List<String> parkedIds);
    }

    /** A batcher's batch, answered once every record of it is settled or parked. */
    private static final class Batch {
        final Answer answer;
        int left;
        List<String> parked = List.of();

        Batch(Answer answer, int size) {
            this.answer = answer;
            this.left = size;
        }
    }

    /** The records of one batch that one queue owns. */
    private record Part(Batch batch, long epoch, List<RecordEnvelope> records) {
    }

    private final WindowedSender<Part> sender;
    private final LayoutSource layouts;
    private final List<Part> unrouted = new ArrayList<>();
    private Layout layout = Layout.getDefaultInstance();
    private List<String> viewQueues = List.of();
    private long layoutFetchAt;
    private int fetchTurn;
    private long batches;
    private final Counter forwarded;
    private final Counter resent;

    public FilterCore(Sender sender, LayoutSource layouts, int window, MeterRegistry meters) {
        this.sender = new WindowedSender<>((q, id, p) -> sender.enqueue(q, id, p.epoch(), p.records()), window,
                new WindowedSender.Backoff(Duration.ofMillis(20), Duration.ofSeconds(1)));
        this.layouts = layouts;
        this.forwarded = Counter.builder("chariots_filter_records_forwarded_total")
                .description("Records settled (durable or rejected) through this filter").register(meters);
        this.resent = Counter.builder("chariots_filter_records_rerouted_total")
                .description("Records routed again after an epoch change (their queue's work was sealed out)")
                .register(meters);
        meters.gauge("chariots_filter_batches_in_flight", this, f -> f.batches);
        meters.gauge("chariots_filter_epoch", this, f -> f.layout.getEpoch());
    }

    /** The queues of the view: where a layout can be asked for. A layout in the view is taken if newer. */
    public void onMembership(Membership m, long now) {
        List<String> qs = new ArrayList<>();
        for (Member q : m.members(Role.QUEUE)) {
            qs.add(q.getGrpcAddress());
        }
        viewQueues = qs;
        if (m.proto().hasLayout()) {
            onLayout(m.proto().getLayout(), now);
        }
        poll(now);
    }

    /** A batch from a batcher; {@code answer} is told once every record of it is settled or parked. */
    public void onForward(List<RecordEnvelope> records, Answer answer, long now) {
        if (records.isEmpty()) {
            answer.settled(List.of());
            return;
        }
        Batch b = new Batch(answer, records.size());
        batches++;
        route(new Part(b, 0, records), now);
    }

    private void route(Part p, long now) {
        if (layout.getRingCount() == 0) {
            unrouted.add(p);
            return;
        }
        Map<String, List<RecordEnvelope>> byQueue = new LinkedHashMap<>();
        for (RecordEnvelope r : p.records()) {
            byQueue.computeIfAbsent(RingOwners.ownerAddress(RingOwners.routingKey(r), layout.getRingList()),
                    q -> new ArrayList<>()).add(r);
        }
        byQueue.forEach((q, rs) -> {
            sender.submit(q, new Part(p.batch(), layout.getEpoch(), rs));
            sender.pump(q, now);
        });
    }

    public void onReply(long partId, EnqueueReply reply, long now) {
        switch (reply.getStatus()) {
            case SETTLED -> {
                Part p = sender.onSuccess(partId);
                if (p != null) {
                    settle(p, reply.getParkedIdsList());
                }
            }
            case STALE_EPOCH -> {
                Part p = sender.onSuccess(partId);
                if (reply.hasLayout()) {
                    onLayout(reply.getLayout(), now);
                } else {
                    layoutFetchAt = now; // the queue knows a newer epoch: ask for its layout
                }
                if (p != null) {
                    if (p.epoch() < layout.getEpoch()) {
                        resent.increment(p.records().size());
                        route(p, now);
                    } else {
                        unrouted.add(p); // the newer layout is not here yet: wait for it
                    }
                }
            }
            default -> { // RETRY: the same queue, later
                Part p = sender.onFailure(partId, now);
                if (p != null) {
                    retry(p, now);
                }
                if (reply.getEpoch() > layout.getEpoch() && now - layoutFetchAt >= 0) {
                    // The queue knows a newer epoch but not its layout: ask (poll only asks while parts are unrouted).
                    layoutFetchAt = now + TimeUnit.MILLISECONDS.toNanos(200);
                    fetchLayout();
                }
            }
        }
    }

    public void onFailed(long partId, String why, long now) {
        Part p = sender.onFailure(partId, now);
        if (p != null) {
            LOG.debug("a queue failed a part of {} records ({}); trying it again", p.records().size(), why);
            retry(p, now);
            if (now - layoutFetchAt >= 0) {
                layoutFetchAt = now + TimeUnit.MILLISECONDS.toNanos(500); // maybe a new epoch left it out: ask
                fetchLayout();
            }
        }
    }

    private void retry(Part p, long now) {
        if (p.epoch() < layout.getEpoch()) {
            resent.increment(p.records().size());
            route(p, now);
        } else {
            sender.retry(RingOwners.ownerAddress(p.records().get(0).getId(), layout.getRingList()), p);
        }
    }

    private void settle(Part p, List<String> parkedIds) {
        forwarded.increment(p.records().size() - parkedIds.size());
        Batch b = p.batch();
        if (!parkedIds.isEmpty()) {
            if (b.parked.isEmpty()) {
                b.parked = new ArrayList<>();
            }
            b.parked.addAll(parkedIds);
        }
        b.left -= p.records().size();
        if (b.left == 0) {
            batches--;
            b.answer.settled(b.parked);
        }
    }

    /**
     * A layout from a queue, the controller or a reply: if newer, every part
     * not yet settled under an older epoch is routed again by the new ring
     * (that epoch's maintainers are sealed: its queues can store nothing more).
     */
    public void onLayout(Layout l, long now) {
        if (Long.compareUnsigned(l.getEpoch(), layout.getEpoch()) <= 0) {
            return;
        }
        LOG.info("layout of epoch {}: ring {}", l.getEpoch(), l.getRingList().stream().map(m -> m.getAddress()).toList());
        layout = l;
        List<Part> again = new ArrayList<>(sender.clear());
        again.addAll(unrouted);
        unrouted.clear();
        for (Part p : again) {
            if (p.epoch() != 0) {
                resent.increment(p.records().size());
            }
            route(p, now);
        }
    }

    private void fetchLayout() {
        if (!viewQueues.isEmpty()) {
            layouts.fetch(viewQueues.get(Math.floorMod(fetchTurn++, viewQueues.size())));
        }
    }

    /** Sends what the windows allow, asks for a layout while parts wait for one; returns the next deadline. */
    public long poll(long now) {
        long next = Math.min(now + TimeUnit.SECONDS.toNanos(1), sender.poll(now));
        if ((layout.getRingCount() == 0 || !unrouted.isEmpty()) && now - layoutFetchAt >= 0) {
            layoutFetchAt = now + TimeUnit.MILLISECONDS.toNanos(200);
            fetchLayout();
        }
        if (!unrouted.isEmpty() || layout.getRingCount() == 0) {
            next = Math.min(next, layoutFetchAt);
        }
        return next;
    }

    /** Batches from batchers not yet answered. */
    public long batchesInFlight() {
        return batches;
    }

    public long epoch() {
        return layout.getEpoch();
    }

    /** Where the parts not yet settled are, for diagnostics. */
    public String describe() {
        StringBuilder sb = new StringBuilder("unrouted " + unrouted.size());
        for (String q : sender.destinations()) {
            sb.append(", ").append(q).append(": ").append(sender.state(q)).append(' ').append(sender.inFlight(q))
                    .append(" in flight, ").append(sender.queued(q)).append(" queued");
        }
        return sb.toString();
    }
}
