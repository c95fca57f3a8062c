package io.chariots.app;

import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * Holds a tail's next step until a gRPC call can take more, without losing a
 * wake-up.
 *
 * <p>gRPC runs the on-ready handler on its own thread, at any moment: also
 * between the tail seeing {@code isReady() == false} and parking its next
 * step. A handler that fires in that gap finds nothing parked, and the step
 * parked after it would wait for a wake-up that already happened — the tail
 * stalls forever. So {@link #park} checks readiness again after parking, and
 * whichever side takes the step out first runs it, exactly once.
 */
final class ReadinessGate {
    private final BooleanSupplier ready;
    private final AtomicReference<Runnable> parked = new AtomicReference<>();

    /** @param ready whether the call can take more now ({@code ServerCallStreamObserver::isReady}) */
    ReadinessGate(BooleanSupplier ready) {
        this.ready = ready;
    }

    /** Runs {@code step} once the call is ready: now, if it already is, else from {@link #onReady}. */
    void park(Runnable step) {
        parked.set(step);
        if (ready.getAsBoolean()) {
            release();
        }
    }

    /** The call's on-ready handler. */
    void onReady() {
        release();
    }

    private void release() {
        Runnable step = parked.getAndSet(null);
        if (step != null) {
            step.run();
        }
    }
}
