package io.chariots.common.testing;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Bounds work by the CPU time of the thread that does it, not by the clock:
 * a test that says "linear, not quadratic" must not fail because the machine
 * is busy with something else (a wall-clock bound on a loaded two-core
 * machine is a coin toss), and must not wait the minutes a quadratic pass
 * takes before it fails.
 */
public final class CpuBound {
    /** Work that returns a value or throws. */
    public interface Work<T> {
        T run() throws Exception;
    }

    private CpuBound() {
    }

    /**
     * Runs {@code work} on a thread of its own and returns what it returned;
     * fails once that thread has used {@code cpuMillis} of CPU time. Work past
     * the bound is left running on a daemon thread (it cannot be interrupted),
     * so a test fails at the bound, not when the work is done.
     */
    public static <T> T within(long cpuMillis, Work<T> work) {
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        assumeTrue(cpu.isThreadCpuTimeSupported(), "thread CPU time is not measurable here");
        if (!cpu.isThreadCpuTimeEnabled()) {
            cpu.setThreadCpuTimeEnabled(true); // disabled, every thread's time reads -1 and no bound could fail
        }
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                outcome.set(new Object[] {work.run()});
            } catch (Throwable e) {
                outcome.set(e);
            }
        }, "cpu-bound");
        t.setDaemon(true);
        t.start();
        long limitNanos = cpuMillis * 1_000_000;
        try {
            while (t.isAlive()) {
                t.join(20);
                long used = cpu.getThreadCpuTime(t.getId()); // -1 once it has ended
                if (t.isAlive() && used > limitNanos) {
                    fail("still running after " + used / 1_000_000 + " ms of CPU time (bound " + cpuMillis + " ms)");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted");
        }
        Object o = outcome.get();
        if (o instanceof Throwable e) {
            throw new AssertionError(e);
        }
        @SuppressWarnings("unchecked")
        T value = (T) ((Object[]) o)[0];
        return value;
    }
}
