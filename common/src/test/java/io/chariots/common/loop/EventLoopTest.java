package io.chariots.common.loop;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class EventLoopTest {
    @Test
    void runsTasksInOrderOnOneThreadAndSurvivesAFailingTask() throws Exception {
        AtomicInteger ticks = new AtomicInteger();
        try (EventLoop loop = new EventLoop("test", NanoClock.SYSTEM, now -> {
            ticks.incrementAndGet();
            return EventLoop.Ticker.NO_DEADLINE;
        }).start()) {
            StringBuilder sb = new StringBuilder();
            CountDownLatch done = new CountDownLatch(1);
            loop.execute(() -> sb.append('a'));
            loop.execute(() -> {
                throw new IllegalStateException("boom");
            });
            loop.execute(() -> sb.append('b'));
            loop.execute(done::countDown);
            assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(sb.toString()).isEqualTo("ab");
            assertThat(loop.failures()).isEqualTo(1);
        }
    }

    @Test
    void wakesAtTheDeadlineTheTickerReturns() throws Exception {
        CountDownLatch fired = new CountDownLatch(1);
        long start = System.nanoTime();
        long due = start + TimeUnit.MILLISECONDS.toNanos(20);
        try (EventLoop loop = new EventLoop("deadline", NanoClock.SYSTEM, now -> {
            if (now >= due) {
                fired.countDown();
                return EventLoop.Ticker.NO_DEADLINE;
            }
            return due;
        }).start()) {
            assertThat(fired.await(5, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void anErrorEndsTheLoopAndReachesTheUncaughtHandler() throws Exception {
        Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
        java.util.concurrent.atomic.AtomicReference<Throwable> caught = new java.util.concurrent.atomic.AtomicReference<>();
        CountDownLatch handled = new CountDownLatch(1);
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> {
            caught.set(e);
            handled.countDown();
        });
        try (EventLoop loop = new EventLoop("dies", NanoClock.SYSTEM, now -> EventLoop.Ticker.NO_DEADLINE).start()) {
            AtomicInteger after = new AtomicInteger();
            loop.execute(() -> {
                throw new OutOfMemoryError("test: Java heap space");
            });
            loop.execute(after::incrementAndGet);
            assertThat(handled.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(caught.get()).isInstanceOf(OutOfMemoryError.class);
            assertThat(loop.died()).isSameAs(caught.get());
            assertThat(loop.stalledNanos(System.nanoTime())).isEqualTo(Long.MAX_VALUE);
            assertThat(after.get()).as("nothing runs on a dead loop").isZero();
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(before);
        }
    }

    @Test
    void saysHowLongItHasBeenInOneTaskAndNotWhileItWaits() throws Exception {
        try (EventLoop loop = new EventLoop("stalls", NanoClock.SYSTEM, now -> EventLoop.Ticker.NO_DEADLINE).start()) {
            CountDownLatch idle = new CountDownLatch(1);
            loop.execute(idle::countDown);
            assertThat(idle.await(5, TimeUnit.SECONDS)).isTrue();
            Thread.sleep(1500); // idle past the 1 s wake-up it parks for without a deadline
            assertThat(loop.stalledNanos(System.nanoTime())).as("waiting for work is not a stall").isLessThan(
                    TimeUnit.MILLISECONDS.toNanos(400));

            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch inside = new CountDownLatch(1);
            loop.execute(() -> {
                inside.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertThat(inside.await(5, TimeUnit.SECONDS)).isTrue();
            Thread.sleep(300);
            assertThat(loop.stalledNanos(System.nanoTime())).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(300));
            assertThat(loop.where()).contains("EventLoopTest");
            release.countDown();
            CountDownLatch turned = new CountDownLatch(1);
            loop.execute(turned::countDown);
            assertThat(turned.await(5, TimeUnit.SECONDS)).isTrue();
            Thread.sleep(50);
            assertThat(loop.stalledNanos(System.nanoTime())).isLessThan(TimeUnit.MILLISECONDS.toNanos(300));
            assertThat(loop.died()).isNull();
        }
    }

    @Test
    void theQueuedTasksAreCountedUntilTheLoopTakesThem() throws Exception {
        EventLoop loop = new EventLoop("counted", NanoClock.SYSTEM, now -> EventLoop.Ticker.NO_DEADLINE).start();
        try {
            CountDownLatch busy = new CountDownLatch(1);
            CountDownLatch inTask = new CountDownLatch(1);
            loop.execute(() -> {
                inTask.countDown();
                try {
                    busy.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertThat(inTask.await(5, TimeUnit.SECONDS)).isTrue();
            AtomicInteger ran = new AtomicInteger();
            for (int i = 0; i < 10; i++) {
                loop.execute(ran::incrementAndGet);
            }
            assertThat(loop.queuedTasks()).isEqualTo(10);
            busy.countDown();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (ran.get() < 10 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(ran.get()).isEqualTo(10);
            assertThat(loop.queuedTasks()).isZero();
        } finally {
            loop.close();
        }
    }

    /** Offered work beyond loop_max_queued_tasks is refused (not queued, counted); what must run still runs. */
    @Test
    void offerRefusesOnceTheLimitWaitsAndTheCaughtUpCallbackRunsAfterTheBacklog() throws Exception {
        EventLoop loop = new EventLoop("bounded", NanoClock.SYSTEM, now -> EventLoop.Ticker.NO_DEADLINE).maxQueued(4).start();
        try {
            CountDownLatch busy = new CountDownLatch(1);
            CountDownLatch inTask = new CountDownLatch(1);
            loop.execute(() -> {
                inTask.countDown();
                try {
                    busy.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertThat(inTask.await(5, TimeUnit.SECONDS)).isTrue();
            AtomicInteger ran = new AtomicInteger();
            for (int i = 0; i < 4; i++) {
                assertThat(loop.offer(ran::incrementAndGet)).as("offer %d of 4", i + 1).isTrue();
            }
            assertThat(loop.behind()).isTrue();
            assertThat(loop.offer(ran::incrementAndGet)).as("the fifth, over the limit").isFalse();
            assertThat(loop.refused()).isEqualTo(1);
            assertThat(loop.behindMessage()).contains("bounded", "4 tasks waiting", "loop_max_queued_tasks 4", "retry");
            loop.execute(ran::incrementAndGet); // not refusable: queued over the limit
            assertThat(loop.queuedTasks()).isEqualTo(5);

            CountDownLatch caughtUp = new CountDownLatch(1);
            AtomicInteger ranBeforeCaughtUp = new AtomicInteger(-1);
            loop.whenCaughtUp(() -> {
                ranBeforeCaughtUp.set(ran.get());
                caughtUp.countDown();
            });
            assertThat(caughtUp.getCount()).as("not while the loop is behind").isEqualTo(1);
            busy.countDown();
            assertThat(caughtUp.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(ranBeforeCaughtUp.get()).as("the backlog ran first").isEqualTo(5);
            assertThat(loop.behind()).isFalse();
            assertThat(loop.offer(ran::incrementAndGet)).isTrue();
        } finally {
            loop.close();
        }
    }

    @Test
    void aStoppedLoopRefusesWhatIsOfferedAndEveryAcceptedTaskRunsWhileItStops() throws Exception {
        // Offered from other threads while the loop closes: each task is either refused or run, never
        // left queued where nothing takes it (a gRPC call then waited for an answer that never came).
        for (int round = 0; round < 40; round++) {
            EventLoop loop = new EventLoop("stops-" + round, NanoClock.SYSTEM, now -> EventLoop.Ticker.NO_DEADLINE).start();
            AtomicInteger accepted = new AtomicInteger();
            AtomicInteger ran = new AtomicInteger();
            CountDownLatch offering = new CountDownLatch(2);
            Thread[] offerers = new Thread[2];
            for (int t = 0; t < offerers.length; t++) {
                offerers[t] = new Thread(() -> {
                    offering.countDown();
                    for (int i = 0; i < 20_000; i++) {
                        if (loop.offer(ran::incrementAndGet)) {
                            accepted.incrementAndGet();
                        }
                    }
                });
                offerers[t].start();
            }
            offering.await();
            loop.close();
            for (Thread t : offerers) {
                t.join(10_000);
                assertThat(t.isAlive()).isFalse();
            }
            assertThat(ran.get()).as("round %d: tasks run against tasks accepted", round).isEqualTo(accepted.get());
            assertThat(loop.refused()).as("round %d: every other task refused", round).isEqualTo(40_000L - accepted.get());
            assertThat(loop.queuedTasks()).isZero();
        }
        EventLoop loop = new EventLoop("closed", NanoClock.SYSTEM, now -> EventLoop.Ticker.NO_DEADLINE).start();
        loop.close();
        AtomicInteger ran = new AtomicInteger();
        long refusedBefore = loop.refused();
        assertThat(loop.offer(ran::incrementAndGet)).isFalse();
        assertThat(loop.refused()).isEqualTo(refusedBefore + 1);
        assertThat(ran.get()).isZero();
        assertThat(loop.behindMessage()).contains("the closed event loop has stopped").contains("retry elsewhere");
    }
}
