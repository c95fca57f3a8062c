package io.chariots.launcher.chaos;

import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.Role;

import java.time.Duration;
import java.util.List;
import java.util.Random;

/**
 * Injects one fault at a time into a {@link LocalCluster}: a role picked at
 * random (every role equally likely, then one of its instances), SIGKILLed
 * and restarted after a short while, or SIGSTOPped for a random time and
 * continued. Seeded: the same seed picks the same faults.
 */
public final class FaultInjector {
    private final LocalCluster cluster;
    private final Random random;
    private final long minDownMillis;
    private final long maxDownMillis;
    private final long minKillMillis;
    private final long maxKillMillis;

    /**
     * @param minDown shortest pause (SIGSTOP to SIGCONT)
     * @param maxDown longest pause
     * @param maxKillDown longest time a killed instance stays down before its restart (at least 500 ms)
     */
    public FaultInjector(LocalCluster cluster, long seed, Duration minDown, Duration maxDown, Duration maxKillDown) {
        this.cluster = cluster;
        this.random = new Random(seed);
        this.minDownMillis = minDown.toMillis();
        this.maxDownMillis = Math.max(minDownMillis, maxDown.toMillis());
        this.minKillMillis = Math.min(500, maxKillDown.toMillis());
        this.maxKillMillis = Math.max(minKillMillis, maxKillDown.toMillis());
    }

    /** The next fault's target and kind, drawn without injecting it. */
    public Planned plan() {
        List<Role> roles = LocalCluster.ROLES.stream().filter(r -> !cluster.all(r).isEmpty()).toList();
        Role role = roles.get(random.nextInt(roles.size()));
        List<RoleProcess> instances = cluster.all(role);
        RoleProcess target = instances.get(random.nextInt(instances.size()));
        boolean kill = random.nextBoolean();
        long down = kill ? between(minKillMillis, maxKillMillis) : between(minDownMillis, maxDownMillis);
        return new Planned(target, kill ? "kill" : "pause", down);
    }

    private long between(long lo, long hi) {
        return lo + (hi > lo ? (long) (random.nextDouble() * (hi - lo)) : 0);
    }

    /** A fault drawn by {@link #plan()}. */
    public record Planned(RoleProcess target, String kind, long downMillis) {
    }

    /**
     * Injects {@code p}, keeps the target down for its time, then brings it back
     * (restart after a kill, SIGCONT after a pause) and waits until it serves.
     */
    public Fault inject(Planned p) throws InterruptedException {
        RoleProcess t = p.target();
        long start = System.nanoTime();
        if (p.kind().equals("kill")) {
            cluster.expectDown(t, true);
            t.kill();
            Thread.sleep(p.downMillis());
            t.start();
            cluster.expectDown(t, false);
        } else {
            t.pause();
            try {
                Thread.sleep(p.downMillis());
            } finally {
                t.resume();
            }
        }
        return new Fault(p.kind(), t.roleName(), t.name(), p.downMillis(), start);
    }

    /** Brings back anything a fault left down (on an interrupted run). */
    public void heal() {
        for (RoleProcess p : cluster.all()) {
            try {
                if (p.paused()) {
                    p.resume();
                }
            } catch (RuntimeException e) {
                // it died meanwhile; closing the cluster deals with it
            }
        }
    }
}
