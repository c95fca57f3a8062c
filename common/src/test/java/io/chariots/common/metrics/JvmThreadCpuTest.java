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
        assertThat(JvmThreadCpu.kindOf("queue-loop")).isNull();
        assertThat(JvmThreadCpu.kindOf("epollEventLoopG")).isNull();
        assertThat(JvmThreadCpu.kindOf("VM Periodic Tas")).isNull();
    }

    @Test
    void sumsEachKindFromSchedstatOrElseStatAndLeavesOtherThreadsOut() throws IOException {
        thread("101", "C2 CompilerThre", "2000000000 31 7", null);
        thread("102", "C1 CompilerThre", null, stat("102", "C1 CompilerThre", 100, 50)); // 1.5 s in 100 Hz ticks
        thread("103", "GC Thread#0", "700000000 5 5", null);
        thread("104", "VM Thread", "300000000 5 5", null);
        thread("105", "queue-loop", "9000000000 5 5", null);
        JvmThreadCpu cpu = new JvmThreadCpu(tasks);
        assertThat(cpu.seconds(Kind.JIT)).isEqualTo(3.5);
        assertThat(cpu.seconds(Kind.GC)).isEqualTo(1.0);
    }

    @Test
    void aThreadThatExitsKeepsItsTimeSoTheTotalsNeverFall() throws IOException {
        thread("201", "C1 CompilerThre", "1000000000 1 1", null);
        thread("202", "C1 CompilerThre", "500000000 1 1", null);
        JvmThreadCpu cpu = new JvmThreadCpu(tasks);
        assertThat(cpu.totals()[Kind.JIT.ordinal()]).isEqualTo(1_500_000_000L);

        delete(tasks.resolve("202")); // the JVM retired an idle compiler thread
        thread("201", "C1 CompilerThre", "1200000000 1 1", null);
        assertThat(cpu.totals()[Kind.JIT.ordinal()]).isEqualTo(1_700_000_000L);

        delete(tasks.resolve("201"));
        thread("201", "GC Thread#1", "100000000 1 1", null); // its id now names another thread
        long[] t = cpu.totals();
        assertThat(t[Kind.JIT.ordinal()]).isEqualTo(1_700_000_000L);
        assertThat(t[Kind.GC.ordinal()]).isEqualTo(100_000_000L);

        delete(tasks);
        assertThat(cpu.totals()).as("unreadable: what was read stands").containsExactly(1_700_000_000L, 100_000_000L);
        Files.createDirectories(tasks);
    }

    @Test
    void thisJvmHasSpentTimeCompilingAndRoleMetricsExportIt() {
        assumeTrue(Files.isDirectory(Path.of("/proc/self/task")), "no /proc/self/task here (not Linux)");
        long sum = 0;
        for (int i = 0; i < 2_000_000; i++) {
            sum += Long.toString(i).hashCode(); // work enough for the JIT to compile something
        }
        assertThat(sum).isNotZero();
        assertThat(new JvmThreadCpu().seconds(Kind.JIT)).isPositive();
        try (RoleMetrics metrics = new RoleMetrics("test", "t-1")) {
            System.gc(); // the meters must still read what they measure after a collection
            String text = metrics.scrape();
            Matcher jit = Pattern.compile("(?m)^chariots_jvm_thread_cpu_seconds_total\\{[^}]*threads=\"jit\"[^}]*} (\\S+)$").matcher(text);
            assertThat(jit.find()).as(text).isTrue();
            assertThat(Double.parseDouble(jit.group(1))).isPositive();
            assertThat(text).containsPattern("(?m)^chariots_jvm_thread_cpu_seconds_total\\{[^}]*threads=\"gc\"[^}]*} \\S+$");
        }
    }

    private void thread(String tid, String comm, String schedstat, String stat) throws IOException {
        Path t = Files.createDirectories(tasks.resolve(tid));
        Files.writeString(t.resolve("comm"), comm + "\n");
        if (schedstat != null) {
            Files.writeString(t.resolve("schedstat"), schedstat + "\n");
        }
        if (stat != null) {
            Files.writeString(t.resolve("stat"), stat + "\n");
        }
    }

    /** A /proc stat line: the name in parentheses (it may hold spaces), then fields 3 on; utime is field 14, stime 15. */
    private static String stat(String tid, String comm, long utime, long stime) {
        return tid + " (" + comm + ") S 1 1 1 0 -1 4194368 0 0 0 0 " + utime + " " + stime + " 0 0 20 0 1 0 100 0 0";
    }

    private static void delete(Path p) throws IOException {
        try (var s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
