package io.chariots.client;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * A record about to be appended: its tags, causes, and optionally its seed
 * and id. Without causes and seed it starts a new chain with a random 64-bit
 * seed; with causes it joins their chain (all causes must share one seed).
 * Without an id the client generates a random 128-bit one, so a retry of the
 * same draft can never append it twice.
 */
public final class Draft {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Map<String, String> tags;
    private final List<Cause> causes = new ArrayList<>();
    private Long seed;
    private String id;

    private Draft(Map<String, String> tags) {
        if (tags == null || tags.isEmpty()) {
            throw new IllegalArgumentException("a record needs at least one tag");
        }
        this.tags = Map.copyOf(tags);
    }

    public static Draft of(Map<String, String> tags) {
        return new Draft(tags);
    }

    public Draft causedBy(Cause... more) {
        causes.addAll(List.of(more));
        return this;
    }

    /** The chain, unsigned 64-bit (a negative {@code long} is a seed above 2^63). */
    public Draft seed(long seed) {
        this.seed = seed;
        return this;
    }

    public Draft id(String id) {
        if (id == null || id.isEmpty()) {
            throw new IllegalArgumentException("an id must not be empty");
        }
        this.id = id;
        return this;
    }

    /**
     * The event this draft appends as: fixes its seed and id (generating what
     * is missing) and checks its causes agree. Useful to name a record as a
     * cause before it is sent — effects may be sent first; they wait.
     *
     * @throws IllegalArgumentException if the causes are in different chains, or the seed differs from theirs
     */
    public Event event() {
        long s;
        if (!causes.isEmpty()) {
            s = causes.get(0).seed();
            for (Cause c : causes) {
                if (c.seed() != s) {
                    throw new IllegalArgumentException("all causes of a record must be in one chain: seeds "
                            + Long.toUnsignedString(s) + " and " + Long.toUnsignedString(c.seed()));
                }
            }
            if (seed != null && seed != s) {
                throw new IllegalArgumentException("seed " + Long.toUnsignedString(seed) + " differs from its causes' seed "
                        + Long.toUnsignedString(s));
            }
        } else {
            s = seed != null ? seed : RANDOM.nextLong();
        }
        if (id == null) {
            byte[] b = new byte[16];
            RANDOM.nextBytes(b);
            id = HexFormat.of().formatHex(b);
        }
        seed = s;
        return new Event(id, s, tags, 0, -1);
    }

    List<Cause> causes() {
        return causes;
    }

    /** A JSON array of {@code drafts} (HTTP shape), adding the event of each to {@code events}. */
    static String jsonArray(List<Draft> drafts, List<Event> events) {
        StringBuilder sb = new StringBuilder("[");
        for (Draft d : drafts) {
            Event e = d.event();
            events.add(e);
            sb.append(sb.length() > 1 ? "," : "").append(d.json(e));
        }
        return sb.append(']').toString();
    }

    /** The record in the HTTP JSON shape. */
    String json(Event e) {
        StringBuilder sb = new StringBuilder(96);
        sb.append("{\"id\":");
        Json.quote(sb, e.id()).append(",\"tags\":{");
        boolean first = true;
        for (Map.Entry<String, String> t : e.tags().entrySet()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            Json.quote(sb, t.getKey()).append(':');
            Json.quote(sb, t.getValue());
        }
        sb.append("},\"seed\":").append(Long.toUnsignedString(e.seed()));
        if (!causes.isEmpty()) {
            sb.append(",\"prehash\":[");
            for (int i = 0; i < causes.size(); i++) {
                sb.append(i == 0 ? "" : ",").append(Long.toUnsignedString(causes.get(i).hash()));
            }
            sb.append(']');
        }
        return sb.append('}').toString();
    }
}
