package io.chariots.launcher.chaos;

import java.nio.file.Path;
import java.time.Duration;

/** What a chaos run does; every setting has a default. */
public final class ChaosOptions {
    int faults = 10;
    long seed = 1;
    Duration minDown = Duration.ofSeconds(5);
    Duration maxDown = Duration.ofSeconds(30);
    Duration maxKillDown = Duration.ofSeconds(3);
    Duration warmup = Duration.ofSeconds(5);
    Duration settleTimeout = Duration.ofSeconds(90);
    Duration quiet = Duration.ofSeconds(2);
    Duration drain = Duration.ofSeconds(60);
    int httpLanes = 3;
    int tcpLanes = 3;
    double rate;
    Path outDir;

    /** Faults to inject, one at a time. */
    public ChaosOptions faults(int n) {
        this.faults = n;
        return this;
    }

    /** Seeds the choice of faults (and the load's records): the same seed injects the same faults. */
    public ChaosOptions seed(long s) {
        this.seed = s;
        return this;
    }

    /** Shortest and longest pause (SIGSTOP to SIGCONT). */
    public ChaosOptions down(Duration min, Duration max) {
        this.minDown = min;
        this.maxDown = max;
        return this;
    }

    /** Longest time a killed instance stays down before it is restarted. */
    public ChaosOptions maxKillDown(Duration d) {
        this.maxKillDown = d;
        return this;
    }

    /** How long after a fault appends may take to flow again before the run counts a stall that does not end. */
    public ChaosOptions settleTimeout(Duration d) {
        this.settleTimeout = d;
        return this;
    }

    /** How long acknowledgements must keep flowing before the next fault. */
    public ChaosOptions quiet(Duration d) {
        this.quiet = d;
        return this;
    }

    /** Load lanes: HTTP {@code wait=true} through the app, and acknowledged raw TCP to the batchers. */
    public ChaosOptions lanes(int http, int tcp) {
        this.httpLanes = http;
        this.tcpLanes = tcp;
        return this;
    }

    /**
     * New records per second the lanes offer together; 0 (the default): each lane sends as soon as its last
     * send was answered, which keeps a small machine's CPU full (restarts then take longer).
     */
    public ChaosOptions rate(double recordsPerSecond) {
        this.rate = recordsPerSecond;
        return this;
    }

    /** Where the cluster's logs and data and the report go. */
    public ChaosOptions outDir(Path dir) {
        this.outDir = dir;
        return this;
    }

    public int faults() {
        return faults;
    }

    public long seed() {
        return seed;
    }

    public Path outDir() {
        return outDir;
    }
}
