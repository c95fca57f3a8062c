package io.chariots.systemtests;

/**
 * A Java agent (loaded into a running role JVM by {@link LoopAgent}) that
 * suspends, resumes or stops the thread of a given name. Kept to this one
 * method and the JDK: it runs inside the target.
 */
public final class ThreadFaultAgent {
    private ThreadFaultAgent() {
    }

    /** {@code args}: "SUSPEND name", "RESUME name" or "STOP name". */
    @SuppressWarnings({"deprecation", "removal"})
    public static void agentmain(String args) {
        String[] a = args.split(" ", 2);
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals(a[1])) {
                switch (a[0]) {
                    case "SUSPEND" -> t.suspend();
                    case "RESUME" -> t.resume();
                    case "STOP" -> t.stop();
                    default -> throw new IllegalArgumentException(args);
                }
            }
        }
    }
}
