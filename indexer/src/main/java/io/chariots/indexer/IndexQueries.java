package io.chariots.indexer;

import io.chariots.common.record.Unsigned64;
import io.chariots.proto.ExistsReply;
import io.chariots.proto.ExistsRequest;
import io.chariots.proto.LookupReply;
import io.chariots.proto.LookupRequest;

import java.util.List;

/**
 * Answers the read side of the Indexer contract from a {@link TagIndex}:
 * validates a request, picks the scan, applies paging. Pure logic over the
 * store, safe to call from any thread, testable without sockets.
 *
 * <p>A {@link LookupRequest} selects exactly one of:
 * <ul>
 * <li>{@code ids} — the {@link io.chariots.proto.IdStatus} of each (at most {@value #MAX_IDS});</li>
 * <li>{@code tag_hash ≠ 0} — LIds carrying that tag; restricted to {@code seed}
 *     when {@code seed ≠ 0}, or when {@code by_seed} is set (the only way to
 *     restrict to seed 0, which is a valid seed);</li>
 * <li>{@code by_seed} with {@code tag_hash = 0} — LIds of the chain {@code seed}.</li>
 * </ul>
 * LId lists are increasing and hold LIds strictly above {@code after_lid}, at
 * most {@code limit} of them ({@value #DEFAULT_LIMIT} when 0, capped at
 * {@value #MAX_LIMIT}); a reader pages by passing the last LId it got as the
 * next {@code after_lid} until a page comes back shorter than its limit.
 */
public final class IndexQueries {
    public static final int DEFAULT_LIMIT = 1000;
    public static final int MAX_LIMIT = 10_000;
    public static final int MAX_IDS = 10_000;

    private final TagIndex index;

    public IndexQueries(TagIndex index) {
        this.index = index;
    }

    /** Lowest LId of each (hash, seed) pair, or 0; parallel to the request's keys. */
    public ExistsReply exists(ExistsRequest request) {
        long[] lids = index.exists(request.getKeysList());
        ExistsReply.Builder reply = ExistsReply.newBuilder();
        for (long lid : lids) {
            reply.addLids(lid);
        }
        return reply.build();
    }

    /**
     * Runs one lookup (selection rules in the class notes).
     *
     * @throws BadRequestException if the request selects nothing or several things
     */
    public LookupReply lookup(LookupRequest request) {
        boolean byIds = request.getIdsCount() > 0;
        boolean byTag = request.getTagHash() != 0;
        boolean bySeed = request.getBySeed();
        if (byIds) {
            if (byTag || bySeed || request.getSeed() != 0) {
                throw new BadRequestException("lookup by ids cannot be combined with tag_hash, seed or by_seed");
            }
            return byIds(request.getIdsList());
        }
        if (!byTag && !bySeed) {
            throw new BadRequestException(request.getSeed() != 0
                    ? "lookup has a seed but neither tag_hash nor by_seed: set by_seed to list the chain "
                            + Unsigned64.toString(request.getSeed())
                    : "empty lookup: give ids, a non-zero tag_hash, or by_seed with a seed");
        }
        int limit = limit(request.getLimit());
        long after = request.getAfterLid();
        long[] lids;
        if (byTag && (bySeed || request.getSeed() != 0)) {
            lids = index.lidsByTagAndSeed(request.getTagHash(), request.getSeed(), after, limit);
        } else if (byTag) {
            lids = index.lidsByTag(request.getTagHash(), after, limit);
        } else {
            lids = index.lidsBySeed(request.getSeed(), after, limit);
        }
        LookupReply.Builder reply = LookupReply.newBuilder();
        for (long lid : lids) {
            reply.addLids(lid);
        }
        return reply.build();
    }

    private LookupReply byIds(List<String> ids) {
        if (ids.size() > MAX_IDS) {
            throw new BadRequestException("lookup of " + ids.size() + " ids; at most " + MAX_IDS + " per request");
        }
        for (int i = 0; i < ids.size(); i++) {
            if (ids.get(i).isEmpty()) {
                throw new BadRequestException("ids[" + i + "] is empty");
            }
        }
        return LookupReply.newBuilder().addAllIds(index.idStatuses(ids)).build();
    }

    /** The page size for a requested limit: 0 means the default, anything above the maximum is capped. */
    static int limit(int requested) {
        if (requested == 0) {
            return DEFAULT_LIMIT;
        }
        return Integer.compareUnsigned(requested, MAX_LIMIT) > 0 ? MAX_LIMIT : requested;
    }
}
