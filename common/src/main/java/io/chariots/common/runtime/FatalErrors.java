package io.chariots.common.runtime;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a role process does with a throwable no thread caught: an {@link Error}
 * (out of memory, stack overflow, a dead event loop) ends the process at once
 * with {@link #EXIT_CODE}, so that whoever runs it (an orchestrator, a restart
 * policy, {@code ./chariots start}) starts it again — a role whose loop is dead
 * must not live on answering {@code /health} and heartbeating. Other exceptions
 * end only their thread and are logged. Installed by a role's process entry
 * point only: tests that run roles inside their own JVM keep the default.
 */
public final class FatalErrors {
    private static final Logger LOG = LoggerFactory.getLogger(FatalErrors.class);

    /** Exit status of a process ended by an uncaught Error (EX_SOFTWARE). */
    public static final int EXIT_CODE = 70;

    private FatalErrors() {
    }

    /** Makes an uncaught {@link Error} in any thread end this process with {@link #EXIT_CODE}. */
    public static void install() {
        Thread.setDefaultUncaughtExceptionHandler(FatalErrors::uncaught);
    }

    static void uncaught(Thread t, Throwable e) {
        if (e instanceof Error) {
            try {
                LOG.error("thread {} died of {}: exiting with status {} so that this role is restarted",
                        t.getName(), e, EXIT_CODE, e);
                System.err.println("chariots: thread " + t.getName() + " died of " + e + "; exiting with status " + EXIT_CODE);
            } finally {
                // halt, not exit: shutdown hooks would drain through a loop that is gone, or allocate with no memory.
                Runtime.getRuntime().halt(EXIT_CODE);
            }
        }
        LOG.error("thread {} died of {}", t.getName(), e.toString(), e);
    }
}
