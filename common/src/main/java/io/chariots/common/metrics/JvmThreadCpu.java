package io.chariots.common.metrics;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The CPU time this JVM spends apart from a role's own work: in its JIT
 * compiler threads ({@code C1 CompilerThre}, {@code C2 CompilerThre}) and in
 * its garbage collector and VM operation threads ({@code GC Thread#N},
 * {@code G1 ...}, {@code VM Thread}), read from {@code /proc/self/task} (Linux;
 * elsewhere both stay 0). On a small machine a role can spend a third of its
 * CPU compiling long after it started, which a CPU-per-record figure alone
 * does not tell apart from its work.
 *
 * <p>Each thread's time comes from its {@code schedstat} (nanoseconds on a
 * CPU), or from its {@code stat} (utime + stime, in the kernel's 100 Hz ticks)
 * where that is missing. The totals never decrease: a thread that exits (the
 * JVM retires idle compiler threads) keeps the time last read for it, so what
 * it ran after that read is not counted and the totals are a lower bound of
 * what these threads spent. Thread-safe.
 */
public final class JvmThreadCpu {
    /** What a JVM thread does, by its name. */
    public enum Kind {
        /** A JIT compiler thread. */
        JIT,
        /** A garbage collector thread, or the VM thread that runs collections and other safepoint operations. */
        GC
    }

    private static final long NANOS_PER_TICK = 10_000_000L; // USER_HZ is 100 on Linux

    private final Path tasks;
    private final Map<String, long[]> lastByThread = new HashMap<>(); // tid -> {kind ordinal, ns}
    private final long[] retired = new long[Kind.values().length];
    private long[] cached;
    private long cachedAt;

    /** Reads this process's threads. */
    public JvmThreadCpu() {
        this(Path.of("/proc/self/task"));
    }

    /** Reads the threads under {@code tasks} (a {@code /proc/PID/task} directory). */
    JvmThreadCpu(Path tasks) {
        this.tasks = tasks;
    }

    /** The kind of a thread named {@code comm} (as the kernel keeps it, 15 characters at most), or null for any other. */
    static Kind kindOf(String comm) {
        if (comm.startsWith("C1 CompilerThre") || comm.startsWith("C2 CompilerThre")) {
            return Kind.JIT;
        }
        if (comm.startsWith("GC Thread#") || comm.startsWith("G1 ") || comm.equals("VM Thread")) {
            return Kind.GC;
        }
        return null;
    }

    /**
     * CPU seconds spent so far by threads of {@code kind} (0 where {@code /proc}
     * cannot be read). Reads at most every 100 ms: one scrape asks for each kind.
     */
    public synchronized double seconds(Kind kind) {
        long now = System.nanoTime();
        if (cached == null || now - cachedAt > 100_000_000L) {
            cached = totals();
            cachedAt = now;
        }
        return cached[kind.ordinal()] / 1e9;
    }

    /** Nanoseconds by kind: the retired threads' plus the live ones' as read now. */
    synchronized long[] totals() {
        Map<String, long[]> live = new HashMap<>();
        try (DirectoryStream<Path> threads = Files.newDirectoryStream(tasks)) {
            for (Path t : threads) {
                Kind kind = kindOf(t);
                long ns = kind == null ? -1 : cpuNanos(t);
                if (ns >= 0) {
                    live.put(t.getFileName().toString(), new long[] {kind.ordinal(), ns});
                }
            }
        } catch (IOException | RuntimeException e) {
            live = lastByThread; // unreadable now: keep what was read
        }
        for (Map.Entry<String, long[]> e : lastByThread.entrySet()) {
            long[] now = live.get(e.getKey());
            if (now == null || now[0] != e.getValue()[0] || now[1] < e.getValue()[1]) {
                retired[(int) e.getValue()[0]] += e.getValue()[1]; // exited (or its id now names another thread)
            }
        }
        if (live != lastByThread) {
            lastByThread.clear();
            lastByThread.putAll(live);
        }
        long[] out = retired.clone();
        for (long[] v : lastByThread.values()) {
            out[(int) v[0]] += v[1];
        }
        return out;
    }

    /** The kind of {@code thread}, or null for any other or one that exited. */
    private static Kind kindOf(Path thread) {
        try {
            return kindOf(read(thread.resolve("comm")));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** The thread's CPU nanoseconds, or -1 if it exited while being read. */
    private static long cpuNanos(Path thread) {
        try {
            String sched = read(thread.resolve("schedstat"));
            return Long.parseLong(sched.substring(0, sched.indexOf(' ')));
        } catch (IOException | RuntimeException e) {
            try {
                String stat = read(thread.resolve("stat"));
                // Fields after the parenthesised name, which may hold spaces: state is field 3, utime 14, stime 15.
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * NANOS_PER_TICK;
            } catch (IOException | RuntimeException e2) {
                return -1;
            }
        }
    }

    private static String read(Path p) throws IOException {
        return Files.readString(p).trim();
    }
}
