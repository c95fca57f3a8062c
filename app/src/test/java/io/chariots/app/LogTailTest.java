package io.chariots.app;

import io.chariots.common.read.LogReader;
import io.chariots.common.read.UnavailableLids;
import io.chariots.proto.RecordEnvelope;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link LogTail} over a simulated log that grows out of order (records land
 * at their maintainers in any order, some reads fail): every subscriber sees
 * exactly 1..N in order, whatever its pace.
 */
class LogTailTest {
    final ScheduledExecutorService timer = Executors.newScheduledThreadPool(2);

    @AfterEach
    void stop() {
        timer.shutdownNow();
    }

    /** LIds stored so far, in any order, read back as a dense prefix like {@link LogReader#range}. */
    static final class GrowingLog implements LogTail.RangeSource {
        final Map<Long, RecordEnvelope> stored = new ConcurrentHashMap<>();
        final Random random = new Random(3);
        final AtomicInteger calls = new AtomicInteger();

        @Override
        public CompletableFuture<LogReader.Page> range(long from, int limit) {
            calls.incrementAndGet();
            synchronized (random) {
                if (random.nextInt(10) == 0) {
                    return CompletableFuture.failedFuture(new LogReader.Unavailable("a maintainer did not answer"));
                }
            }
            List<RecordEnvelope> page = new ArrayList<>();
            for (long lid = from; lid < from + limit && stored.containsKey(lid); lid++) {
                page.add(stored.get(lid));
            }
            return CompletableFuture.supplyAsync(() -> new LogReader.Page(page, true));
        }

        void store(long lid) {
            stored.put(lid, RecordEnvelope.newBuilder().setLid(lid).setId("r" + lid).build());
        }
    }

    static final class Collector implements LogTail.Sink {
        final List<Long> lids = new ArrayList<>();
        final CountDownLatch done;
        final long slowEveryMs;
        final ScheduledExecutorService timer;

        Collector(int n, long slowEveryMs, ScheduledExecutorService timer) {
            this.done = new CountDownLatch(n);
            this.slowEveryMs = slowEveryMs;
            this.timer = timer;
        }

        @Override
        public void deliver(List<RecordEnvelope> page, Runnable ready) {
            synchronized (lids) {
                for (RecordEnvelope r : page) {
                    lids.add(r.getLid());
                    done.countDown();
                }
            }
            if (slowEveryMs > 0) {
                timer.schedule(ready, slowEveryMs, TimeUnit.MILLISECONDS);
            } else {
                ready.run();
            }
        }

        @Override
        public void failed(RuntimeException e) {
            throw new AssertionError("tail failed", e);
        }
    }

    @Test
    void everySubscriberSeesEveryRecordOnceInOrderWhileTheLogGrowsOutOfOrder() throws Exception {
        GrowingLog log = new GrowingLog();
        int n = 20_000;
        Collector fast = new Collector(n, 0, timer);
        Collector slow = new Collector(n, 2, timer);
        LogTail fastTail = new LogTail(log, timer, 1, 500, fast);
        LogTail slowTail = new LogTail(log, timer, 1, 500, slow);
        fastTail.start();
        slowTail.start();

        // Stores arrive in shuffled windows of 1000 LIds, as from several maintainers.
        Random random = new Random(11);
        for (long base = 1; base <= n; base += 1000) {
            List<Long> window = new ArrayList<>();
            for (long lid = base; lid < base + 1000; lid++) {
                window.add(lid);
            }
            java.util.Collections.shuffle(window, random);
            for (long lid : window) {
                log.store(lid);
            }
            Thread.sleep(1);
        }
        assertThat(fast.done.await(30, TimeUnit.SECONDS)).as("fast subscriber got all").isTrue();
        assertThat(slow.done.await(60, TimeUnit.SECONDS)).as("slow subscriber got all").isTrue();
        Thread.sleep(50); // anything extra would show up now
        for (Collector c : List.of(fast, slow)) {
            synchronized (c.lids) {
                assertThat(c.lids).hasSize(n);
                for (int i = 0; i < n; i++) {
                    assertThat(c.lids.get(i)).isEqualTo(i + 1L);
                }
            }
        }
        assertThat(fastTail.cursor()).isEqualTo(n + 1L);
        fastTail.stop();
        slowTail.stop();
    }

