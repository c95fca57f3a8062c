package io.chariots.common.loop;

/** A monotonic clock in nanoseconds, injected so that timeouts are tested without sleeping. */
@FunctionalInterface
public interface NanoClock {
    NanoClock SYSTEM = System::nanoTime;

    long nanoTime();
}
