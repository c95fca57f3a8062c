package io.chariots.launcher.chaos;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * One client of the chaos load: sends new records on one path, one request or
 * frame at a time. What is not acknowledged (a timeout, a 503/504, a broken
 * connection) moves to the lane's second connection, which sends it again
 * with the same ids until it is — so that a record waiting for a maintainer
 * to come back does not hold up the records after it, as it would not for
 * independent producers (the stall is then how long new appends stopped,
 * and the wait how long such a record took). Some of its records start
 * chains, and it sends the effects of causes the previous lane had
 * acknowledged.
 */
final class LoadLane implements Runnable {
    /** Share of new records that start a chain of {@link ChainHandoff#CHAIN_LENGTH}. */
    static final double CHAIN_START_SHARE = 0.1;

    private final int lane;
    private final String prefix;
    private final Appender appender;
    private final Appender retryAppender;
    private final ChainHandoff chains;
    private final AckLedger ledger;
    private final Random random;
    private final Random resendJitter;
    private final long pauseMillis;
    private final long nanosPerRecord;
    private long sendAt;
    private final List<ChaosRecord> pending = new ArrayList<>();
    private final ConcurrentLinkedQueue<ChaosRecord> unacknowledged = new ConcurrentLinkedQueue<>();
    private final Thread retrier;
    private long next;
    private volatile boolean producing = true;
    private volatile boolean newRecordsDone;
    private volatile boolean stopped;

    /**
     * @param appender sends new records
     * @param retryAppender sends again, on a connection of its own, what was not acknowledged
     * @param pauseMillis pause after each send when the lane is not paced
     * @param rate new records per second this lane offers at most; 0: as fast as they are acknowledged
     */
    LoadLane(int lane, String prefix, Appender appender, Appender retryAppender, ChainHandoff chains, AckLedger ledger,
             long seed, long pauseMillis, double rate) {
        this.lane = lane;
        this.prefix = prefix;
        this.appender = appender;
        this.retryAppender = retryAppender;
        this.chains = chains;
        this.ledger = ledger;
        this.random = new Random(seed);
        this.resendJitter = new Random(~seed);
        this.pauseMillis = pauseMillis;
        this.nanosPerRecord = rate > 0 ? (long) (1e9 / rate) : 0;
        this.retrier = new Thread(this::resendUntilAcknowledged, "chaos-resend-" + prefix);
        this.retrier.setDaemon(true);
    }

    /** No new records from now on; only those not yet acknowledged are sent again. */
    void stopProducing() {
        producing = false;
    }

    /** Stops at once, acknowledged or not. */
    void stop() {
        producing = false;
        stopped = true;
        appender.close(); // unblocks a read in progress
        retryAppender.close();
        retrier.interrupt();
    }

    /** Waits as the lane's rate asks after {@code sent} new records went out; a lane that fell behind catches up at most a second's worth. */
    private void pace(int sent) throws InterruptedException {
        if (nanosPerRecord == 0) {
            if (pauseMillis > 0) {
                Thread.sleep(pauseMillis);
            }
            return;
        }
        long now = System.nanoTime();
        sendAt = Math.max(sendAt, now - 1_000_000_000L) + sent * nanosPerRecord;
        long wait = sendAt - now;
        if (wait > 0) {
            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        }
    }

    /** Sends new records until {@link #stopProducing}, then returns once everything it sent was acknowledged. */
    @Override
    public void run() {
        sendAt = System.nanoTime();
        retrier.start();
        try {
            while (!stopped && producing && !Thread.currentThread().isInterrupted()) {
                fill();
                int sent = pending.size();
                List<ChaosRecord> left = send(appender, pending);
                pending.clear();
                unacknowledged.addAll(left);
                if (left.size() == sent) {
                    // Nothing went through (a dead app, no batcher): back off as a client would, rather than
                    // pile up new records behind the resends.
                    Thread.sleep(100 + random.nextInt(100));
                } else {
                    pace(sent);
                }
            }
            newRecordsDone = true;
            retrier.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            newRecordsDone = true;
            appender.close();
        }
    }

    private void resendUntilAcknowledged() {
        try {
            List<ChaosRecord> batch = new ArrayList<>();
            while (!stopped) {
                boolean last = newRecordsDone; // read before the queue: nothing is added once it is set
                for (ChaosRecord r; batch.size() < retryAppender.batch() && (r = unacknowledged.poll()) != null; ) {
                    batch.add(r);
                }
                if (batch.isEmpty()) {
                    if (last) {
                        return;
                    }
                    Thread.sleep(20);
                    continue;
                }
                ledger.resent(batch.size());
                List<ChaosRecord> left = send(retryAppender, batch);
                batch.clear();
                batch.addAll(left);
                if (!left.isEmpty()) {
                    Thread.sleep(100 + resendJitter.nextInt(100));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            retryAppender.close();
        }
    }

    /** Sends {@code records} once; notes what was acknowledged or refused and returns the rest. */
    private List<ChaosRecord> send(Appender to, List<ChaosRecord> records) throws InterruptedException {
        List<Appender.Outcome> outcomes;
        try {
            outcomes = to.append(List.copyOf(records));
        } catch (IOException e) {
            return List.copyOf(records);
        }
        List<ChaosRecord> left = new ArrayList<>();
        for (int i = 0; i < records.size(); i++) {
            ChaosRecord r = records.get(i);
            Appender.Outcome o = outcomes.get(i);
            if (o.acked()) {
                ledger.acked(r.id(), o.lid(), to.path());
                chains.acknowledged(lane, r);
            } else if (o.rejection() != null) {
                ledger.rejected(r.id(), o.rejection());
            } else {
                left.add(r);
            }
        }
        return left;
    }

    /** Fills the request or frame with new records: an effect the previous lane handed over, else a new one. */
    private void fill() {
        while (pending.size() < appender.batch()) {
            ChaosRecord cause = chains.nextCause(lane);
            String id = prefix + "-" + next++;
            ChaosRecord r = cause != null ? ChaosRecord.effectOf(cause, id)
                    : ChaosRecord.plain(id, random.nextLong(), random.nextDouble() < CHAIN_START_SHARE);
            ledger.sent(r.id(), r.causeId());
            pending.add(r);
        }
    }
}
