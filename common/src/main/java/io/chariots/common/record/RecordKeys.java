package io.chariots.common.record;

import io.chariots.proto.RecordEnvelope;

/**
 * The keys a record is known by inside a datacenter. A record id is unique
 * only in the datacenter where it was appended, so the id of a record from
 * another datacenter is kept apart, with its origin: a client here may use
 * the same id for a record of its own. No client id holds U+0000.
 */
public final class RecordKeys {
    private RecordKeys() {
    }

    /**
     * What the id index and the dedup by id know {@code r} by: its id, or for a
     * record from another datacenter (one with an origin LId)
     * {@link #remoteId}.
     */
    public static String idKey(RecordEnvelope r) {
        return r.getOriginLid() != 0 ? remoteId((int) r.getHost(), r.getId()) : r.getId();
    }

    /** The id key of record {@code id} of datacenter {@code origin}'s. */
    public static String remoteId(int origin, String id) {
        return "\u0000" + origin + ":" + id;
    }
}
