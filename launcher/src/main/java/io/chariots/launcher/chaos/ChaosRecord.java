package io.chariots.launcher.chaos;

import io.chariots.common.record.Fnv1a64;
import io.chariots.common.record.Unsigned64;

/**
 * One record of the chaos load: its id, its chain's seed, its tag
 * {@code link:<id>} (what an effect names), and, for a link of a chain, the
 * prehash of its cause's tag.
 *
 * @param depth its place in its chain (0 for a record that starts one or is in none)
 */
public record ChaosRecord(String id, long seed, long prehash, String causeId, int depth, boolean chained) {
    /** The tag key every chaos record carries, with its id as value. */
    public static final String TAG = "link";

    /** A record that is no effect; {@code chained} if an effect will name it. */
    static ChaosRecord plain(String id, long seed, boolean chained) {
        return new ChaosRecord(id, seed, 0, null, 0, chained);
    }

    /** The next link of a chain, caused by {@code cause} (already acknowledged). */
    static ChaosRecord effectOf(ChaosRecord cause, String id) {
        return new ChaosRecord(id, cause.seed(), Fnv1a64.hashTag(TAG, cause.id()), cause.id(), cause.depth() + 1, true);
    }

    /** The record in the app's JSON shape (also accepted in raw-TCP frames). */
    String json() {
        StringBuilder sb = new StringBuilder(96).append("{\"id\":\"").append(id).append("\",\"tags\":{\"").append(TAG)
                .append("\":\"").append(id).append("\"},\"seed\":").append(Unsigned64.toString(seed));
        if (prehash != 0) {
            sb.append(",\"prehash\":").append(Unsigned64.toString(prehash));
        }
        return sb.append('}').toString();
    }
}
