package io.chariots.launcher.chaos;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * One client of the chaos load: sends records on one path, one request or
 * frame at a time, and sends whatever was not acknowledged again with the
 * same ids until it is — after a timeout, a 503/504 or a broken connection.
 * Some of its records start chains, and it sends the effects of causes the
 * previous lane had acknowledged.
 */
final class LoadLane implements Runnable {
    /** Share of new records that start a chain of {@link ChainHandoff#CHAIN_LENGTH}. */
    static final double CHAIN_START_SHARE = 0.1;

    private final int lane;
    private final String prefix;
    private final Appender appender;
    private final ChainHandoff chains;
    private final AckLedger ledger;
    private final Random random;
    private final long pauseMillis;
    private final List<ChaosRecord> pending = new ArrayList<>();
    private long next;
    private volatile boolean producing = true;
    private volatile boolean stopped;

    LoadLane(int lane, String prefix, Appender appender, ChainHandoff chains, AckLedger ledger, long seed, long pauseMillis) {
        this.lane = lane;
        this.prefix = prefix;
        this.appender = appender;
        this.chains = chains;
        this.ledger = ledger;
        this.random = new Random(seed);
        this.pauseMillis = pauseMillis;
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
    }

    @Override
    public void run() {
        try {
            while (!stopped && !Thread.currentThread().isInterrupted()) {
                if (producing) {
                    fill();
                }
                if (pending.isEmpty()) {
                    if (!producing) {
                        return;
                    }
                    continue;
                }
                List<Appender.Outcome> outcomes;
                try {
                    outcomes = appender.append(List.copyOf(pending));
                } catch (IOException e) {
                    outcomes = null;
                }
                if (outcomes != null) {
                    List<ChaosRecord> left = new ArrayList<>();
                    for (int i = 0; i < pending.size(); i++) {
                        ChaosRecord r = pending.get(i);
                        Appender.Outcome o = outcomes.get(i);
                        if (o.acked()) {
                            ledger.acked(r.id(), o.lid(), appender.path());
                            chains.acknowledged(lane, r);
                        } else if (o.rejection() != null) {
                            ledger.rejected(r.id(), o.rejection());
                        } else {
                            left.add(r);
                        }
                    }
                    pending.retainAll(left);
                }
                if (!pending.isEmpty()) {
                    ledger.resent(pending.size());
                    Thread.sleep(100 + random.nextInt(100));
                } else if (pauseMillis > 0) {
                    Thread.sleep(pauseMillis);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            appender.close();
        }
    }

    /** Tops up the request or frame with new records: an effect the previous lane handed over, else a new one. */
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
