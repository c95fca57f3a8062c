package io.chariots.client;

import java.util.Map;

/**
 * What a record waits for: a record carrying the tag whose FNV-1a-64 is
 * {@link #hash()}, in the chain {@link #seed()}. Both are unsigned 64-bit.
 *
 * <pre>{@code
 * Event a = log.append(Map.of("order", "42"));
 * log.append(Map.of("paid", "42"), Cause.causedBy(a, "order"));
 * }</pre>
 */
public record Cause(long hash, long seed) {
    /** The event's tag {@code key} names it as the cause; the effect joins its chain. */
    public static Cause causedBy(Event cause, String key) {
        return of(cause.tags(), cause.seed(), key);
    }

    /** As {@link #causedBy(Event, String)}, for a record read back from the log. */
    public static Cause causedBy(LogEntry cause, String key) {
        return of(cause.tags(), cause.seed(), key);
    }

    private static Cause of(Map<String, String> tags, long seed, String key) {
        String value = tags.get(key);
        if (value == null) {
            throw new IllegalArgumentException("the cause has no tag \"" + key + "\" (its tags: " + tags.keySet() + ")");
        }
        return new Cause(Fnv1a64.tagHash(key, value), seed);
    }

    @Override
    public String toString() {
        return "Cause[hash=" + Long.toUnsignedString(hash) + ", seed=" + Long.toUnsignedString(seed) + "]";
    }
}
