package io.chariots.common.read;

import io.chariots.common.layout.StripeMap;
import io.chariots.common.membership.Membership;
import io.chariots.proto.Layout;
import io.chariots.proto.Member;
import io.chariots.proto.Role;
import io.chariots.proto.Stripe;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which LIds one read of the maintainers could see: the layout (the stripe
 * map) names each LId's maintainer, and a maintainer's LIds were seen only if
 * it answered. An LId nobody returned is therefore either not in the log yet
 * (its maintainer answered without it) or {@link #unavailableAt unavailable}
 * (its maintainer did not answer, or is not registered at all).
 *
 * <p>With no layout yet (or an LId before its first stripe), the owner is
 * unknown and callers fall back to "some maintainer did not answer".
 */
public final class ReadCoverage {
    private final Layout layout;
    private final Set<String> answered;
    private final Map<String, String> failures;
    private final Map<String, String> listed = new HashMap<>();

    /**
     * @param view     the membership view the read was sent by (its maintainers, and the layout)
     * @param answered gRPC addresses of the maintainers that answered
     * @param failures why each asked maintainer that did not answer failed, by gRPC address
     */
    public ReadCoverage(Membership view, Set<String> answered, Map<String, String> failures) {
        this.layout = view.proto().getLayout();
        this.answered = answered;
        this.failures = failures;
        for (Member m : view.members(Role.MAINTAINER)) {
            listed.put(m.getGrpcAddress(), m.getAddress());
        }
    }

    /** The maintainer the layout gives {@code lid} to, or null if no stripe covers it. */
    public String ownerOf(long lid) {
        return StripeMap.ownerOf(layout, lid);
    }

    /** Whether the read saw {@code lid}'s maintainer's answer, so that an absent {@code lid} is truly absent. */
    public boolean ownerAnswered(long lid) {
        String owner = ownerOf(lid);
        return owner != null && answered.contains(owner);
    }

    /**
     * Whether the layout shows {@code lid} was given out: it is at or below
     * the log's end when the epoch began, or a later stripe starts above it
     * (a stripe starts only past the last LId given out). Otherwise it may
     * simply be past the log's end.
     */
    public boolean givenOut(long lid) {
        if (Long.compareUnsigned(lid, layout.getStartLid()) <= 0) {
            return true;
        }
        int n = layout.getStripesCount();
        return n > 0 && Long.compareUnsigned(lid, layout.getStripes(n - 1).getFromLid()) < 0;
    }

    /** The gap at {@code lid} when its maintainer did not answer this read; null when it did, or is unknown. */
    public UnavailableLids unavailableAt(long lid) {
        String owner = ownerOf(lid);
        if (owner == null || answered.contains(owner)) {
            return null;
        }
        String address = listed.get(owner);
        String failure = failures.get(owner);
        String reason = address == null ? "is not registered with the controller: stopped, crashed or gone"
                : "did not answer: " + (failure == null ? "not asked" : failure);
        return new UnavailableLids(lid, runEnd(lid), owner, address, reason, StripeMap.describeShare(layout, owner));
    }

    /** The last LId of {@code lid}'s run on one maintainer: the end of its block, or of its stripe if that comes first. */
    private long runEnd(long lid) {
        long end = StripeMap.firstLidOf(StripeMap.blockOf(lid) + 1) - 1;
        List<Stripe> stripes = layout.getStripesList();
        for (Stripe s : stripes) {
            if (Long.compareUnsigned(s.getFromLid(), lid) > 0 && Long.compareUnsigned(s.getFromLid() - 1, end) < 0) {
                end = s.getFromLid() - 1;
            }
        }
        return end;
    }
}
