package io.chariots.controller;

import io.chariots.proto.ControllerState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Saves the controller's state off its loop, so that an fsync never delays
 * heartbeats. {@link #save} only hands a snapshot over; one thread writes the
 * newest snapshot it has, so a burst of changes (every member re-registering
 * after a restart) costs a write or two, not one each. A failed write is
 * retried every {@value #RETRY_MS} ms with the newest snapshot until one
 * succeeds; the state stays correct in memory meanwhile.
 */
final class StateWriter implements MemberRegistry.StateSink, AutoCloseable {
    static final long RETRY_MS = 1000;
    private static final Logger LOG = LoggerFactory.getLogger(StateWriter.class);

    private final StateFile file;
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "controller-state");
        t.setDaemon(true);
        return t;
    });
    // Guarded by this: the newest snapshot not yet taken by the writer, who waits for what, and whether a drain is on.
    private ControllerState pending;
    private List<CompletableFuture<Void>> waiting = new ArrayList<>();
    private boolean draining;
    // Written by the writer thread only.
    private volatile IOException lastError;
    private volatile long failures;

    StateWriter(StateFile file) {
        this.file = file;
    }

    @Override
    public synchronized void save(ControllerState state) {
        pending = state;
        if (!draining) {
            draining = true;
            try {
                thread.execute(this::drain);
            } catch (RejectedExecutionException e) {
                LOG.debug("controller state changed while stopping; not saved");
            }
        }
    }

    /**
     * Completes once every snapshot {@link #save saved} before this call is
     * durable, or exceptionally with the error of the write that should have
     * made it so.
     */
    synchronized CompletableFuture<Void> flush() {
        if (draining) {
            CompletableFuture<Void> f = new CompletableFuture<>();
            waiting.add(f);
            return f;
        }
        IOException e = lastError;
        return e == null ? CompletableFuture.completedFuture(null) : CompletableFuture.failedFuture(e);
    }

    /** The error of the newest write, or null if it succeeded. */
    IOException lastError() {
        return lastError;
    }

    /** Writes that failed since start. */
    long failures() {
        return failures;
    }

    private void drain() {
        for (;;) {
            ControllerState state;
            List<CompletableFuture<Void>> answered;
            synchronized (this) {
                state = pending;
                pending = null;
                // Whoever waits now saved no later than `state` (or, with none pending, than the write just done).
                answered = waiting;
                waiting = new ArrayList<>();
                if (state == null) {
                    draining = false;
                }
            }
            boolean written = state == null || write(state);
            IOException e = lastError;
            for (CompletableFuture<Void> f : answered) {
                if (e == null) {
                    f.complete(null);
                } else {
                    f.completeExceptionally(e);
                }
            }
            if (!written) {
                synchronized (this) {
                    if (pending == null) {
                        pending = state;
                    }
                }
                try {
                    thread.schedule(this::drain, RETRY_MS, TimeUnit.MILLISECONDS);
                } catch (RejectedExecutionException stopping) {
                    LOG.warn("stopping with the controller state unsaved: {}", e.toString());
                }
                return;
            }
            if (state == null) {
                return;
            }
        }
    }

    private boolean write(ControllerState state) {
        try {
            file.write(state);
            if (lastError != null) {
                LOG.info("controller state saved to {} again", file.path());
            }
            lastError = null;
            return true;
        } catch (IOException e) {
            if (lastError == null) {
                LOG.error("cannot save the controller state to {} ({}); it is kept in memory, retrying every {} ms",
                        file.path(), e.toString(), RETRY_MS);
            }
            lastError = e;
            failures++;
            return false;
        }
    }

    /** Writes what is pending, then stops. */
    @Override
    public void close() throws InterruptedException {
        thread.shutdown();
        if (!thread.awaitTermination(5, TimeUnit.SECONDS)) {
            LOG.warn("controller state not saved within 5 s of stopping");
            thread.shutdownNow();
        }
    }
}
