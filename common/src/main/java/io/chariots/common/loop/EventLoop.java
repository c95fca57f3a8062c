package io.chariots.common.loop;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The one thread that owns a role's state. Network threads only
 * {@link #execute enqueue} work; between tasks the loop calls
 * {@link Ticker#poll(long)} with the current time, which does the timed work
 * and returns the next deadline. A task that throws an exception is logged
 * and counted, and the loop runs on; an {@link Error} (out of memory, stack
 * overflow) ends the loop: it is logged, {@link #died() kept}, and left to the
 * thread's uncaught-exception handler, which in a role process exits it (see
 * {@code FatalErrors}) so that an orchestrator restarts it instead of a zombie
 * that still answers. {@link #stalledNanos} tells a watchdog whether the loop
 * still turns.
 *
 * <p><b>Bounded.</b> {@link #queuedTasks} counts the tasks waiting (a role's
 * {@code chariots_loop_queued_tasks}). Work that comes from outside — a
 * batch from another stage, a client's request — enters with
 * {@link #offer}, which refuses it once {@link #maxQueued} tasks wait, so the
 * caller answers "busy, retry" (RESOURCE_EXHAUSTED, 503) and the sender backs
 * off. Work that must not be refused (what a client was already told was
 * taken, replies to the loop's own calls, whose number its in-flight limits
 * bound, control messages such as the token) enters with {@link #execute}; an
 * edge that hands it such work stops reading while the loop is
 * {@link #behind} and resumes {@link #whenCaughtUp}. No network thread ever
 * waits for the loop: parking them on a full queue was tried and undone, as
 * the same threads answer gRPC keepalives and a peer that missed them for 2 s
 * took the connection for dead.
 */
public final class EventLoop implements Executor, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EventLoop.class);

    /** Timed work: handed {@code now}, returns the next deadline (both {@link NanoClock} nanos). */
    @FunctionalInterface
    public interface Ticker {
        /** No timed work: sleep until a task arrives. */
        long NO_DEADLINE = Long.MAX_VALUE;

        long poll(long nowNanos);

        /**
         * The earlier of two deadlines, either of which may be {@link #NO_DEADLINE}
         * (compared by difference: nanoTime values may wrap).
         */
        static long earlier(long a, long b) {
            if (a == NO_DEADLINE) {
                return b;
            }
            if (b == NO_DEADLINE) {
                return a;
            }
            return a - b <= 0 ? a : b;
        }
    }

    /** Default of {@link #maxQueued} ({@code loop_max_queued_tasks}). */
    public static final int DEFAULT_MAX_QUEUED = 10_000;

    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Runnable> caughtUp = new ConcurrentLinkedQueue<>();
    private final AtomicLong refused = new AtomicLong();
    private volatile int maxQueued = DEFAULT_MAX_QUEUED;
    private final java.util.concurrent.atomic.AtomicInteger queued = new java.util.concurrent.atomic.AtomicInteger();
    private final NanoClock clock;
    private final Ticker ticker;
    private final Thread thread;
    private final AtomicLong failures = new AtomicLong();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicLong progressAt = new AtomicLong();
    private final AtomicLong wakeBy = new AtomicLong();
    private volatile boolean running = true;
    // The loop will take no more tasks (it closed and ran its last ones, or died): offer refuses.
    private volatile boolean finished;
    private volatile boolean parked;
    private volatile Throwable died;

    public EventLoop(String name, NanoClock clock, Ticker ticker) {
        this.clock = clock;
        this.ticker = ticker;
        this.thread = new Thread(this::run, name);
        this.thread.setDaemon(true);
    }

    public EventLoop start() {
        progressAt.set(clock.nanoTime());
        thread.start();
        return this;
    }

    /** The loop's name (its thread's). */
    public String name() {
        return thread.getName();
    }

    /** {@link #stalledNanos(long)} now, on the loop's own clock. */
    public long stalledNanos() {
        return stalledNanos(clock.nanoTime());
    }

    /**
     * How long the loop has been inside one task or tick at {@code nowNanos}:
     * 0 while it waits for work (or has not started, or has stopped cleanly);
     * {@link Long#MAX_VALUE} once it {@link #died}.
     */
    public long stalledNanos(long nowNanos) {
        if (died != null) {
            return Long.MAX_VALUE;
        }
        if (!running || !thread.isAlive()) {
            return 0;
        }
        if (parked) {
            // Waiting is not stalling, unless it overslept its deadline (a thread that is not scheduled at all).
            return Math.max(0, nowNanos - wakeBy.get());
        }
        return Math.max(0, nowNanos - progressAt.get());
    }

    /** The {@link Error} that ended the loop, or null while it runs (or after a clean stop). */
    public Throwable died() {
        return died;
    }

    /** Where the loop thread is now, for a watchdog's report (its innermost frame; empty if unknown). */
    public String where() {
        StackTraceElement[] stack = thread.getStackTrace();
        for (StackTraceElement e : stack) {
            if (e.getClassName().startsWith("io.chariots.")) {
                return e.toString();
            }
        }
        return stack.length > 0 ? stack[0].toString() : "";
    }

    /**
     * Runs {@code task} on the loop thread, after the tasks already queued.
     * Once the loop has stopped, a task handed over here is queued but never
     * runs ({@link #offer} refuses it instead).
     */
    @Override
    public void execute(Runnable task) {
        queued.incrementAndGet();
        tasks.add(task);
        if (parked) {
            LockSupport.unpark(thread);
        }
    }

    /**
     * Runs {@code task} on the loop thread unless {@link #maxQueued} tasks
     * already wait: then it is not queued, is counted in {@link #refused}, and
     * the caller tells its sender to retry later. Once the loop has closed
     * it refuses every task, also one offered while it ran its last ones: a
     * task it accepts after {@link #close} began still runs, so a caller
     * waiting for the task's answer is not left waiting. After the loop died
     * of an {@link Error} it refuses new tasks; those it had taken never run
     * (the process is on its way out). A loop closed before it was started
     * takes tasks and runs none.
     *
     * @return whether the task was queued
     */
    public boolean offer(Runnable task) {
        if (queued.get() >= maxQueued || finished) {
            refused.incrementAndGet();
            return false;
        }
        execute(task);
        // Queued just as the loop took its last tasks: take it back unless the loop already took it.
        if (finished && tasks.remove(task)) {
            taken();
            refused.incrementAndGet();
            return false;
        }
        return true;
    }

    /** Whether the loop is as far behind as {@link #offer} refuses at: an edge stops reading until {@link #whenCaughtUp}. */
    public boolean behind() {
        return queued.get() >= maxQueued;
    }

    /**
     * Runs {@code then} on the loop thread once no more than half of
     * {@link #maxQueued} tasks wait (at its next turn if that holds already).
     * What {@code then} does to a network channel it hands to that channel's
     * own thread.
     */
    public void whenCaughtUp(Runnable then) {
        caughtUp.add(then);
        if (parked) {
            LockSupport.unpark(thread);
        }
    }

    /** Tasks {@link #offer} would queue at most; set before work arrives (a role sets {@code loop_max_queued_tasks}). */
    public EventLoop maxQueued(int max) {
        if (max < 1) {
            throw new IllegalArgumentException("an event loop must queue at least 1 task, got " + max);
        }
        this.maxQueued = max;
        return this;
    }

    public int maxQueued() {
        return maxQueued;
    }

    /** What a refused sender is told: the loop, how far behind, the limit, or that it stopped; "retry". */
    public String behindMessage() {
        if (finished) {
            return "the " + name() + " event loop has stopped (this process is shutting down); retry elsewhere";
        }
        return "the " + name() + " event loop is behind (" + queued.get() + " tasks waiting, loop_max_queued_tasks "
                + maxQueued + "); retry";
    }

    /** Tasks {@link #offer} refused: the loop was behind, or had stopped. */
    public long refused() {
        return refused.get();
    }

    /** Tasks queued now. */
    public int queuedTasks() {
        return queued.get();
    }

    /** Whether the caller is the loop thread. */
    public boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    /** Tasks or ticks that threw. */
    public long failures() {
        return failures.get();
    }

    private void run() {
        try {
            while (running) {
                Runnable task;
                while ((task = tasks.poll()) != null) {
                    taken();
                    runSafely(task);
                    progressAt.lazySet(clock.nanoTime());
                }
                if (!caughtUp.isEmpty() && queued.get() <= maxQueued / 2) {
                    Runnable then;
                    while ((then = caughtUp.poll()) != null) {
                        runSafely(then);
                    }
                }
                long now = clock.nanoTime();
                long deadline;
                try {
                    deadline = ticker.poll(now);
                } catch (RuntimeException e) {
                    failures.incrementAndGet();
                    LOG.error("{}: timed work failed; loop continues", thread.getName(), e);
                    deadline = now + TimeUnit.MILLISECONDS.toNanos(10);
                }
                long t = clock.nanoTime();
                long wait = deadline == Ticker.NO_DEADLINE ? TimeUnit.SECONDS.toNanos(1) : deadline - t;
                progressAt.lazySet(t);
                wakeBy.lazySet(t + Math.max(0, wait));
                parked = true;
                if (tasks.isEmpty() && (caughtUp.isEmpty() || queued.get() > maxQueued / 2) && running && wait > 0) {
                    LockSupport.parkNanos(this, wait);
                }
                progressAt.set(clock.nanoTime()); // before parked is cleared: a reader never sees the park as a stall
                parked = false;
            }
            drain();
            finished = true;
            drain(); // an offer that read finished as false queued its task before this: run it
        } catch (Error e) {
            died = e;
            LOG.error("{}: loop died of {}; this role cannot go on", thread.getName(), e.toString(), e);
            throw e;
        } finally {
            finished = true;
            stopped.countDown();
        }
    }

    private void drain() {
        Runnable task;
        while ((task = tasks.poll()) != null) {
            taken();
            runSafely(task);
        }
    }

    private void taken() {
        queued.decrementAndGet();
    }

    private void runSafely(Runnable task) {
        try {
            task.run();
        } catch (RuntimeException | AssertionError e) {
            failures.incrementAndGet();
            LOG.error("{}: task failed; loop continues", thread.getName(), e);
        }
    }

    /** Stops after running the tasks already queued; waits up to 5 s. */
    @Override
    public void close() {
        running = false;
        LockSupport.unpark(thread);
        if (!inLoop()) {
            try {
                stopped.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
