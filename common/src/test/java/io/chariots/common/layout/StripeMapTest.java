package io.chariots.common.layout;

import io.chariots.proto.Layout;
import io.chariots.proto.Stripe;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StripeMapTest {
    static Stripe stripe(long fromLid, String... maintainers) {
        return Stripe.newBuilder().setFromLid(fromLid).addAllMaintainers(List.of(maintainers)).build();
    }

    static Layout layout(Stripe... stripes) {
        return Layout.newBuilder().setEpoch(1).setVersion(1).addAllStripes(List.of(stripes)).build();
    }

    /** The owned LIds after {@code lid}, up to {@code until}, by repeated nextOwnedAfter. */
    static long[] walk(Layout l, String m, long lid, long until) {
        java.util.List<Long> out = new java.util.ArrayList<>();
        for (long next = StripeMap.nextOwnedAfter(l, m, lid); next != 0 && next <= until;
             next = StripeMap.nextOwnedAfter(l, m, next)) {
            out.add(next);
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    @Test
    void blocksAreAThousandLidsFromLidOne() {
        assertThat(StripeMap.blockOf(1)).isZero();
        assertThat(StripeMap.blockOf(1000)).isZero();
        assertThat(StripeMap.blockOf(1001)).isEqualTo(1);
        assertThat(StripeMap.firstLidOf(0)).isEqualTo(1);
        assertThat(StripeMap.firstLidOf(3)).isEqualTo(3001);
    }

    @Test
    void noStripeNoOwner() {
        assertThat(StripeMap.ownerOf(Layout.getDefaultInstance(), 1)).isNull();
        assertThat(StripeMap.ownerOf(layout(stripe(501, "a")), 500)).isNull();
        assertThat(StripeMap.nextOwnedAfter(Layout.getDefaultInstance(), "a", 0)).isZero();
    }

    @Test
    void ownerOfRotatesBlocksOverTheCoveringStripesMaintainers() {
        Layout l = layout(stripe(1, "a", "b", "c"), stripe(2501, "a", "c"), stripe(7001, "d"));
        assertThat(StripeMap.ownerOf(l, 1)).isEqualTo("a");
        assertThat(StripeMap.ownerOf(l, 1000)).isEqualTo("a");
        assertThat(StripeMap.ownerOf(l, 1001)).isEqualTo("b");
        assertThat(StripeMap.ownerOf(l, 2001)).isEqualTo("c");
        assertThat(StripeMap.ownerOf(l, 2500)).isEqualTo("c");
        // The second stripe starts mid-block 2: its owner is by block index over the stripe's list.
        assertThat(StripeMap.ownerOf(l, 2501)).isEqualTo("a");
        assertThat(StripeMap.ownerOf(l, 3001)).isEqualTo("c");
        assertThat(StripeMap.ownerOf(l, 4001)).isEqualTo("a");
        assertThat(StripeMap.ownerOf(l, 6001)).isEqualTo("a");
        assertThat(StripeMap.ownerOf(l, 7000)).isEqualTo("a");
        assertThat(StripeMap.ownerOf(l, 7001)).isEqualTo("d");
        assertThat(StripeMap.ownerOf(l, 1_000_000)).isEqualTo("d");
        assertThat(StripeMap.stripeOf(l, 2500)).isEqualTo(l.getStripes(0));
        assertThat(StripeMap.stripeOf(l, 2501)).isEqualTo(l.getStripes(1));
    }

    @Test
    void nextOwnedAfterWithOneMaintainerIsTheNextLid() {
        Layout l = layout(stripe(1, "a"));
        assertThat(StripeMap.nextOwnedAfter(l, "a", 0)).isEqualTo(1);
        assertThat(StripeMap.nextOwnedAfter(l, "a", 999)).isEqualTo(1000);
        assertThat(StripeMap.nextOwnedAfter(l, "a", 1000)).isEqualTo(1001);
        assertThat(StripeMap.nextOwnedAfter(l, "b", 0)).isZero();
    }

    @Test
    void nextOwnedAfterSkipsOtherMaintainersBlocks() {
        Layout l = layout(stripe(1, "a", "b", "c"));
        assertThat(StripeMap.nextOwnedAfter(l, "a", 999)).isEqualTo(1000);
        assertThat(StripeMap.nextOwnedAfter(l, "a", 1000)).isEqualTo(3001);
        assertThat(StripeMap.nextOwnedAfter(l, "b", 0)).isEqualTo(1001);
        assertThat(StripeMap.nextOwnedAfter(l, "c", 1500)).isEqualTo(2001);
        assertThat(StripeMap.nextOwnedAfter(l, "c", 3000)).isEqualTo(5001);
    }

    @Test
    void nextOwnedAfterStartsAtTheFirstStripe() {
        Layout l = layout(stripe(2501, "a", "b"));
        assertThat(StripeMap.nextOwnedAfter(l, "a", 0)).isEqualTo(2501);
        // Block 2 belongs to a (2 mod 2 = 0), so b's first LId is block 3's.
        assertThat(StripeMap.nextOwnedAfter(l, "b", 0)).isEqualTo(3001);
    }

    @Test
    void aMaintainerAbsentFromLaterStripesOwnsNothingAfterItsLastStripe() {
        Layout l = layout(stripe(1, "a", "b"), stripe(2501, "b"));
        assertThat(StripeMap.nextOwnedAfter(l, "a", 0)).isEqualTo(1);
        assertThat(StripeMap.nextOwnedAfter(l, "a", 999)).isEqualTo(1000);
        assertThat(StripeMap.nextOwnedAfter(l, "a", 1000)).isEqualTo(2001);
        assertThat(StripeMap.nextOwnedAfter(l, "a", 2499)).isEqualTo(2500);
        assertThat(StripeMap.nextOwnedAfter(l, "a", 2500)).isZero();
        assertThat(StripeMap.nextOwnedAfter(l, "a", 10_000)).isZero();
        assertThat(StripeMap.nextOwnedAfter(l, "b", 2500)).isEqualTo(2501);
    }

    @Test
    void nextOwnedAfterCrossesIntoALaterStripeWhereTheMaintainerOwnsLidsRightAtItsStart() {
        // a owns block 0 of the first stripe; block 1 is b's; from 1501 on a owns everything.
        Layout l = layout(stripe(1, "a", "b"), stripe(1501, "a"));
        assertThat(StripeMap.nextOwnedAfter(l, "a", 1000)).isEqualTo(1501);
        // The skip to a's next block of the first stripe (2001) must not jump over 1501..2000.
        assertThat(walk(l, "a", 995, 1503)).containsExactly(996, 997, 998, 999, 1000, 1501, 1502, 1503);
        assertThat(StripeMap.nextOwnedAfter(l, "b", 1000)).isEqualTo(1001);
        assertThat(StripeMap.nextOwnedAfter(l, "b", 1500)).isZero();
    }

    @Test
    void nextOwnedAfterAgreesWithOwnerOfEverywhere() {
        Layout l = layout(stripe(1, "a", "b", "c"), stripe(2501, "a", "c"), stripe(4001, "b"),
                stripe(4501, "c", "b", "a"), stripe(9001, "a"));
        for (String m : List.of("a", "b", "c", "x")) {
            long expected = m.equals("a") ? 12_001 : 0; // the last stripe is a's alone
            for (long lid = 12_000; lid >= 0; lid--) {
                assertThat(StripeMap.nextOwnedAfter(l, m, lid)).as("%s after %d", m, lid).isEqualTo(expected);
                if (lid > 0 && m.equals(StripeMap.ownerOf(l, lid))) {
                    expected = lid;
                }
            }
        }
    }

    @Test
    void describeShareListsTheFirstRangesOfEachStripeForPeople() {
        Layout l = layout(stripe(1, "a", "b", "c"), stripe(2501, "a", "c"), stripe(7001, "d"));
        // Blocks count from LId 1 in every stripe: block 2 (2501–3000 here) is a's in the second stripe.
        assertThat(StripeMap.describeShare(l, "a")).isEqualTo("1–1000, 2501–3000, 4001–5000, 6001–7000");
        assertThat(StripeMap.describeShare(l, "b")).isEqualTo("1001–2000");
        assertThat(StripeMap.describeShare(l, "c")).isEqualTo("2001–2500, 3001–4000, 5001–6000");
        assertThat(StripeMap.describeShare(l, "d")).isEqualTo("7001–…");
        assertThat(StripeMap.describeShare(l, "e")).isEqualTo("none");
        assertThat(StripeMap.describeShare(layout(stripe(1, "a", "b")), "b")).isEqualTo("1001–2000, 3001–4000, 5001–6000, …");
    }

    @Test
    void namesTellsWhetherAnyStripeNamesTheMaintainer() {
        Layout l = layout(stripe(1, "a", "b"), stripe(2501, "b"));
        assertThat(StripeMap.names(l, "a")).isTrue();
        assertThat(StripeMap.names(l, "b")).isTrue();
        assertThat(StripeMap.names(l, "c")).isFalse();
    }

    @Test
    void withStripeAddsAStripeAndBumpsTheVersion() {
        Layout first = StripeMap.withStripe(Layout.getDefaultInstance(), 1, List.of("a", "b"));
        assertThat(first.getStripesList()).containsExactly(stripe(1, "a", "b"));
        assertThat(first.getVersion()).isEqualTo(1);

        Layout second = StripeMap.withStripe(first, 2501, List.of("b"));
        assertThat(second.getStripesList()).containsExactly(stripe(1, "a", "b"), stripe(2501, "b"));
        assertThat(second.getVersion()).isEqualTo(2);
    }

    @Test
    void withStripeOfTheSameMaintainersChangesNothing() {
        Layout l = layout(stripe(1, "a", "b"));
        assertThat(StripeMap.withStripe(l, 5001, List.of("a", "b"))).isSameAs(l);
    }

    @Test
    void withStripeAtTheLastStripesStartReplacesIt() {
        Layout l = layout(stripe(1, "a", "b"), stripe(2501, "b"));
        Layout replaced = StripeMap.withStripe(l, 2501, List.of("b", "c"));
        assertThat(replaced.getStripesList()).containsExactly(stripe(1, "a", "b"), stripe(2501, "b", "c"));
        assertThat(replaced.getVersion()).isEqualTo(2);
    }

    @Test
    void withStripeBeforeTheLastStripesStartIsRefused() {
        Layout l = layout(stripe(1, "a", "b"), stripe(2501, "b"));
        assertThatThrownBy(() -> StripeMap.withStripe(l, 2500, List.of("c")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2500").hasMessageContaining("2501");
    }
}
