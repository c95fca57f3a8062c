package io.chariots.common.metrics;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The CPU time a role spends apart from handling what it is sent now: in its
 * JVM's JIT compiler threads ({@code C1 CompilerThre}, {@code C2 CompilerThre}),
 * in its garbage collector and VM operation threads ({@code GC Thread#N},
 * {@code G1 ...}, {@code VM Thread}) and in RocksDB's background threads
 * ({@code rocksdb:low}, {@code rocksdb:high}, {@code rocksdb:bottom}: flushes
 * and compactions, work that a write leaves for later), read from
 * {@code /proc/self/task} (Linux only: {@link RoleMetrics} exports it only
 * where that can be read). On a small machine a role can spend a third of its
 * CPU compiling long after it started, and an indexer's compactions of what
 * one minute wrote can run in the next, which a CPU-per-record figure alone
 * does not tell apart from its work.
 *
 * <p>Each thread's time comes from its {@code schedstat} (nanoseconds on a
 * CPU) where the kernel keeps it, else from its {@code stat} (utime + stime,
 * in the kernel's 100 Hz ticks): one source for all threads, chosen once. A
 * thread is known by its id and start time, so an id the kernel gives to a
 * new thread is a new thread. The totals never decrease: a thread that exits
 * (the JVM retires idle compiler threads) keeps the time last read for it, so
 * what it ran after that read is not counted and the totals are a lower
 * bound. Thread-safe.
 */
final class JvmThreadCpu {
    /** What a thread of this process does, by its name (RocksDB's are native threads, not the JVM's). */
    enum Kind {
        /** A JIT compiler thread. */
        JIT,
        /** A garbage collector thread, or the VM thread that runs collections and other safepoint operations. */
        GC,
        /** A thread of RocksDB's background pools: its flushes and compactions. */
        ROCKSDB
    }

    /** A thread of a kind, and the CPU it had spent when last read. */
    private record Seen(Kind kind, long nanos) {
    }

    private static final long NANOS_PER_TICK = 10_000_000L; // USER_HZ is 100 on Linux
    /** Long enough for one scrape to read every kind from one walk, short against any interval a bench measures. */
    private static final long REUSE_NANOS = 10_000_000L;

    private final Path tasks;
    private final boolean schedstat;
    private final Map<String, Seen> lastByThread = new HashMap<>(); // "tid/start time" -> last reading
    private final long[] retired = new long[Kind.values().length];
    private long[] cached;
    private long cachedAt;

    /** Reads this process's threads. */
    JvmThreadCpu() {
        this(Path.of("/proc/self/task"), keepsSchedstat(Path.of("/proc/self/schedstat")));
    }

    /** Reads the threads under {@code tasks} (a {@code /proc/PID/task} directory), from {@code schedstat} or else {@code stat}. */
    JvmThreadCpu(Path tasks, boolean schedstat) {
        this.tasks = tasks;
        this.schedstat = schedstat;
    }

    /** Whether this is a Linux {@code /proc} whose threads can be read. */
    static boolean readable() {
        return Files.isReadable(Path.of("/proc/self/task"));
    }

    /**
     * Whether the kernel keeps time on a CPU in {@code schedstat}: a process
     * that is running has spent some, and without scheduler statistics the
     * file reads all zeros.
     */
    static boolean keepsSchedstat(Path processSchedstat) {
        try {
            return firstNumber(read(processSchedstat)) > 0;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The kind of a thread named {@code comm} (as the kernel keeps it, 15 characters at most), or null for any other. */
    static Kind kindOf(String comm) {
        if (comm.startsWith("C1 CompilerThre") || comm.startsWith("C2 CompilerThre")) {
            return Kind.JIT;
        }
        if (comm.startsWith("GC Thread#") || comm.startsWith("G1 ") || comm.equals("VM Thread")) {
            return Kind.GC;
        }
        if (comm.startsWith("rocksdb:")) { // RocksDB's thread pool names its threads by priority
            return Kind.ROCKSDB;
        }
        return null;
    }

    /** CPU seconds spent so far by threads of {@code kind}. One walk of the threads serves the reads of about 10 ms. */
    synchronized double seconds(Kind kind) {
        long now = System.nanoTime();
        if (cached == null || now - cachedAt > REUSE_NANOS) {
            cached = totals();
            cachedAt = now;
        }
        return cached[kind.ordinal()] / 1e9;
    }

    /** Nanoseconds by kind: the retired threads' plus the live ones' as read now. */
    synchronized long[] totals() {
        Map<String, Seen> live = new HashMap<>();
        try (DirectoryStream<Path> threads = Files.newDirectoryStream(tasks)) {
            for (Path t : threads) {
                read(t, live);
            }
        } catch (IOException | RuntimeException e) {
            live = lastByThread; // unreadable now: keep what was read
        }
        for (Map.Entry<String, Seen> e : lastByThread.entrySet()) {
            if (!live.containsKey(e.getKey())) {
                retired[e.getValue().kind().ordinal()] += e.getValue().nanos();
            }
        }
        if (live != lastByThread) {
            lastByThread.clear();
            lastByThread.putAll(live);
        }
        long[] out = retired.clone();
        for (Seen s : lastByThread.values()) {
            out[s.kind().ordinal()] += s.nanos();
        }
        return out;
    }

    /**
     * Adds {@code thread} to {@code live} if it is of a kind. One that cannot
     * be read now but still exists keeps its last reading, so that it is not
     * retired now and counted again when it reads again.
     */
    private void read(Path thread, Map<String, Seen> live) {
        String tid = thread.getFileName().toString();
        try {
            Kind kind = kindOf(read(thread.resolve("comm")));
            if (kind == null) {
                return;
            }
            String stat = read(thread.resolve("stat"));
            // Fields after the parenthesised name, which may hold spaces: state is field 3, utime 14, stime 15, start time 22.
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long nanos = schedstat ? firstNumber(read(thread.resolve("schedstat")))
                    : (Long.parseLong(f[11]) + Long.parseLong(f[12])) * NANOS_PER_TICK;
            live.put(tid + "/" + f[19], new Seen(kind, nanos));
        } catch (IOException | RuntimeException e) {
            if (Files.isDirectory(thread)) {
                lastByThread.forEach((key, last) -> {
                    if (key.startsWith(tid + "/")) {
                        live.put(key, last);
                    }
                });
            }
        }
    }

    private static long firstNumber(String s) {
        int space = s.indexOf(' ');
        return Long.parseLong(space < 0 ? s : s.substring(0, space));
    }

    private static String read(Path p) throws IOException {
        return Files.readString(p).trim();
    }
}
