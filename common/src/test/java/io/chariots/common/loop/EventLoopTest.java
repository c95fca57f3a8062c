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
}
