package io.chariots.queue;

import io.chariots.common.membership.Membership;
import io.chariots.proto.Layout;
import io.chariots.proto.Member;
import io.chariots.proto.RingMember;
import io.chariots.proto.Role;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * What the ring and the stripes should be, from the membership view and what
 * the holder has seen fail. Pure functions: the {@link TokenRing} compares
 * them with its layout and decides (a queue gone: seal at once; a queue
 * joined: quiesce, then seal; a maintainer gone or joined: a new stripe).
 */
final class RingPlan {
    private RingPlan() {
    }

    /**
     * The ring this queue would have: the members of the current ring that
     * the view still lists (the same instance) and that have not failed to
     * take the token ({@code suspects}), then the queues of the view outside
     * the ring that answered this queue lately ({@code answered}) — a queue
     * joins only once it has shown it is alive to the queue that adds it, so
     * that two queues never disagree on a paused one for long. Always with
     * {@code self}; in join order.
     *
     * <p>A ring member the view no longer lists, and whose address no other
     * instance took (a restart), stays while {@code unlistedAlive} says so: the
     * controller drops a member whose heartbeats are late (a starved or paused
     * process, or the controller's own pause), which is only a hint; the ring
     * leaves a queue out when it refuses calls or has been silent to the ring
     * itself for silence_timeout.
     */
    static List<RingMember> desiredRing(Membership view, Layout layout, Set<String> suspects, Set<String> answered,
                                        RingMember self, Predicate<String> unlistedAlive) {
        Set<String> inRing = instances(layout.getRingList());
        List<RingMember> out = new ArrayList<>();
        boolean selfListed = false;
        for (Member m : view.members(Role.QUEUE)) {
            String addr = m.getGrpcAddress();
            if (addr.isEmpty()) {
                continue;
            }
            if (addr.equals(self.getAddress())) {
                selfListed = true;
                out.add(self);
            } else if (!suspects.contains(addr) && (inRing.contains(m.getInstanceId()) || answered.contains(addr))) {
                out.add(RingMember.newBuilder().setInstanceId(m.getInstanceId()).setAddress(addr).build());
            }
        }
        if (!selfListed) {
            out.add(self);
        }
        for (RingMember m : unlisted(view, layout)) {
            if (!m.getAddress().equals(self.getAddress()) && !suspects.contains(m.getAddress())
                    && unlistedAlive.test(m.getAddress())) {
                out.add(placeInLayoutOrder(layout, out, m), m);
            }
        }
        return out;
    }

    /** Where {@code m} goes in {@code out}: right after the nearest member that precedes it in the layout's ring. */
    private static int placeInLayoutOrder(Layout layout, List<RingMember> out, RingMember m) {
        List<RingMember> ring = layout.getRingList();
        for (int i = ring.indexOf(m) - 1; i >= 0; i--) {
            String before = ring.get(i).getInstanceId();
            for (int j = 0; j < out.size(); j++) {
                if (out.get(j).getInstanceId().equals(before)) {
                    return j + 1;
                }
            }
        }
        return 0;
    }

    /** Members of the layout's ring whose address the view does not list at all (not restarted: dropped or gone). */
    static List<RingMember> unlisted(Membership view, Layout layout) {
        Set<String> listed = new HashSet<>();
        for (Member m : view.members(Role.QUEUE)) {
            listed.add(m.getGrpcAddress());
        }
        List<RingMember> out = new ArrayList<>();
        for (RingMember m : layout.getRingList()) {
            if (!listed.contains(m.getAddress())) {
                out.add(m);
            }
        }
        return out;
    }

    /** Ring members of {@code layout} that {@code desired} no longer has (by instance: a restarted queue is a new one). */
    static List<RingMember> removed(Layout layout, List<RingMember> desired) {
        Set<String> keep = instances(desired);
        List<RingMember> out = new ArrayList<>();
        for (RingMember m : layout.getRingList()) {
            if (!keep.contains(m.getInstanceId())) {
                out.add(m);
            }
        }
        return out;
    }

    /** Members of {@code desired} that {@code layout}'s ring lacks. */
    static List<RingMember> added(Layout layout, List<RingMember> desired) {
        Set<String> have = instances(layout.getRingList());
        List<RingMember> out = new ArrayList<>();
        for (RingMember m : desired) {
            if (!have.contains(m.getInstanceId())) {
                out.add(m);
            }
        }
        return out;
    }

    private static Set<String> instances(List<RingMember> ring) {
        Set<String> out = new HashSet<>();
        for (RingMember m : ring) {
            out.add(m.getInstanceId());
        }
        return out;
    }

    /** The maintainers new LIds should go to: those of the view, in join order, but those failing. */
    static List<String> desiredMaintainers(Membership view, Set<String> failing) {
        List<String> out = new ArrayList<>();
        for (Member m : view.members(Role.MAINTAINER)) {
            if (!m.getGrpcAddress().isEmpty() && !failing.contains(m.getGrpcAddress())) {
                out.add(m.getGrpcAddress());
            }
        }
        return out;
    }

    /** The maintainers of the layout's newest stripe (empty if none). */
    static List<String> currentMaintainers(Layout layout) {
        int n = layout.getStripesCount();
        return n == 0 ? List.of() : layout.getStripes(n - 1).getMaintainersList();
    }

    /** The ring member after {@code self} in {@code ring} (null if self is alone or absent). */
    static String successor(List<RingMember> ring, String self) {
        for (int i = 0; i < ring.size(); i++) {
            if (ring.get(i).getAddress().equals(self)) {
                String next = ring.get((i + 1) % ring.size()).getAddress();
                return next.equals(self) ? null : next;
            }
        }
        return null;
    }
}