    @Test
    void aResumedTailStartsExactlyWhereTheLastOneStopped() throws Exception {
        GrowingLog log = new GrowingLog();
        for (long lid = 1; lid <= 3000; lid++) {
            log.store(lid);
        }
        Collector first = new Collector(1200, 0, timer);
        LogTail tail = new LogTail(log, timer, 1, 400, new LogTail.Sink() {
            @Override
            public void deliver(List<RecordEnvelope> page, Runnable ready) {
                first.deliver(page, () -> { });
                if (first.lids.size() < 1200) {
                    ready.run(); // stops asking after 1200, like a client that disconnects
                }
            }

            @Override
            public void failed(RuntimeException e) {
                first.failed(e);
            }
        });
        tail.start();
        assertThat(first.done.await(10, TimeUnit.SECONDS)).isTrue();
        long resumeAt = first.lids.get(first.lids.size() - 1) + 1;
        Collector second = new Collector(3000 - (int) resumeAt + 1, 0, timer);
        new LogTail(log, timer, resumeAt, 400, second).start();
        assertThat(second.done.await(10, TimeUnit.SECONDS)).isTrue();
        List<Long> all = new ArrayList<>(first.lids);
        all.addAll(second.lids);
        assertThat(all).hasSize(3000);
        for (int i = 0; i < all.size(); i++) {
            assertThat(all.get(i)).isEqualTo(i + 1L);
        }
    }

    @Test
    void aQuietLogIsPolledAtABoundedRate() throws Exception {
        GrowingLog log = new GrowingLog();
        LogTail tail = new LogTail(log, timer, 1, 100, new Collector(1, 0, timer));
        tail.start();
        Thread.sleep(500);
        tail.stop();
        // Backing off to MAX_IDLE_MS between polls: ~16 polls in 500 ms, never a busy loop.
        assertThat(log.calls.get()).isBetween(3, 60);
    }

    /** A page the sink cannot take (a stored record it cannot encode) ends the subscription with an error, never a silent stall. */
    @Test
    void aSinkThatThrowsEndsTheTailWithAnError() throws Exception {
        GrowingLog log = new GrowingLog();
        for (long lid = 1; lid <= 50; lid++) {
            log.store(lid);
        }
        CountDownLatch failed = new CountDownLatch(1);
        List<RuntimeException> errors = new ArrayList<>();
        java.util.concurrent.atomic.AtomicInteger deliveries = new java.util.concurrent.atomic.AtomicInteger();
        LogTail tail = new LogTail(log, timer, 1, 10, new LogTail.Sink() {
            @Override
            public void deliver(List<RecordEnvelope> page, Runnable ready) {
                if (deliveries.incrementAndGet() == 2) {
                    throw new IllegalStateException("cannot encode LId " + page.get(0).getLid());
                }
                ready.run();
            }

            @Override
            public void failed(RuntimeException e) {
                errors.add(e);
                failed.countDown();
            }
        });
        tail.start();
        assertThat(failed.await(10, TimeUnit.SECONDS)).as("the sink was told").isTrue();
        assertThat(errors).singleElement().extracting(Throwable::getMessage).isEqualTo("cannot encode LId 11");
        Thread.sleep(100);
        assertThat(deliveries).as("nothing delivered after the failure").hasValue(2);
    }

