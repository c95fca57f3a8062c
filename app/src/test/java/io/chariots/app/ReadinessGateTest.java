package io.chariots.app;

import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link ReadinessGate}: a parked step runs exactly once, whether the call
 * became ready before, while or after it was parked.
 */
class ReadinessGateTest {

    @Test
    void runsAtOnceWhenTheCallIsReady() {
        AtomicInteger runs = new AtomicInteger();
        new ReadinessGate(() -> true).park(runs::incrementAndGet);
        assertThat(runs).hasValue(1);
    }

    @Test
    void waitsForOnReadyWhenTheCallIsNotReady() {
        AtomicBoolean ready = new AtomicBoolean(false);
        AtomicInteger runs = new AtomicInteger();
        ReadinessGate gate = new ReadinessGate(ready::get);
        gate.park(runs::incrementAndGet);
        assertThat(runs).hasValue(0);
        ready.set(true);
        gate.onReady();
        gate.onReady();
        assertThat(runs).as("one wake-up runs the step once, a second finds nothing").hasValue(1);
    }

    /**
     * The race that stalled a gRPC tail for good: the sink saw "not ready",
     * the on-ready handler fired (finding nothing parked), then the sink parked.
     */
    @Test
    void aWakeUpBetweenTheCheckAndTheParkIsNotLost() {
        // isReady answers: false at the sink's check (before park) ... then the handler fires ... true at park's re-check.
        Deque<Boolean> answers = new ArrayDeque<>();
        answers.add(true);
        AtomicInteger runs = new AtomicInteger();
        ReadinessGate gate = new ReadinessGate(answers::poll);
        gate.onReady(); // fired in the gap: nothing parked yet
        assertThat(runs).hasValue(0);
        gate.park(runs::incrementAndGet);
        assertThat(runs).as("the step parked after the wake-up still runs").hasValue(1);
    }

    @Test
    void concurrentParkAndOnReadyRunEachStepExactlyOnce() throws Exception {
        int steps = 200_000;
        AtomicBoolean ready = new AtomicBoolean();
        AtomicInteger runs = new AtomicInteger();
        ReadinessGate gate = new ReadinessGate(ready::get);
        AtomicBoolean done = new AtomicBoolean();
        Thread handler = new Thread(() -> {
            while (!done.get()) {
                ready.set(true);
                gate.onReady();
                ready.set(false);
            }
        });
        handler.start();
        try {
            for (int i = 0; i < steps; i++) {
                CountDownLatch ran = new CountDownLatch(1);
                gate.park(() -> {
                    runs.incrementAndGet();
                    ran.countDown();
                });
                assertThat(ran.await(10, TimeUnit.SECONDS)).as("step %d ran", i).isTrue();
            }
        } finally {
            done.set(true);
            handler.join();
        }
        assertThat(runs).hasValue(steps);
    }
}
