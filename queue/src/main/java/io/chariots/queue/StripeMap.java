package io.chariots.queue;

import io.chariots.proto.Stripe;
import io.chariots.proto.Token;

import java.util.List;

/**
 * Which maintainer stores an LId. Blocks of {@value #BLOCK} LIds; block b
 * belongs to {@code maintainers[b mod M]} of the newest stripe starting at or
 * before b. Stripes live in the token and are only ever added for blocks no
 * LId of which has been assigned, so an LId's maintainer never changes.
 */
final class StripeMap {
    /** LIds per block, as in GoChariots. */
    static final long BLOCK = 1000;

    private StripeMap() {
    }

    static long blockOf(long lid) {
        return (lid - 1) / BLOCK;
    }

    /** The maintainer (gRPC address) of {@code lid}, or null if the token has no stripe for it. */
    static String ownerOf(Token token, long lid) {
        long block = blockOf(lid);
        List<Stripe> stripes = token.getStripesList();
        for (int i = stripes.size() - 1; i >= 0; i--) {
            Stripe s = stripes.get(i);
            if (s.getFromBlock() <= block) {
                return s.getMaintainers((int) (block % s.getMaintainersCount()));
            }
        }
        return null;
    }

    /** The first block none of whose LIds is assigned yet. */
    static long firstFreeBlock(long lastLid) {
        return lastLid % BLOCK == 0 ? lastLid / BLOCK : lastLid / BLOCK + 1;
    }

    /**
     * The token with a new stripe for {@code maintainers} if they differ from
     * the newest stripe's and the view is newer; otherwise the token as is.
     */
    static Token withMaintainers(Token token, List<String> maintainers, long epoch, long version) {
        if (maintainers.isEmpty()) {
            return token;
        }
        int n = token.getStripesCount();
        if (n > 0) {
            Stripe last = token.getStripes(n - 1);
            boolean newer = Long.compareUnsigned(epoch, last.getEpoch()) > 0
                    || (epoch == last.getEpoch() && Long.compareUnsigned(version, last.getVersion()) > 0);
            if (!newer || last.getMaintainersList().equals(maintainers)) {
                return token;
            }
        }
        long from = firstFreeBlock(token.getLastLid());
        Token.Builder b = token.toBuilder();
        // A stripe starting at the same block replaces the previous one: none of its LIds exist yet.
        if (n > 0 && token.getStripes(n - 1).getFromBlock() == from) {
            b.removeStripes(n - 1);
        }
        return b.addStripes(Stripe.newBuilder().setFromBlock(from).addAllMaintainers(maintainers)
                .setEpoch(epoch).setVersion(version)).build();
    }
}