    /**
     * LIds 101.. sit on a maintainer that is gone: the tail waits there (never skips ahead to later LIds it could
     * read), tells the sink why once the wait is long enough, and goes on once the maintainer is back.
     */
    @Test
    void aTailWaitsForAnUnavailableMaintainerSaysWhyAndGoesOnWhenItIsBack() throws Exception {
        UnavailableLids gap = new UnavailableLids(101, 200, "127.0.0.2:10030", null, "is not registered with the controller", "101–200");
        java.util.concurrent.atomic.AtomicBoolean back = new java.util.concurrent.atomic.AtomicBoolean();
        LogTail.RangeSource log = (from, limit) -> {
            List<RecordEnvelope> page = new ArrayList<>();
            long end = back.get() ? 300 : 100;
            for (long lid = from; lid < from + limit && lid <= end; lid++) {
                page.add(RecordEnvelope.newBuilder().setLid(lid).build());
            }
            boolean stuck = !back.get() && from + page.size() == 101;
            return CompletableFuture.completedFuture(stuck ? new LogReader.Page(page, false, gap.withFrom(from + page.size()))
                    : new LogReader.Page(page, true));
        };
        Collector got = new Collector(300, 0, timer);
        List<UnavailableLids> told = java.util.Collections.synchronizedList(new ArrayList<>());
        CountDownLatch waiting = new CountDownLatch(1);
        new LogTail(log, timer, 1, 50, new LogTail.Sink() {
            @Override
            public void deliver(List<RecordEnvelope> page, Runnable ready) {
                got.deliver(page, ready);
            }

            @Override
            public void waiting(UnavailableLids why) {
                told.add(why);
                waiting.countDown();
            }

            @Override
            public void failed(RuntimeException e) {
                got.failed(e);
            }
        }, 300).start();

        assertThat(waiting.await(10, TimeUnit.SECONDS)).as("the sink was told why the tail waits").isTrue();
        assertThat(told).first().satisfies(u -> {
            assertThat(u.from()).isEqualTo(101);
            assertThat(u.maintainer()).isEqualTo("127.0.0.2:10030");
        });
        assertThat(told).as("told once, not at every poll").hasSize(1);
        synchronized (got.lids) {
            assertThat(got.lids).hasSize(100);
        }
        back.set(true);
        assertThat(got.done.await(10, TimeUnit.SECONDS)).as("went on once it was back").isTrue();
        synchronized (got.lids) {
            for (int i = 0; i < 300; i++) {
                assertThat(got.lids.get(i)).isEqualTo(i + 1L);
            }
        }
    }

    /**
     * A reader moving here from another datacenter: whole pages it has already
     * are passed over, and it gets each other record once, in this log's order.
     */
    @Test
    void aTailFromOriginPositionsSkipsWhatTheReaderHasEvenWholePages() throws Exception {
        GrowingLog log = new GrowingLog();
        // Origin 0's TOIds 1..1500 at LIds 1..1500, then origin 1's 1..500 interleaved with origin 0's 1501..2000.
        for (long lid = 1; lid <= 2500; lid++) {
            long toid = lid <= 1500 ? lid : 1500 + (lid - 1500 + 1) / 2;
            int host = lid > 1500 && lid % 2 == 1 ? 1 : 0;
            if (host == 1) {
                toid = (lid - 1500 + 1) / 2;
            }
            log.stored.put(lid, RecordEnvelope.newBuilder().setLid(lid).setHost(host).setToid(toid).build());
        }
        io.chariots.common.read.OriginPositions at = io.chariots.common.read.OriginPositions.parse("0:1800,1:100", 2);
        long expected = log.stored.values().stream().filter(r -> !at.seen(r)).count();
        Collector c = new Collector((int) expected, 0, timer);
        LogTail tail = new LogTail(log, timer, at.startLid(), 300, c, at);
        tail.start();
        assertThat(c.done.await(20, TimeUnit.SECONDS)).as("all %d unseen records", expected).isTrue();
        Thread.sleep(100);
        tail.stop();
        synchronized (c.lids) {
            assertThat(c.lids).hasSize((int) expected).doesNotHaveDuplicates().isSorted();
            assertThat(c.lids).allMatch(lid -> !at.seen(log.stored.get(lid)));
        }
    }
}
