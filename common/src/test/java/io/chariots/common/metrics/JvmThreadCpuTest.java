package io.chariots.common.metrics;

import io.chariots.common.metrics.JvmThreadCpu.Kind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class JvmThreadCpuTest {
    @TempDir
    Path tasks;

    @Test
    void threadsAreToldApartByTheNamesTheJvmGivesThem() {
        assertThat(JvmThreadCpu.kindOf("C1 CompilerThre")).isEqualTo(Kind.JIT);
        assertThat(JvmThreadCpu.kindOf("C2 CompilerThre")).isEqualTo(Kind.JIT);
        assertThat(JvmThreadCpu.kindOf("GC Thread#0")).isEqualTo(Kind.GC);
        assertThat(JvmThreadCpu.kindOf("G1 Conc#0")).isEqualTo(Kind.GC);
        assertThat(JvmThreadCpu.kindOf("VM Thread")).isEqualTo(Kind.GC);
        assertThat(JvmThreadCpu.kindOf("rocksdb:low")).isEqualTo(Kind.ROCKSDB);
        assertThat(JvmThreadCpu.kindOf("rocksdb:high")).isEqualTo(Kind.ROCKSDB);
        assertThat(JvmThreadCpu.kindOf("rocksdb:bottom")).isEqualTo(Kind.ROCKSDB);
        assertThat(JvmThreadCpu.kindOf("maintainer-read")).isNull();
        assertThat(JvmThreadCpu.kindOf("queue-loop")).isNull();
        assertThat(JvmThreadCpu.kindOf("epollEventLoopG")).isNull();
        assertThat(JvmThreadCpu.kindOf("VM Periodic Tas")).isNull();
    }

    @Test
    void schedstatIsReadOnlyWhereTheKernelKeepsIt() throws IOException {
        Path kept = Files.writeString(tasks.resolve("kept"), "81234567 1200 45\n");
        Path off = Files.writeString(tasks.resolve("off"), "0 0 0\n"); // a kernel without scheduler statistics
        assertThat(JvmThreadCpu.keepsSchedstat(kept)).isTrue();
        assertThat(JvmThreadCpu.keepsSchedstat(off)).isFalse();
        assertThat(JvmThreadCpu.keepsSchedstat(tasks.resolve("missing"))).isFalse();
    }

    @Test
    void sumsEachKindFromSchedstatAndLeavesOtherThreadsOut() throws IOException {
        thread("101", "C2 CompilerThre", 7, 2_000_000_000L, 0);
        thread("102", "C1 CompilerThre", 7, 1_500_000_000L, 0);
        thread("103", "GC Thread#0", 7, 700_000_000L, 0);
        thread("104", "VM Thread", 7, 300_000_000L, 0);
        thread("105", "queue-loop", 7, 9_000_000_000L, 0);
        thread("106", "rocksdb:low", 7, 4_000_000_000L, 0);
        thread("107", "rocksdb:high", 7, 250_000_000L, 0);
        JvmThreadCpu cpu = new JvmThreadCpu(tasks, true);
        assertThat(cpu.seconds(Kind.JIT)).isEqualTo(3.5);
        assertThat(cpu.seconds(Kind.GC)).isEqualTo(1.0);
        assertThat(cpu.seconds(Kind.ROCKSDB)).isEqualTo(4.25);
    }

    @Test
    void withoutSchedstatTheTicksOfStatCount() throws IOException {
        thread("111", "C1 CompilerThre", 7, 0, 150); // schedstat all zeros; 150 ticks of 10 ms in stat
        thread("112", "GC Thread#0", 7, 0, 20);
        JvmThreadCpu cpu = new JvmThreadCpu(tasks, false);
        assertThat(cpu.seconds(Kind.JIT)).isEqualTo(1.5);
        assertThat(cpu.seconds(Kind.GC)).isEqualTo(0.2);
    }

    @Test
    void aThreadThatExitsKeepsItsTimeSoTheTotalsNeverFall() throws IOException {
        thread("201", "C1 CompilerThre", 7, 1_000_000_000L, 0);
        thread("202", "C1 CompilerThre", 7, 500_000_000L, 0);
        JvmThreadCpu cpu = new JvmThreadCpu(tasks, true);
        assertThat(cpu.totals()[Kind.JIT.ordinal()]).isEqualTo(1_500_000_000L);

        delete(tasks.resolve("202")); // the JVM retired an idle compiler thread
        thread("201", "C1 CompilerThre", 7, 1_200_000_000L, 0);
        assertThat(cpu.totals()[Kind.JIT.ordinal()]).isEqualTo(1_700_000_000L);

        delete(tasks.resolve("201"));
        thread("201", "C1 CompilerThre", 9, 1_300_000_000L, 0); // the id again, for a new thread of the same kind
        assertThat(cpu.totals()[Kind.JIT.ordinal()]).isEqualTo(1_200_000_000L + 500_000_000L + 1_300_000_000L);

        delete(tasks.resolve("201"));
        thread("201", "GC Thread#1", 11, 100_000_000L, 0); // and for one of another kind
        long[] t = cpu.totals();
        assertThat(t[Kind.JIT.ordinal()]).isEqualTo(3_000_000_000L);
        assertThat(t[Kind.GC.ordinal()]).isEqualTo(100_000_000L);

        Files.delete(tasks.resolve("201").resolve("schedstat")); // unreadable for a moment, still there
        assertThat(cpu.totals()).containsExactly(3_000_000_000L, 100_000_000L, 0L);
        Files.writeString(tasks.resolve("201").resolve("schedstat"), "150000000 1 1\n");
        assertThat(cpu.totals()).as("counted once, not again").containsExactly(3_000_000_000L, 150_000_000L, 0L);

        delete(tasks);
        assertThat(cpu.totals()).as("unreadable: what was read stands").containsExactly(3_000_000_000L, 150_000_000L, 0L);
        Files.createDirectories(tasks);
    }

    @Test
    void thisJvmHasSpentTimeCompilingAndRoleMetricsExportIt() {
        assumeTrue(JvmThreadCpu.readable(), "no /proc/self/task here (not Linux)");
        long sum = 0;
        for (int i = 0; i < 2_000_000; i++) {
            sum += Long.toString(i).hashCode(); // work enough for the JIT to compile something
        }
        assertThat(sum).isNotZero();
        assertThat(new JvmThreadCpu().seconds(Kind.JIT)).isPositive();
        try (RoleMetrics metrics = new RoleMetrics("test", "t-1")) {
            System.gc(); // the meters must still read what they measure after a collection
            String text = metrics.scrape();
            assertThat(exported(text, "jit")).isPositive();
            assertThat(exported(text, "gc")).isNotNegative();
        }
    }

    /**
     * RocksDB's flushes and compactions run on its own threads, not the
     * writer's: an index's deferred work. After a flush and a compaction of
     * this process's own RocksDB, they have spent CPU, and the metric says so.
     */
    @Test
    void rocksDbsFlushesAndCompactionsAreCountedApart(@TempDir Path db) throws Exception {
        assumeTrue(JvmThreadCpu.readable(), "no /proc/self/task here (not Linux)");
        io.chariots.common.store.RocksLibrary.load();
        double before = new JvmThreadCpu().seconds(Kind.ROCKSDB);
        try (org.rocksdb.Options o = new org.rocksdb.Options().setCreateIfMissing(true);
             org.rocksdb.RocksDB rocks = org.rocksdb.RocksDB.open(o, db.toString());
             org.rocksdb.WriteOptions w = new org.rocksdb.WriteOptions().setDisableWAL(true);
             org.rocksdb.FlushOptions f = new org.rocksdb.FlushOptions().setWaitForFlush(true)) {
            java.util.Random random = new java.util.Random(7);
            byte[] value = new byte[100];
            for (int round = 0; round < 3; round++) { // three files, then one: a compaction reads and writes them all
                for (int i = 0; i < 100_000; i++) {
                    random.nextBytes(value);
                    rocks.put(w, Long.toString(random.nextLong()).getBytes(java.nio.charset.StandardCharsets.UTF_8), value);
                }
                rocks.flush(f);
            }
            rocks.compactRange();
            assumeTrue(threadNamed("rocksdb:"), "RocksDB's threads keep their creator's name here (a C library that cannot name them)");
        }
        double after = new JvmThreadCpu().seconds(Kind.ROCKSDB);
        assertThat(after).as("CPU of RocksDB's flush and compaction threads").isGreaterThan(before);
        try (RoleMetrics metrics = new RoleMetrics("test", "t-2")) {
            assertThat(exported(metrics.scrape(), "rocksdb")).isGreaterThanOrEqualTo(after - before);
        }
    }

    /** The value of {@code chariots_jvm_thread_cpu_seconds_total} for {@code threads} in a scrape; fails if it is not there. */
    private static double exported(String scrape, String threads) {
        Matcher m = Pattern.compile("(?m)^chariots_jvm_thread_cpu_seconds_total\\{[^}]*threads=\"" + threads + "\"[^}]*} (\\S+)$").matcher(scrape);
        assertThat(m.find()).as("threads=%s in %s", threads, scrape).isTrue();
        return Double.parseDouble(m.group(1));
    }

    /** Whether a thread of this process has a name starting with {@code prefix}. */
    private static boolean threadNamed(String prefix) throws IOException {
        try (var threads = Files.list(Path.of("/proc/self/task"))) {
            return threads.anyMatch(t -> {
                try {
                    return Files.readString(t.resolve("comm")).startsWith(prefix);
                } catch (IOException e) {
                    return false; // exited meanwhile
                }
            });
        }
    }

    /** A task directory: its name, its start time (field 22 of stat), its schedstat nanoseconds and its stat ticks (utime). */
    private void thread(String tid, String comm, long start, long schedNanos, long ticks) throws IOException {
        Path t = Files.createDirectories(tasks.resolve(tid));
        Files.writeString(t.resolve("comm"), comm + "\n");
        Files.writeString(t.resolve("schedstat"), schedNanos + " 31 7\n");
        // The name in parentheses (it may hold spaces), then fields 3 on: utime is field 14, stime 15, start time 22.
        Files.writeString(t.resolve("stat"), tid + " (" + comm + ") S 1 1 1 0 -1 4194368 0 0 0 0 " + ticks + " 0 0 0 20 0 1 0 "
                + start + " 0 0\n");
    }

    private static void delete(Path p) throws IOException {
        try (var s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
