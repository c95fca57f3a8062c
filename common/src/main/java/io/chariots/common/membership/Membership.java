package io.chariots.common.membership;

import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.Role;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * An immutable view of the live members a role needs, as pushed by the
 * controller. Views are totally ordered by (epoch, version); a role applies a
 * view only if it is {@link #isNewerThan newer} than the one it has.
 */
public final class Membership {
    /** The view before the first push: no members, older than any real view. */
    public static final Membership NONE = new Membership(MembershipView.getDefaultInstance());

    private final MembershipView view;

    public Membership(MembershipView view) {
        this.view = view;
    }

    public long epoch() {
        return view.getEpoch();
    }

    public long version() {
        return view.getVersion();
    }

    public MembershipView proto() {
        return view;
    }

    /** This member, as the controller recorded it. */
    public Member self() {
        return view.getSelf();
    }

    public boolean isNewerThan(Membership other) {
        return Long.compareUnsigned(epoch(), other.epoch()) != 0 ? Long.compareUnsigned(epoch(), other.epoch()) > 0
                : Long.compareUnsigned(version(), other.version()) > 0;
    }

    /** Live members of {@code role}, in join order (the ring and stripe order). */
    public List<Member> members(Role role) {
        List<Member> out = new ArrayList<>();
        for (Member m : view.getMembersList()) {
            if (m.getRole() == role) {
                out.add(m);
            }
        }
        out.sort(Comparator.comparingLong(Member::getJoinSeq).thenComparing(Member::getInstanceId));
        return out;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Membership{v").append(epoch()).append('.').append(version());
        for (Member m : view.getMembersList()) {
            sb.append(' ').append(m.getRole().name().toLowerCase()).append('@').append(m.getAddress());
        }
        return sb.append('}').toString();
    }
}
