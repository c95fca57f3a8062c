package io.chariots.queue;

import io.chariots.proto.Layout;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/** The queue's meters ({@code chariots_queue_*}), fed by the {@link TokenRing} on its loop; read by scrapes from any thread. */
public final class QueueMetrics {
    private final MeterRegistry meters;
    private final Counter assigned;
    private final DistributionSummary assignedPerHold;
    private final Counter tokens;
    private final Counter causeTimeouts;
    private final Counter crowdedOut;
    private final Counter parked;
    private final Counter foundByToken;
    private final Counter foundByIndexer;
    private final Counter recoveriesStarted;
    private final Counter recoveries;
    private final Counter ringChanges;
    private final Counter ringChangesPutOff;
    private final Counter leftOut;
    private final Counter holes;
    private final Counter conflicts;
    private final Counter refusedFull;
    private final Counter originDuplicates;
    /** The layout this queue knows, published whole so that its epoch, version and ring are read together. */
    private volatile Layout layout = Layout.getDefaultInstance();

    public QueueMetrics(MeterRegistry meters) {
        this.meters = meters;
        assigned = Counter.builder("chariots_queue_assigned_total").description("Records given an LId here").register(meters);
        assignedPerHold = DistributionSummary.builder("chariots_queue_assigned_per_hold").register(meters);
        tokens = Counter.builder("chariots_queue_token_received_total").description("Token arrivals").register(meters);
        causeTimeouts = Counter.builder("chariots_queue_cause_timeouts_total")
                .description("Records rejected because a cause did not come within queue.cause_timeout_ms").register(meters);
        crowdedOut = Counter.builder("chariots_queue_crowded_out_total")
                .description("Records rejected while waiting for a cause because more than queue.max_waiting records "
                        + "or queue.max_waiting_mb of them waited (the longest-waiting go first)").register(meters);
        parked = Counter.builder("chariots_queue_parked_total")
                .description("Records that waited long for a cause and were parked: their batches were answered without them")
                .register(meters);
        foundByToken = Counter.builder("chariots_queue_causes_found_total").tag("via", "token").register(meters);
        foundByIndexer = Counter.builder("chariots_queue_causes_found_total").tag("via", "indexer").register(meters);
        recoveriesStarted = Counter.builder("chariots_queue_epoch_changes_started_total")
                .description("New epochs this queue tried to start (seal, holes, layout)").register(meters);
        recoveries = Counter.builder("chariots_queue_recoveries_total")
                .description("New epochs this queue started after a fault: a lost token, a successor that did not take it, "
                        + "a queue gone from the ring, a quiesce that timed out (never in fair weather)").register(meters);
        ringChanges = Counter.builder("chariots_queue_ring_changes_total")
                .description("New epochs this queue started without a fault: the first token, queues joining or leaving cleanly")
                .register(meters);
        ringChangesPutOff = Counter.builder("chariots_queue_ring_changes_put_off_total")
                .description("Planned ring changes whose wait for every LId to be stored was called off because a maintainer "
                        + "of the epoch failed (a new epoch would wait for it); each is tried again once it answers")
                .register(meters);
        leftOut = Counter.builder("chariots_queue_maintainers_left_out_total")
                .description("Maintainers a planned new epoch went on without because their seal failed (every LId "
                        + "given out was stored, so the log's end was known without them)")
                .register(meters);
        holes = Counter.builder("chariots_queue_holes_filled_total")
                .description("LIds given out but never stored, filled with holes by epochs this queue started").register(meters);
        conflicts = Counter.builder("chariots_queue_lid_conflicts_total")
                .description("Stores refused because another record held the LId (two tokens: never expected)").register(meters);
        refusedFull = Counter.builder("chariots_queue_enqueue_refused_total").tag("reason", "full")
                .description("Filter batches told to retry because the queue held max_buffered records").register(meters);
        originDuplicates = Counter.builder("chariots_queue_origin_duplicates_total")
                .description("Copies of another datacenter's records whose TOId the log had already (resends of a link)")
                .register(meters);
        Gauge.builder("chariots_queue_epoch", this, m -> m.layout.getEpoch()).description("The epoch of the layout this queue knows")
                .register(meters);
        Gauge.builder("chariots_queue_layout_version", this, m -> m.layout.getVersion()).register(meters);
    }

    void bind(TokenRing ring) {
        Gauge.builder("chariots_queue_waiting_records", ring, r -> r.gate().heldCount()).register(meters);
        Gauge.builder("chariots_queue_ready_records", ring, r -> r.gate().readyCount()).register(meters);
        Gauge.builder("chariots_queue_unstored_records", ring, r -> r.outbox().unstoredCount()).register(meters);
        Gauge.builder("chariots_queue_live_records", ring, r -> r.ledger().liveCount())
                .description("Records with this queue that are not yet durable").register(meters);
        Gauge.builder("chariots_queue_origin_waiting_records", ring, r -> r.originsWaiting())
                .description("Records of other datacenters kept until their origin's earlier TOIds are in the log").register(meters);
        Gauge.builder("chariots_queue_verifying_ids", ring, r -> r.ledger().verifying()).register(meters);
        FunctionCounter.builder("chariots_queue_checked_ids_total", ring, r -> r.ledger().verifications())
                .description("New ids checked against the log (the durable id index) before admission: those its filter"
                        + " may have seen, and every one while its memory has a gap (after a start without a kept memory,"
                        + " a ring change)")
                .register(meters);
        Gauge.builder("chariots_queue_duplicates", ring, r -> r.ledger().duplicates())
                .description("Copies of records already in the log or on their way, dropped").register(meters);
    }

    void assigned(int n) {
        assigned.increment(n);
        assignedPerHold.record(n);
    }

    void tokenReceived() {
        tokens.increment();
    }

    void causeTimeout() {
        causeTimeouts.increment();
    }

    void crowdedOut() {
        crowdedOut.increment();
    }

    void parked() {
        parked.increment();
    }

    void causeFoundByToken() {
        foundByToken.increment();
    }

    void causeFoundByIndexer() {
        foundByIndexer.increment();
    }

    void recoveryStarted() {
        recoveriesStarted.increment();
    }

    void epochStarted(boolean afterFault, long holesFilled) {
        (afterFault ? recoveries : ringChanges).increment();
        holes.increment(holesFilled);
    }

    void ringChangePutOff() {
        ringChangesPutOff.increment();
    }

    void maintainersLeftOut(int n) {
        leftOut.increment(n);
    }

    /** Maintainers planned new epochs went on without (read by the simulation). */
    public long maintainersLeftOut() {
        return (long) leftOut.count();
    }

    void conflict() {
        conflicts.increment();
    }

    void originDuplicate() {
        originDuplicates.increment();
    }

    void refusedFull() {
        refusedFull.increment();
    }

    void layout(Layout l) {
        layout = l;
    }

    /** The layout this queue knows (a newer epoch may be known, its layout not yet): its epoch and ring, for health. */
    public Layout layout() {
        return layout;
    }

    /** Planned ring changes put off because a maintainer of the epoch failed (read by the simulation). */
    public long ringChangesPutOff() {
        return (long) ringChangesPutOff.count();
    }

    /** New epochs this queue started after a fault (for health and tests). */
    public long recoveries() {
        return (long) recoveries.count();
    }

    /** Records given an LId by this queue. */
    public long assignedTotal() {
        return (long) assigned.count();
    }

    /** LIds filled with holes by epochs this queue started. */
    public long holesFilled() {
        return (long) holes.count();
    }
}
