package io.chariots.launcher;

import io.chariots.queue.RecentIdsBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * A queue's filter of recent ids alone, in this process: what asking about a new id and adding one cost,
 * as its segments fill. A queue asks about every record's id in every live segment; one that has taken
 * ids for ten minutes has all eleven live (a segment starts a minute after the last, or once full), so
 * short benches of a fresh cluster see less of this cost than a queue that has run for a while.
 */
@Command(name = "bench-ids", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Measure a queue's filter of recent ids alone: ns to ask about a new id and to add one, as its segments fill.")
final class IdsBenchCommand implements Callable<Integer> {
    @Option(names = "--filter-mb", defaultValue = "64", description = "The filter's memory, as queue.dedup_filter_mb (default ${DEFAULT-VALUE}).")
    long filterMb;

    @Option(names = "--segments", split = ",", defaultValue = "1,3,6,11", description = "Segments live when timed, each 1 to " + RecentIdsBench.MAX_SEGMENTS + " (default ${DEFAULT-VALUE}).")
    int[] segments;

    @Option(names = "--asks", defaultValue = "2000000", description = "Ids never seen asked about in each round (default ${DEFAULT-VALUE}).")
    int asks;

    @Option(names = "--rounds", defaultValue = "3", description = "Rounds of each segment count, each with a new filter (default ${DEFAULT-VALUE}).")
    int rounds;

    @Override
    public Integer call() {
        if (filterMb < 1 || filterMb > 4096 || asks < 1000 || rounds < 1) {
            System.err.println("bench-ids: --filter-mb must be 1..4096, --asks at least 1000, --rounds at least 1");
            return 2;
        }
        for (int s : segments) {
            if (s < 1 || s > RecentIdsBench.MAX_SEGMENTS) {
                System.err.println("bench-ids: --segments must each be 1 to " + RecentIdsBench.MAX_SEGMENTS + ", not " + s);
                return 2;
            }
        }
        long bytes = filterMb << 20;
        int most = java.util.Arrays.stream(segments).max().orElse(1);
        long needed = most * RecentIdsBench.segmentBytes(bytes);
        if (needed > Runtime.getRuntime().maxMemory() * 8 / 10) {
            System.err.printf(Locale.ROOT, "bench-ids: %d segments of a %d MiB filter need %d MiB of heap, more than this JVM's %d MiB"
                    + " allows; give it more (CHARIOTS_LAUNCHER_OPTS=-Xmx...) or a smaller --filter-mb%n",
                    most, filterMb, needed >> 20, Runtime.getRuntime().maxMemory() >> 20);
            return 2;
        }
        System.out.printf(Locale.ROOT, "bench-ids: a filter of %d MiB, %,d ids a segment; %,d new ids asked about a round%n",
                filterMb, RecentIdsBench.segmentCapacity(bytes), asks);
        for (int s : segments) {
            for (int r = 0; r < rounds; r++) {
                RecentIdsBench.Round round = RecentIdsBench.run(bytes, s, asks, 42 + r);
                System.out.printf(Locale.ROOT, "  %2d segments  ask %6.0f ns a new id (%.2f%% answered maybe)  add %6.0f ns an id%n",
                        s, round.askNanos(), 100 * round.falsePositiveShare(), round.addNanos());
            }
        }
        return 0;
    }
}
