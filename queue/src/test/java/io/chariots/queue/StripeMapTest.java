package io.chariots.queue;

import io.chariots.proto.Stripe;
import io.chariots.proto.Token;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class StripeMapTest {
    private static Token token(long lastLid, Stripe... stripes) {
        Token.Builder b = Token.newBuilder().setHop(1).setLastLid(lastLid);
        for (Stripe s : stripes) {
            b.addStripes(s);
        }
        return b.build();
    }

    private static Stripe stripe(long fromBlock, long epoch, long version, String... maintainers) {
        return Stripe.newBuilder().setFromBlock(fromBlock).setEpoch(epoch).setVersion(version)
                .addAllMaintainers(List.of(maintainers)).build();
    }

    @Test
    void blocksAreAThousandLIdsStartingAtLIdOne() {
        assertThat(StripeMap.BLOCK).isEqualTo(1000);
        assertThat(StripeMap.blockOf(1)).isZero();
        assertThat(StripeMap.blockOf(999)).isZero();
        assertThat(StripeMap.blockOf(1000)).isZero();
        assertThat(StripeMap.blockOf(1001)).isEqualTo(1);
        assertThat(StripeMap.blockOf(2000)).isEqualTo(1);
        assertThat(StripeMap.blockOf(2001)).isEqualTo(2);
        assertThat(StripeMap.blockOf(1_000_000_000_001L)).isEqualTo(1_000_000_000L);
    }

    @Test
    void theFirstFreeBlockIsTheFirstWithNoAssignedLId() {
        assertThat(StripeMap.firstFreeBlock(0)).isZero();
        assertThat(StripeMap.firstFreeBlock(1)).isEqualTo(1);
        assertThat(StripeMap.firstFreeBlock(999)).isEqualTo(1);
        assertThat(StripeMap.firstFreeBlock(1000)).isEqualTo(1);
        assertThat(StripeMap.firstFreeBlock(1001)).isEqualTo(2);
        assertThat(StripeMap.firstFreeBlock(5000)).isEqualTo(5);
        // Consistent with blockOf: the block after lastLid's, and the block of lastLid + 1 when that starts a block.
        for (long last = 1; last <= 5001; last++) {
            long free = StripeMap.firstFreeBlock(last);
            assertThat(free).isEqualTo(StripeMap.blockOf(last) + 1);
        }
    }

    @Test
    void withNoStripeNoLIdHasAnOwner() {
        assertThat(StripeMap.ownerOf(token(0), 1)).isNull();
        assertThat(StripeMap.ownerOf(Token.getDefaultInstance(), 12345)).isNull();
    }

    @Test
    void oneStripeDealsBlocksOutRoundRobin() {
        Token t = token(0, stripe(0, 1, 1, "m0", "m1", "m2"));
        assertThat(StripeMap.ownerOf(t, 1)).isEqualTo("m0");
        assertThat(StripeMap.ownerOf(t, 1000)).isEqualTo("m0");
        assertThat(StripeMap.ownerOf(t, 1001)).isEqualTo("m1");
        assertThat(StripeMap.ownerOf(t, 2001)).isEqualTo("m2");
        assertThat(StripeMap.ownerOf(t, 3001)).isEqualTo("m0");
        assertThat(StripeMap.ownerOf(t, 3_000_000_500L)).isEqualTo("m0"); // block 3,000,000; mod 3 = 0
        assertThat(StripeMap.ownerOf(t, 3_000_001_001L)).isEqualTo("m1"); // block 3,000,001
    }

    @Test
    void aBlockBelongsToTheNewestStripeStartingAtOrBeforeIt() {
        Token t = token(0, stripe(0, 1, 1, "a0", "a1"), stripe(3, 1, 2, "b0", "b1", "b2"), stripe(7, 2, 1, "c0"));
        // Block b -> maintainers[b mod M] of its stripe.
        String[] expected = {"a0", "a1", "a0", "b0", "b1", "b2", "b0", "c0", "c0", "c0"};
        for (int block = 0; block < expected.length; block++) {
            assertThat(StripeMap.ownerOf(t, block * 1000L + 1)).as("first LId of block %d", block)
                    .isEqualTo(expected[block]);
            assertThat(StripeMap.ownerOf(t, block * 1000L + 1000)).as("last LId of block %d", block)
                    .isEqualTo(expected[block]);
        }
    }

    @Test
    void aStripeStartingLaterLeavesEarlierBlocksWithoutOwner() {
        Token t = token(0, stripe(2, 1, 1, "m0", "m1"));
        assertThat(StripeMap.ownerOf(t, 1)).isNull();
        assertThat(StripeMap.ownerOf(t, 2000)).isNull();
        assertThat(StripeMap.ownerOf(t, 2001)).isEqualTo("m0");
        assertThat(StripeMap.ownerOf(t, 3001)).isEqualTo("m1");
    }

    @Test
    void theFirstViewStartsTheFirstStripeAtTheFirstFreeBlock() {
        Token fresh = StripeMap.withMaintainers(token(0), List.of("m0", "m1"), 1, 1);
        assertThat(fresh.getStripesList()).containsExactly(stripe(0, 1, 1, "m0", "m1"));
        assertThat(fresh.getLastLid()).isZero();
        assertThat(fresh.getHop()).isEqualTo(1);

        Token later = StripeMap.withMaintainers(token(2500), List.of("m0"), 1, 1);
        assertThat(later.getStripesList()).containsExactly(stripe(3, 1, 1, "m0"));
    }

    @Test
    void noMaintainersLeavesTheTokenAsItIs() {
        Token t = token(10, stripe(0, 1, 1, "m0"));
        assertThat(StripeMap.withMaintainers(t, List.of(), 5, 5)).isEqualTo(t);
        assertThat(StripeMap.withMaintainers(token(0), List.of(), 5, 5).getStripesList()).isEmpty();
    }

    @Test
    void aNewerViewWithOtherMaintainersAddsAStripeAtTheFirstFreeBlock() {
        Token t = token(1500, stripe(0, 1, 1, "m0", "m1"));
        Token u = StripeMap.withMaintainers(t, List.of("m0", "m1", "m2"), 1, 2);
        assertThat(u.getStripesList()).containsExactly(stripe(0, 1, 1, "m0", "m1"), stripe(2, 1, 2, "m0", "m1", "m2"));
        assertThat(u.getLastLid()).isEqualTo(1500);
        // LIds already assigned keep their owner; new blocks follow the new stripe.
        assertThat(StripeMap.ownerOf(u, 1)).isEqualTo("m0");
        assertThat(StripeMap.ownerOf(u, 1500)).isEqualTo("m1");
        assertThat(StripeMap.ownerOf(u, 2000)).isEqualTo("m1");
        assertThat(StripeMap.ownerOf(u, 2001)).isEqualTo("m2");
        assertThat(StripeMap.ownerOf(u, 3001)).isEqualTo("m0");
    }

    @Test
    void anOlderOrEqualViewChangesNothing() {
        Token t = token(1500, stripe(0, 5, 5, "m0", "m1"));
        assertThat(StripeMap.withMaintainers(t, List.of("x"), 5, 5)).isEqualTo(t);
        assertThat(StripeMap.withMaintainers(t, List.of("x"), 5, 4)).isEqualTo(t);
        assertThat(StripeMap.withMaintainers(t, List.of("x"), 4, 99)).isEqualTo(t);
        assertThat(StripeMap.withMaintainers(t, List.of("x"), 0, 0)).isEqualTo(t);
    }

    @Test
    void aNewerEpochWinsOverAHigherVersion() {
        Token t = token(0, stripe(0, 5, 9, "m0"));
        assertThat(StripeMap.withMaintainers(t, List.of("x"), 6, 0).getStripesList())
                .containsExactly(stripe(0, 6, 0, "x"));
    }

    @Test
    void epochsAndVersionsCompareUnsigned() {
        Token t = token(1000, stripe(0, 1, 1, "m0"));
        // -1 is the largest unsigned 64-bit number: newer than 1.
        Token byEpoch = StripeMap.withMaintainers(t, List.of("x"), -1L, 0);
        assertThat(byEpoch.getStripesList()).hasSize(2);
        assertThat(byEpoch.getStripes(1)).isEqualTo(stripe(1, -1L, 0, "x"));
        // And nothing signed-smaller comes after it.
        assertThat(StripeMap.withMaintainers(byEpoch, List.of("y"), 2, 0)).isEqualTo(byEpoch);

        Token byVersion = StripeMap.withMaintainers(t, List.of("x"), 1, Long.MIN_VALUE);
        assertThat(byVersion.getStripesList()).hasSize(2);
        assertThat(StripeMap.withMaintainers(byVersion, List.of("y"), 1, Long.MAX_VALUE)).isEqualTo(byVersion);
    }

    @Test
    void aNewerViewWithTheSameMaintainersChangesNothing() {
        Token t = token(1500, stripe(0, 1, 1, "m0", "m1"));
        assertThat(StripeMap.withMaintainers(t, List.of("m0", "m1"), 2, 7)).isEqualTo(t);
        // The same maintainers in another order are another striping.
        Token swapped = StripeMap.withMaintainers(t, List.of("m1", "m0"), 2, 7);
        assertThat(swapped.getStripesList()).containsExactly(stripe(0, 1, 1, "m0", "m1"), stripe(2, 2, 7, "m1", "m0"));
    }

    @Test
    void aStripeStartingAtTheSameBlockIsReplaced() {
        Token t = token(1500, stripe(0, 1, 1, "m0"));
        Token u = StripeMap.withMaintainers(t, List.of("m0", "m1"), 1, 2); // starts at block 2
        Token v = StripeMap.withMaintainers(u.toBuilder().setLastLid(2000).build(), List.of("m2"), 1, 3);
        assertThat(v.getStripesList()).containsExactly(stripe(0, 1, 1, "m0"), stripe(2, 1, 3, "m2"));
        assertThat(StripeMap.ownerOf(v, 2001)).isEqualTo("m2");
        assertThat(StripeMap.ownerOf(v, 3001)).isEqualTo("m2");

        // From a token with no LId yet, the first stripe is replaced too.
        Token w = StripeMap.withMaintainers(StripeMap.withMaintainers(token(0), List.of("a"), 1, 1), List.of("b"), 1, 2);
        assertThat(w.getStripesList()).containsExactly(stripe(0, 1, 2, "b"));
    }

    @Test
    void anAssignedLIdNeverChangesOwner() {
        List<String> pool = List.of("m0", "m1", "m2", "m3", "m4");
        for (long seed = 1; seed <= 150; seed++) {
            Random rnd = new Random(seed);
            long epoch = 1;
            long version = 1;
            Token token = StripeMap.withMaintainers(token(0), pick(rnd, pool), epoch, version);
            List<String> owners = new ArrayList<>(); // owners.get(lid - 1): the owner when lid was assigned
            List<String> history = new ArrayList<>();
            for (int step = 0; step < 25; step++) {
                // A view: usually newer, sometimes the same or older; maintainers sometimes unchanged or none.
                int kind = rnd.nextInt(10);
                long e = epoch;
                long v = version;
                if (kind < 5) {
                    v = version + 1 + rnd.nextInt(3);
                } else if (kind < 7) {
                    e = epoch + 1;
                    v = rnd.nextInt(3);
                } else if (kind < 9) {
                    v = Math.max(0, version - rnd.nextInt(2));
                    e = epoch - rnd.nextInt(2);
                }
                List<String> ms = rnd.nextInt(8) == 0 ? List.of()
                        : rnd.nextInt(4) == 0 && token.getStripesCount() > 0
                                ? token.getStripes(token.getStripesCount() - 1).getMaintainersList()
                                : pick(rnd, pool);
                token = StripeMap.withMaintainers(token, ms, e, v);
                history.add(String.format("view %d.%d %s -> %d stripes", e, v, ms, token.getStripesCount()));
                if (isNewer(e, v, epoch, version)) {
                    epoch = e;
                    version = v;
                }
                // The holder assigns some LIds: none, a few, up to a block and a half.
                long last = token.getLastLid();
                int more = switch (rnd.nextInt(4)) {
                    case 0 -> 0;
                    case 1 -> 1 + rnd.nextInt(10);
                    default -> rnd.nextInt(1500);
                };
                token = token.toBuilder().setLastLid(last + more).build();
                for (long lid = last + 1; lid <= last + more; lid++) {
                    String owner = StripeMap.ownerOf(token, lid);
                    assertThat(owner).as("seed %d: owner of new LId %d after %s", seed, lid, history).isNotNull();
                    owners.add(owner);
                }
                history.add("lastLid " + token.getLastLid());
                for (long lid = 1; lid <= token.getLastLid(); lid++) {
                    String now = StripeMap.ownerOf(token, lid);
                    if (!owners.get((int) lid - 1).equals(now)) {
                        throw new AssertionError("seed " + seed + ": LId " + lid + " moved from "
                                + owners.get((int) lid - 1) + " to " + now + " after " + history + "; token "
                                + token.getStripesList());
                    }
                }
            }
        }
    }

    private static boolean isNewer(long e, long v, long epoch, long version) {
        return Long.compareUnsigned(e, epoch) > 0 || (e == epoch && Long.compareUnsigned(v, version) > 0);
    }

    /** One to all of {@code pool}, in a random order. */
    private static List<String> pick(Random rnd, List<String> pool) {
        List<String> copy = new ArrayList<>(pool);
        Collections.shuffle(copy, rnd);
        return List.copyOf(copy.subList(0, 1 + rnd.nextInt(copy.size())));
    }
}
