package io.chariots.queue;

import io.chariots.common.record.Unsigned64;

/** The name of a cause: a tag hash and the chain's seed, both unsigned 64-bit. */
public record CauseKey(long hash, long seed) {
    public io.chariots.proto.CauseKey toProto() {
        return io.chariots.proto.CauseKey.newBuilder().setHash(hash).setSeed(seed).build();
    }

    public static CauseKey of(io.chariots.proto.CauseKey k) {
        return new CauseKey(k.getHash(), k.getSeed());
    }

    @Override
    public String toString() {
        return "(hash " + Unsigned64.toString(hash) + ", seed " + Unsigned64.toString(seed) + ")";
    }
}
