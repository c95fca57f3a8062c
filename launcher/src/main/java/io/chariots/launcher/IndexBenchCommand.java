package io.chariots.launcher;

import io.chariots.common.record.Fnv1a64;
import io.chariots.indexer.TagIndex;
import io.chariots.proto.CauseKey;
import io.chariots.proto.IndexBatch;
import io.chariots.proto.IndexEntry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.stream.LongStream;
import java.util.stream.Stream;

/**
 * The indexer's store alone, in this process: writes index entries in the mix
 * of {@code ./chariots bench}'s records (90% with a tag shared by one record in
 * a thousand and a unique one, 10% in chains of three) in group commits as the
 * indexer's writer does, then times the lookups the roles make. CPU is this
 * process's: RocksDB's flush and compaction threads, and the building of the
 * entries (protobuf, hashing: a fraction of a microsecond a record), included. It
 * shows what the index costs a record as it grows and how lookups fare in a
 * large one, without a cluster's noise. Every lookup's answer is checked.
 */
@Command(name = "bench-index", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Measure the indexer's store alone: CPU per record written as the index grows, then lookup latencies.")
final class IndexBenchCommand implements Callable<Integer> {
    private static final int ENTRIES_PER_BATCH = 500;
    private static final long CHAIN_TAG = Fnv1a64.hashTag("step", "s0");

    @Option(names = {"-n", "--records"}, defaultValue = "10000000", description = "Records to index (default ${DEFAULT-VALUE}).")
    long records;

    @Option(names = "--group", defaultValue = "2000", description = "Entries per write, as the writer's group commit gathers them at full speed (default ${DEFAULT-VALUE}).")
    int group;

    @Option(names = "--lookups", defaultValue = "20000", description = "Lookups of each kind timed after writing (default ${DEFAULT-VALUE}).")
    int lookups;

    @Option(names = "--write-buffer-mb", description = "Memtable size in MiB, shared evenly by the index's two column families (default: the indexer's, " + (TagIndex.DEFAULT_WRITE_BUFFER_BYTES >> 20) + ").")
    Long writeBufferMb;

    @Option(names = "--block-cache-mb", description = "Block cache in MiB, where lookups find index, filter and data blocks (default: the indexer's, " + (TagIndex.DEFAULT_BLOCK_CACHE_BYTES >> 20) + ").")
    Long blockCacheMb;

    @Option(names = "--dir", description = "An empty or new directory to build the index in, kept afterwards (default: a temporary directory under java.io.tmpdir, deleted; 12M records take about 1.3 GB).")
    Path dir;

    @Option(names = "--quiet-ms", defaultValue = "3000", hidden = true, description = "How long RocksDB must rest before the lookups (tests shorten it).")
    long quietMs;

    @Override
    public Integer call() throws Exception {
        if (records < 30 || group < 1 || lookups < 100 || lookups % 100 != 0) {
            System.err.println("bench-index: --records must be at least 30, --group at least 1, --lookups a multiple of 100");
            return 2;
        }
        if (writeBufferMb != null && (writeBufferMb < 1 || writeBufferMb > 4096)) {
            System.err.println("bench-index: --write-buffer-mb must be 1..4096, got " + writeBufferMb);
            return 2;
        }
        if (blockCacheMb != null && (blockCacheMb < 1 || blockCacheMb > 65_536)) {
            System.err.println("bench-index: --block-cache-mb must be 1..65536, got " + blockCacheMb);
            return 2;
        }
        if (dir != null && Files.isDirectory(dir)) {
            try (Stream<Path> files = Files.list(dir)) {
                if (files.findAny().isPresent()) {
                    System.err.println("bench-index: " + dir + " is not empty: give a new or empty --dir (indexing again measures something else)");
                    return 2;
                }
            }
        }
        boolean temporary = dir == null;
        Path where = temporary ? Files.createTempDirectory("chariots-bench-index-") : dir;
        long writeBuffer = writeBufferMb == null ? TagIndex.DEFAULT_WRITE_BUFFER_BYTES : writeBufferMb << 20;
        long blockCache = blockCacheMb == null ? TagIndex.DEFAULT_BLOCK_CACHE_BYTES : blockCacheMb << 20;
        System.out.printf(Locale.ROOT, "bench-index: %,d records, %,d entries per write, %d MiB memtable, %d MiB block cache, in %s%n",
                records, group, writeBuffer >> 20, blockCache >> 20, where);
        try (TagIndex index = TagIndex.open(where, blockCache, writeBuffer)) {
            write(index);
            return lookups(index) ? 0 : 1;
        } finally {
            if (temporary) {
                try (Stream<Path> files = Files.walk(where)) {
                    files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }
    }

    private void write(TagIndex index) throws InterruptedException {
        SplittableRandom random = new SplittableRandom(1);
        double cpu0 = BenchCommand.ownCpuSeconds();
        double markCpu = cpu0;
        long markTime = System.nanoTime();
        long step = Math.max(records / 10, 1);
        long markLid = 0;
        long lid = 0;
        while (lid < records) {
            List<IndexBatch> batches = new ArrayList<>();
            IndexBatch.Builder b = IndexBatch.newBuilder();
            for (int i = 0; i < group && lid < records; i++) {
                b.addEntries(entry(++lid, random));
                if (b.getEntriesCount() == ENTRIES_PER_BATCH) {
                    batches.add(b.build());
                    b = IndexBatch.newBuilder();
                }
            }
            if (b.getEntriesCount() > 0) {
                batches.add(b.build());
            }
            index.index(batches);
            if (lid - markLid >= step || lid == records) {
                double cpu = BenchCommand.ownCpuSeconds();
                long now = System.nanoTime();
                long n = lid - markLid;
                System.out.printf(Locale.ROOT, "  %,12d indexed  %6.2f µs CPU/record  %,9.0f records/s%n", lid, (cpu - markCpu) * 1e6 / n, n * 1e9 / (now - markTime));
                markLid = lid;
                markCpu = cpu;
                markTime = now;
            }
        }
        double written = BenchCommand.ownCpuSeconds();
        long t = System.nanoTime();
        long quietSince = t;
        while (System.nanoTime() - quietSince < quietMs * 1_000_000) {
            Thread.sleep(Math.min(100, quietMs)); // until flushes and compactions have rested: they are part of what a record costs
            if (index.backgroundWorkRunning()) {
                quietSince = System.nanoTime();
            }
        }
        double all = BenchCommand.ownCpuSeconds();
        System.out.printf(Locale.ROOT, "  write       %.2f µs CPU/record while writing; %.2f including the flushes and compactions that ran after (%.1f s)%n",
                (written - cpu0) * 1e6 / records, (all - cpu0) * 1e6 / records, (quietSince - t) / 1e9);
        TagIndex.BackgroundWork work = index.backgroundWork();
        System.out.printf(Locale.ROOT, "  rocksdb     %,d flushes and compactions: %.2f s of CPU (%.2f µs a record), write amplification %.1f%n",
                work.jobs(), work.cpuSeconds(), work.cpuSeconds() * 1e6 / records, work.writeAmplification());
    }

    /**
     * Record {@code lid}'s entry: LIds 1, 11 and 21 of every 30 are a chain of
     * three (step s0, s1, s2); the others carry user {@code lid % 1000} (so
     * users whose number ends in 1 have none) and a tag of their own.
     */
    private static IndexEntry entry(long lid, SplittableRandom random) {
        IndexEntry.Builder e = IndexEntry.newBuilder().setLid(lid).setId(id(lid));
        long pos = (lid - 1) % 30;
        if (pos % 10 == 0) {
            e.setSeed(chainSeed((lid - 1) / 30)).addTagHash(Fnv1a64.hashTag("step", "s" + pos / 10));
        } else {
            e.setSeed(random.nextLong()).addTagHash(Fnv1a64.hashTag("user", "u" + lid % 1000)).addTagHash(Fnv1a64.hashTag("event", "e" + lid));
        }
        return e.build();
    }

    private static String id(long lid) {
        return "bench-index-" + lid;
    }

    private static long chainSeed(long chain) {
        return Fnv1a64.hash(("chain-" + chain).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Times each kind of lookup, causes and ids 100 at a time as the roles ask; false if an answer is wrong. */
    private boolean lookups(TagIndex index) {
        SplittableRandom random = new SplittableRandom(2);
        long chains = records / 30;
        List<String> wrong = new ArrayList<>();
        long t = System.nanoTime();
        for (int i = 0; i < lookups; i += 100) {
            List<CauseKey> keys = new ArrayList<>();
            long[] want = new long[100];
            for (int k = 0; k < 100; k++) {
                long chain = random.nextLong(chains);
                keys.add(CauseKey.newBuilder().setHash(CHAIN_TAG).setSeed(chainSeed(chain)).build());
                want[k] = chain * 30 + 1;
            }
            long[] got = index.exists(keys);
            for (int k = 0; k < 100; k++) {
                if (got[k] != want[k]) {
                    wrong.add("cause " + keys.get(k) + " found at " + got[k] + ", expected " + want[k]);
                }
            }
        }
        report("cause found", t, lookups, "key");
        t = System.nanoTime();
        for (int i = 0; i < lookups; i += 100) {
            List<CauseKey> keys = new ArrayList<>();
            for (int k = 0; k < 100; k++) {
                keys.add(CauseKey.newBuilder().setHash(random.nextLong()).setSeed(random.nextLong()).build());
            }
            for (long got : index.exists(keys)) {
                if (got != 0) {
                    wrong.add("a random cause was found at " + got);
                }
            }
        }
        report("cause absent", t, lookups, "key");
        t = System.nanoTime();
        for (int i = 0; i < lookups; i += 100) {
            List<String> ids = new ArrayList<>();
            for (int k = 0; k < 100; k++) {
                ids.add(id(1 + random.nextLong(records)));
            }
            index.idStatuses(ids).forEach(s -> {
                if (!s.getId().equals(id(s.getLid()))) {
                    wrong.add("id " + s.getId() + " found at " + s.getLid());
                }
            });
        }
        report("id status", t, lookups, "id");
        t = System.nanoTime();
        for (int i = 0; i < lookups; i++) {
            long user = random.nextLong(1000);
            if (user % 10 == 1) {
                user--; // a user with records
            }
            long after = random.nextLong(records);
            long[] want = LongStream.iterate(after + 1 + Math.floorMod(user - after - 1, 1000L), l -> l <= records, l -> l + 1000)
                    .limit(100).toArray();
            long[] got = index.lidsByTag(Fnv1a64.hashTag("user", "u" + user), after, 100);
            if (!Arrays.equals(got, want)) {
                wrong.add("tag u" + user + " after " + after + " gave " + Arrays.toString(got) + ", expected " + Arrays.toString(want));
            }
        }
        report("tag scan", t, lookups, "scan of up to 100 LIds");
        t = System.nanoTime();
        for (int i = 0; i < lookups; i++) {
            long chain = random.nextLong(chains);
            long[] got = index.lidsBySeed(chainSeed(chain), 0, 100);
            if (!Arrays.equals(got, new long[] {chain * 30 + 1, chain * 30 + 11, chain * 30 + 21})) {
                wrong.add("chain " + chain + " gave " + Arrays.toString(got));
            }
        }
        report("chain scan", t, lookups, "scan");
        if (!wrong.isEmpty()) {
            System.err.printf("bench-index: %d wrong answers, the first: %s%n", wrong.size(), wrong.get(0));
            return false;
        }
        return true;
    }

    private static void report(String what, long since, int n, String per) {
        System.out.printf(Locale.ROOT, "  %-12s %7.2f µs a %s (%,d)%n", what, (System.nanoTime() - since) / 1e3 / n, per, n);
    }
}
