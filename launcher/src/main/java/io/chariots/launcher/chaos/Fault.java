package io.chariots.launcher.chaos;

/**
 * One injected fault and what it did.
 *
 * @param kind {@code "kill"} (SIGKILL, then restart) or {@code "pause"} (SIGSTOP, then SIGCONT)
 * @param role the role name, e.g. {@code queue}
 * @param instance the instance, e.g. {@code queue#2}
 * @param downMillis how long it was down (killed until restarted, or paused)
 * @param startNanos when it was injected ({@link System#nanoTime()})
 */
public record Fault(String kind, String role, String instance, long downMillis, long startNanos) {
    /** The report's row: {@code kill queue}. */
    public String label() {
        return kind + " " + role;
    }

    @Override
    public String toString() {
        return kind + " " + instance + " (" + (kind.equals("kill") ? "restarted after " : "for ") + downMillis + " ms)";
    }
}
