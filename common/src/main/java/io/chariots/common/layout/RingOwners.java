package io.chariots.common.layout;

import io.chariots.common.record.Fnv1a64;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.RingMember;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which queue of the ring owns a record id: every copy of a record (a
 * client's retry, a stage's resend) goes to that queue, which lets the id
 * into the log once. Rendezvous hashing over the queues' addresses: a queue
 * leaving moves only its own ids, a queue joining takes ids only from the
 * others, and a queue restarted at the same address owns the same ids again.
 */
public final class RingOwners {
    // Every record is routed by its owner, i.e. hashed against each queue's address: those
    // hashes are remembered, so that a record costs one hash of its id, not one per queue.
    private static final int MAX_REMEMBERED_ADDRESSES = 1024;
    private static final ConcurrentHashMap<String, Long> ADDRESS_HASHES = new ConcurrentHashMap<>();

    private RingOwners() {
    }

    /** The owner of {@code id} among {@code ring}; null when the ring is empty. */
    public static RingMember ownerOf(String id, List<RingMember> ring) {
        if (ring.size() <= 1) {
            return ring.isEmpty() ? null : ring.get(0); // a ring of one owns everything: no hashing per record
        }
        long h = idHash(id);
        RingMember best = null;
        long bestScore = 0;
        for (RingMember q : ring) {
            long score = mix(h ^ addressHash(q.getAddress()));
            if (best == null || Long.compareUnsigned(score, bestScore) > 0
                    || (score == bestScore && q.getAddress().compareTo(best.getAddress()) < 0)) {
                best = q;
                bestScore = score;
            }
        }
        return best;
    }

    /** The owner's address, or null for an empty ring. */
    public static String ownerAddress(String id, List<RingMember> ring) {
        RingMember m = ownerOf(id, ring);
        return m == null ? null : m.getAddress();
    }

    /**
     * What a record is routed by: its id, or for a record from another
     * datacenter (one that carries a TOId before this datacenter gave it an
     * LId) its origin, so that one queue puts each origin's records in order.
     */
    public static String routingKey(RecordEnvelope r) {
        return r.getToid() != 0 ? originKey((int) r.getHost()) : r.getId();
    }

    /** The routing key of datacenter {@code origin}'s records (no record id holds U+0000). */
    public static String originKey(int origin) {
        return "\u0000origin " + origin;
    }

    /** The hash of an id that {@link #ownerOf} uses (FNV-1a-64 of its UTF-8 bytes). */
    public static long idHash(String id) {
        return Fnv1a64.hash(id.getBytes(StandardCharsets.UTF_8));
    }

    private static long addressHash(String address) {
        Long known = ADDRESS_HASHES.get(address);
        if (known != null) {
            return known;
        }
        long h = mix(Fnv1a64.hash(address.getBytes(StandardCharsets.UTF_8)) + 0x9E3779B97F4A7C15L);
        if (ADDRESS_HASHES.size() >= MAX_REMEMBERED_ADDRESSES) {
            ADDRESS_HASHES.clear(); // queues come and go over a long life: never grow without bound
        }
        ADDRESS_HASHES.put(address, h);
        return h;
    }

    /** SplitMix64's finalizer: every input bit affects every output bit. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
