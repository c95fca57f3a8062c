package io.chariots.launcher.chaos;

import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.Role;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Steady acknowledged load on a cluster: lanes alternating between HTTP
 * {@code wait=true} through the apps and the acknowledged raw-TCP mode to the
 * batchers, each resending (on a connection of its own) with the same ids until acknowledged, and passing
 * chain links on to the next lane. Everything acknowledged lands in the
 * {@link AckLedger}.
 */
public final class ChaosLoad implements AutoCloseable {
    /** Records per acknowledged 's' frame. */
    static final int FRAME_RECORDS = 5;
    /**
     * How long a lane waits for its new records before handing what is not
     * confirmed to its resending connection: short, so that a record waiting
     * for a dead maintainer's return holds up its lane for at most this.
     */
    static final long NEW_RECORD_WAIT_MS = 2_000;
    /** How long a resent record is waited for (resends are safe, but need not be many). */
    static final long RESEND_WAIT_MS = 10_000;

    private final AckLedger ledger = new AckLedger();
    private final List<LoadLane> lanes = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();

    /**
     * @param httpLanes lanes posting to the apps (in turn)
     * @param tcpLanes lanes writing acknowledged frames to the batchers (each starting at another)
     * @param rate new records per second offered by all lanes together; 0: each lane sends as fast as it is acknowledged
     */
    public ChaosLoad(LocalCluster cluster, int httpLanes, int tcpLanes, double rate, long seed, String runTag) {
        List<RoleProcess> apps = cluster.all(Role.APP);
        List<AckedTcpAppender.Target> batchers = cluster.all(Role.BATCHER).stream()
                .map(b -> new AckedTcpAppender.Target(b.name(), b.host(), b.ports().main())).toList();
        int total = httpLanes + tcpLanes;
        ChainHandoff chains = new ChainHandoff(total);
        int h = 0;
        int t = 0;
        for (int lane = 0; lane < total; lane++) {
            // Alternate kinds so that a chain's next link always takes the other path.
            boolean http = (lane % 2 == 0 && h < httpLanes) || t >= tcpLanes;
            Appender a;
            Appender resend;
            String prefix;
            if (http) {
                RoleProcess app = apps.get(h % apps.size());
                String url = "http://" + app.host() + ":" + app.ports().main();
                a = new HttpAppender(url, app.name(), NEW_RECORD_WAIT_MS);
                resend = new HttpAppender(url, app.name(), RESEND_WAIT_MS);
                prefix = runTag + "-h" + h++;
            } else {
                a = new AckedTcpAppender(batchers, t, FRAME_RECORDS, NEW_RECORD_WAIT_MS);
                resend = new AckedTcpAppender(batchers, t + 1, FRAME_RECORDS, RESEND_WAIT_MS);
                prefix = runTag + "-t" + t++;
            }
            LoadLane l = new LoadLane(lane, prefix, a, resend, chains, ledger, seed * 31 + lane, 5, rate / total);
            lanes.add(l);
            Thread th = new Thread(l, "chaos-load-" + prefix);
            th.setDaemon(true);
            threads.add(th);
        }
    }

    public ChaosLoad start() {
        threads.forEach(Thread::start);
        return this;
    }

    public AckLedger ledger() {
        return ledger;
    }

    /**
     * Stops sending new records and lets the lanes send what is not yet
     * acknowledged, for at most {@code within}.
     *
     * @return true if every record sent was acknowledged (or refused) in time
     */
    public boolean finish(Duration within) throws InterruptedException {
        lanes.forEach(LoadLane::stopProducing);
        long deadline = System.nanoTime() + within.toNanos();
        for (Thread t : threads) {
            t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
        }
        boolean done = threads.stream().noneMatch(Thread::isAlive) && ledger.unacked().isEmpty();
        close();
        return done;
    }

    /** Stops every lane at once. */
    @Override
    public void close() {
        lanes.forEach(LoadLane::stop);
        threads.forEach(Thread::interrupt);
        for (Thread t : threads) {
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
