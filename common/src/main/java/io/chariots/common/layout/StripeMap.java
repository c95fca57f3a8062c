package io.chariots.common.layout;

import io.chariots.proto.Layout;
import io.chariots.proto.Stripe;

import java.util.List;

/**
 * Which maintainer stores an LId, read from a {@link Layout}'s stripes.
 *
 * <p>LIds come in blocks of {@value #BLOCK} (LIds 1..1000 are block 0), as in
 * GoChariots. A stripe names the maintainers of every LId from its
 * {@code from_lid} until the next stripe begins; within it, block b belongs to
 * {@code maintainers[b mod M]}. Stripes are only ever added for LIds nobody
 * has been given yet (a stripe may start mid-block, after a maintainer
 * failed), so an LId's maintainer never changes once it exists.
 *
 * <p>All LIds are unsigned 64-bit; in practice they stay far below 2^63.
 */
public final class StripeMap {
    /** LIds per block, as in GoChariots. */
    public static final long BLOCK = 1000;

    private StripeMap() {
    }

    /** The block of {@code lid} (≥ 1): LIds 1..1000 are block 0. */
    public static long blockOf(long lid) {
        return Long.divideUnsigned(lid - 1, BLOCK);
    }

    /** The first LId of block {@code block}. */
    public static long firstLidOf(long block) {
        return block * BLOCK + 1;
    }

    /** The stripe that covers {@code lid}, or null if the layout has none (LIds before the first stripe). */
    public static Stripe stripeOf(Layout layout, long lid) {
        List<Stripe> stripes = layout.getStripesList();
        for (int i = stripes.size() - 1; i >= 0; i--) {
            Stripe s = stripes.get(i);
            if (Long.compareUnsigned(s.getFromLid(), lid) <= 0) {
                return s;
            }
        }
        return null;
    }

    /** The maintainer (gRPC address) of {@code lid}, or null if no stripe covers it. */
    public static String ownerOf(Layout layout, long lid) {
        Stripe s = stripeOf(layout, lid);
        if (s == null || s.getMaintainersCount() == 0) {
            return null;
        }
        return s.getMaintainers((int) Long.remainderUnsigned(blockOf(lid), s.getMaintainersCount()));
    }

    /**
     * The smallest LId greater than {@code lid} that {@code maintainer} owns,
     * or 0 if it owns none after {@code lid} (its last stripe ended). Walks
     * block by block, so a maintainer owning every M-th block costs M steps.
     */
    public static long nextOwnedAfter(Layout layout, String maintainer, long lid) {
        List<Stripe> stripes = layout.getStripesList();
        long l = lid + 1;
        for (int i = 0; i < stripes.size(); i++) {
            Stripe s = stripes.get(i);
            long end = i + 1 < stripes.size() ? stripes.get(i + 1).getFromLid() : 0; // exclusive; 0: no end
            if (end != 0 && Long.compareUnsigned(end, l) <= 0) {
                continue;
            }
            if (Long.compareUnsigned(s.getFromLid(), l) > 0) {
                l = s.getFromLid();
            }
            int idx = s.getMaintainersList().indexOf(maintainer);
            if (idx < 0) {
                continue;
            }
            int m = s.getMaintainersCount();
            while (end == 0 || Long.compareUnsigned(l, end) < 0) {
                long block = blockOf(l);
                if (Long.remainderUnsigned(block, m) == idx) {
                    return l;
                }
                // skip to the next block this maintainer owns
                long skip = Long.remainderUnsigned(idx - Long.remainderUnsigned(block, m) + m, m);
                l = firstLidOf(block + skip);
            }
            // The skip may have jumped past this stripe's end; the next stripe owns from its own start.
            l = end;
        }
        return 0;
    }

    /**
     * The LIds {@code maintainer} owns, for people: stripe by stripe, its
     * first ranges then "…" where it owns more (an open last stripe owns LIds
     * without end), e.g. {@code "1–1000, 3001–4000, …"}; {@code "none"} if it
     * owns none.
     */
    public static String describeShare(Layout layout, String maintainer) {
        List<String> out = new java.util.ArrayList<>();
        List<Stripe> stripes = layout.getStripesList();
        for (int i = 0; i < stripes.size() && out.size() < 6; i++) {
            Stripe s = stripes.get(i);
            int idx = s.getMaintainersList().indexOf(maintainer);
            if (idx < 0) {
                continue;
            }
            long from = s.getFromLid();
            long end = i + 1 < stripes.size() ? stripes.get(i + 1).getFromLid() : 0; // exclusive; 0: no end
            if (end != 0 && Long.compareUnsigned(end, from) <= 0) {
                continue;
            }
            if (s.getMaintainersCount() == 1) {
                out.add(Long.toUnsignedString(from) + "–" + (end == 0 ? "…" : Long.toUnsignedString(end - 1)));
                continue;
            }
            int shown = 0;
            for (long l = nextOwnedAfter(stripeOnly(s), maintainer, from - 1);
                 l != 0 && (end == 0 || Long.compareUnsigned(l, end) < 0); ) {
                if (shown == 3) {
                    out.add("…");
                    break;
                }
                long last = firstLidOf(blockOf(l) + 1) - 1;
                if (end != 0 && Long.compareUnsigned(last, end - 1) > 0) {
                    last = end - 1;
                }
                out.add(Long.toUnsignedString(l) + "–" + Long.toUnsignedString(last));
                shown++;
                l = nextOwnedAfter(stripeOnly(s), maintainer, last);
            }
        }
        return out.isEmpty() ? "none" : String.join(", ", out);
    }

    private static Layout stripeOnly(Stripe s) {
        return Layout.newBuilder().addStripes(s).build();
    }

    /** Whether {@code maintainer} is named by any stripe (so may hold LIds). */
    public static boolean names(Layout layout, String maintainer) {
        for (Stripe s : layout.getStripesList()) {
            if (s.getMaintainersList().contains(maintainer)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The layout with a stripe of {@code maintainers} starting at
     * {@code fromLid}, if that differs from the stripe covering it; a stripe
     * starting at the same LId is replaced (none of its LIds was given out).
     * The version is bumped when anything changed.
     */
    public static Layout withStripe(Layout layout, long fromLid, List<String> maintainers) {
        int n = layout.getStripesCount();
        Stripe last = n == 0 ? null : layout.getStripes(n - 1);
        if (last != null && last.getMaintainersList().equals(maintainers)) {
            return layout;
        }
        if (last != null && Long.compareUnsigned(fromLid, last.getFromLid()) < 0) {
            throw new IllegalArgumentException("a stripe from LId " + Long.toUnsignedString(fromLid)
                    + " would change LIds already covered from " + Long.toUnsignedString(last.getFromLid()));
        }
        Layout.Builder b = layout.toBuilder();
        if (last != null && last.getFromLid() == fromLid) {
            b.removeStripes(n - 1);
        }
        return b.addStripes(Stripe.newBuilder().setFromLid(fromLid).addAllMaintainers(maintainers))
                .setVersion(layout.getVersion() + 1).build();
    }
}
