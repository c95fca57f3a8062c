package io.chariots.queue;

import io.chariots.proto.Layout;
import io.chariots.proto.LayoutReply;
import io.chariots.proto.RingMember;
import io.chariots.proto.SealReply;
import io.chariots.proto.StoreReply;
import io.chariots.proto.Stripe;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/** Recovery through the calls it makes on a fake {@link Recovery.Links} and the layout it publishes. */
class RecoveryTest {
    private static final long MS = 1_000_000L;
    private static final long T0 = 8_000_000_000_000L;
    private static final String BY = "q1-instance";
    /** The queue's number for the attempt under test; the one before it is an earlier attempt's. */
    private static final long ATTEMPT = 7;
    private static final String M1 = "m1:8000";
    private static final String M2 = "m2:8000";
    private static final String M3 = "m3:8000";
    private static final String M4 = "m4:8000";
    private static final RingMember Q1 = RingMember.newBuilder().setInstanceId(BY).setAddress("q1:7000").build();
    private static final RingMember Q3 = RingMember.newBuilder().setInstanceId("q3-instance").setAddress("q3:7000").build();

    /** {@code afterLid}: a seal's, asking for the next page of its report after it (0: the first). */
    private record Call(String kind, String maintainer, long epoch, List<Long> lids, Layout layout, long afterLid) {
    }

    /** Records every call, in order. */
    private static final class FakeLinks implements Recovery.Links {
        final List<Call> calls = new ArrayList<>();

        @Override
        public void seal(String maintainer, long attempt, long epoch, String by, long afterLid) {
            assertThat(by).isEqualTo(BY);
            assertThat(attempt).isEqualTo(ATTEMPT);
            calls.add(new Call("seal", maintainer, epoch, List.of(), null, afterLid));
        }

        @Override
        public void fillHoles(String maintainer, long attempt, long epoch, List<Long> lids) {
            assertThat(attempt).isEqualTo(ATTEMPT);
            calls.add(new Call("holes", maintainer, epoch, List.copyOf(lids), null, 0));
        }

        @Override
        public void setLayout(String maintainer, Layout layout) {
            calls.add(new Call("layout", maintainer, layout.getEpoch(), List.of(), layout, 0));
        }

        List<String> to(String kind) {
            return calls.stream().filter(c -> c.kind().equals(kind)).map(Call::maintainer).toList();
        }

        List<Call> of(String kind) {
            return calls.stream().filter(c -> c.kind().equals(kind)).toList();
        }

        void clear() {
            calls.clear();
        }
    }

    private final FakeLinks links = new FakeLinks();

    private static Stripe stripe(long from, String... maintainers) {
        return Stripe.newBuilder().setFromLid(from).addAllMaintainers(List.of(maintainers)).build();
    }

    private static Layout layout(long epoch, long version, long startLid, Stripe... stripes) {
        return Layout.newBuilder().setEpoch(epoch).setVersion(version).setStartLid(startLid)
                .addAllStripes(List.of(stripes)).addRing(Q1)
                .addRing(RingMember.newBuilder().setInstanceId("q2-instance").setAddress("q2:7000")).build();
    }

    private static SealReply sealed(Layout layout, long floor, long... lids) {
        SealReply.Builder b = SealReply.newBuilder().setSealed(true).setEpoch(2).setBy(BY).setLayout(layout)
                .setFloor(floor);
        long max = floor;
        for (long l : lids) {
            b.addLids(l).addIds(l % 2 == 0 ? "" : "id-" + l);
            max = Math.max(max, l);
        }
        return b.setMaxLid(max).build();
    }

    private static StoreReply stored() {
        return StoreReply.newBuilder().setStatus(StoreReply.Status.STORED).build();
    }

    private static LayoutReply accepted() {
        return LayoutReply.newBuilder().setAccepted(true).build();
    }

    // Epoch 1: blocks of [m1, m2] from LId 1, then [m2, m1] from 1501 (mid-block 1), and a stripe from
    // 5001 for LIds nobody has been given yet.
    // Owners: 1..1000 m1, 1001..1500 m2, 1501..2000 m1, 2001..3000 m2, ...
    private static final Layout BASE = layout(1, 2, 0, stripe(1, M1, M2), stripe(1501, M2, M1), stripe(5001, M1));

    private Recovery recovery(Layout base, List<String> live, List<RingMember> ring) {
        Recovery r = new Recovery(links, ATTEMPT, 2, BY, base, live, ring, "test", null);
        r.start(T0);
        return r;
    }

    // ------------------------------------------------------------ which maintainers

    @Test
    void maintainersThatMayHoldLidsOfTheCurrentEpoch() {
        Layout l = layout(3, 0, 2000, stripe(1, "a", "b"), stripe(1501, "c"), stripe(2001, "d", "e"));
        assertThat(Recovery.mayHoldCurrentLids(l)).containsExactly("d", "e");
        // From 1999 on: LId 2000 is c's, and may be of this epoch.
        assertThat(Recovery.mayHoldCurrentLids(l.toBuilder().setStartLid(1999).build())).containsExactly("c", "d", "e");
        assertThat(Recovery.mayHoldCurrentLids(l.toBuilder().setStartLid(0).build())).containsExactly("a", "b", "c",
                "d", "e");
        // The last stripe always may.
        assertThat(Recovery.mayHoldCurrentLids(l.toBuilder().setStartLid(1_000_000).build())).containsExactly("d", "e");
        assertThat(Recovery.mayHoldCurrentLids(Layout.getDefaultInstance())).isEmpty();
    }

    @Test
    void startSealsEachMaintainerThatMayHoldLidsAndEachLiveOneOnce() {
        Layout base = layout(3, 0, 2000, stripe(1, "a"), stripe(1501, "b"), stripe(2001, "c", "d"));
        Recovery r = new Recovery(links, ATTEMPT, 4, BY, base, List.of("d", "e"), List.of(Q1), "test", null);
        r.start(T0);
        assertThat(links.to("seal")).containsExactlyInAnyOrder("c", "d", "e");
        assertThat(links.of("seal")).allSatisfy(c -> assertThat(c.epoch()).isEqualTo(4));
        assertThat(r.step()).isEqualTo(Recovery.Step.SEALING);
        assertThat(r.epoch()).isEqualTo(4);
        assertThat(r.reason()).isEqualTo("test");
    }

    // ------------------------------------------------------------ the whole way

    @Test
    void holesAreTheOwnedLidsUpToTheLogsEndThatNoMaintainerReported() {
        Recovery r = recovery(BASE, List.of(M1, M2, M3), List.of(Q1, Q3));
        assertThat(links.to("seal")).containsExactlyInAnyOrder(M1, M2, M3);
        links.clear();

        r.onSealed(M1, ATTEMPT, sealed(BASE, 1000, 1501, 1503, 1505), T0);
        r.onSealed(M2, ATTEMPT, sealed(BASE, 1495, 1497, 1500), T0);
        assertThat(links.calls).as("m3 has not answered").isEmpty();
        assertThat(r.step()).isEqualTo(Recovery.Step.SEALING);
        r.onSealed(M3, ATTEMPT, sealed(BASE, 0), T0);

        assertThat(r.step()).isEqualTo(Recovery.Step.FILLING);
        assertThat(r.lastLid()).isEqualTo(1505);
        assertThat(links.of("holes")).extracting(Call::maintainer, Call::lids).containsExactlyInAnyOrder(
                org.assertj.core.groups.Tuple.tuple(M1, List.of(1502L, 1504L)),
                org.assertj.core.groups.Tuple.tuple(M2, List.of(1496L, 1498L, 1499L)));
        assertThat(links.of("holes")).allSatisfy(c -> assertThat(c.epoch()).isEqualTo(2));
        assertThat(links.calls).hasSize(2);
    }

    @Test
    void aReportCutIntoPagesIsAskedForToTheEndAndItsLidsAreNotTakenForHoles() {
        Recovery r = recovery(BASE, List.of(M1, M2), List.of(Q1));
        r.onSealed(M2, ATTEMPT, sealed(BASE, 1500), T0);
        links.clear();
        // m1 holds 1501, 1503 and 1505 above its floor; a page lists two of them (max_lid says there is more).
        SealReply first = sealed(BASE, 1000, 1501, 1503).toBuilder().setMaxLid(1505).build();
        r.onSealed(M1, ATTEMPT, first, T0);
        assertThat(r.step()).as("the report is not whole yet").isEqualTo(Recovery.Step.SEALING);
        assertThat(links.of("seal")).extracting(Call::maintainer, Call::afterLid)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(M1, 1503L));
        links.clear();
        // The next page fails once: the retry asks after the same LId.
        r.onSealFailed(M1, ATTEMPT, "DEADLINE_EXCEEDED", T0);
        r.poll(T0 + TimeUnit.SECONDS.toNanos(1));
        assertThat(links.of("seal")).extracting(Call::maintainer, Call::afterLid)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(M1, 1503L));
        r.onSealed(M1, ATTEMPT, sealed(BASE, 1000, 1505), T0);

        assertThat(r.step()).isEqualTo(Recovery.Step.FILLING);
        assertThat(r.lastLid()).isEqualTo(1505);
        assertThat(links.of("holes")).extracting(Call::maintainer, Call::lids).containsExactly(
                org.assertj.core.groups.Tuple.tuple(M1, List.of(1502L, 1504L)));
    }

    @Test
    void aMaintainerThatDoesNotPageEndsTheAttemptInsteadOfHolesOverItsRecords() {
        // A maintainer that lists from its floor whatever it is asked answers the first page again.
        Recovery r = recovery(BASE, List.of(M1, M2), List.of(Q1));
        r.onSealed(M2, ATTEMPT, sealed(BASE, 1500), T0);
        SealReply first = sealed(BASE, 1000, 1501, 1503).toBuilder().setMaxLid(1505).build();
        r.onSealed(M1, ATTEMPT, first, T0);
        links.clear();
        r.onSealed(M1, ATTEMPT, first, T0);
        assertThat(r.step()).isEqualTo(Recovery.Step.ABORTED);
        assertThat(links.calls).as("no holes where 1505 may be held, no more asking").isEmpty();
    }

    @Test
    void aFloorThatRoseBetweenPagesIsTheReportsFloor() {
        // Between m1's pages, late hole markers (of this queue's attempt before, at this epoch) filled its gaps up to
        // 1506: the next page lists only what lies above that, and what lay between is held, not missing.
        Recovery r = recovery(BASE, List.of(M1, M2), List.of(Q1));
        r.onSealed(M2, ATTEMPT, sealed(BASE, 1500), T0);
        r.onSealed(M1, ATTEMPT, sealed(BASE, 1000, 1501, 1503).toBuilder().setMaxLid(1510).build(), T0);
        r.onSealed(M1, ATTEMPT, sealed(BASE, 1506, 1508, 1510), T0);
        assertThat(r.step()).isEqualTo(Recovery.Step.FILLING);
        assertThat(links.of("holes")).extracting(Call::maintainer, Call::lids).containsExactly(
                org.assertj.core.groups.Tuple.tuple(M1, List.of(1507L, 1509L)));
    }

    @Test
    void thePublishedLayoutStartsAtTheLogsEndWithAStripeForTheLiveMaintainers() {
        Recovery r = recovery(BASE, List.of(M1, M2, M3), List.of(Q1, Q3));
        r.onSealed(M1, ATTEMPT, sealed(BASE, 1000, 1501, 1503, 1505), T0);
        r.onSealed(M2, ATTEMPT, sealed(BASE, 1495, 1497, 1500), T0);
        r.onSealed(M3, ATTEMPT, sealed(BASE, 0), T0);
        links.clear();
        r.onHolesFilled(M1, ATTEMPT, stored(), T0);
        assertThat(r.step()).isEqualTo(Recovery.Step.FILLING);
        assertThat(links.calls).isEmpty();
        r.onHolesFilled(M2, ATTEMPT, stored(), T0);
        assertThat(r.holesFilled()).isEqualTo(5);

        assertThat(r.step()).isEqualTo(Recovery.Step.PUBLISHING);
        assertThat(links.to("layout")).containsExactlyInAnyOrder(M1, M2, M3);
        Layout published = links.of("layout").get(0).layout();
        assertThat(links.of("layout")).allSatisfy(c -> assertThat(c.layout()).isEqualTo(published));
        assertThat(published.getEpoch()).isEqualTo(2);
        assertThat(published.getVersion()).isZero();
        assertThat(published.getStartLid()).isEqualTo(1505);
        assertThat(published.getRingList()).containsExactly(Q1, Q3);
        // The stripe from 5001 covered nothing yet: replaced by the live maintainers' from 1506.
        assertThat(published.getStripesList()).containsExactly(stripe(1, M1, M2), stripe(1501, M2, M1),
                stripe(1506, M1, M2, M3));

        r.onLayoutSet(M1, accepted(), T0);
        r.onLayoutSet(M3, accepted(), T0);
        assertThat(r.step()).as("m2 has not stored it").isEqualTo(Recovery.Step.PUBLISHING);
        r.onLayoutSet(M2, accepted(), T0);
        assertThat(r.step()).isEqualTo(Recovery.Step.DONE);
        assertThat(r.layout()).isEqualTo(published);
        assertThat(r.lastLid()).isEqualTo(1505);
        assertThat(r.waitingFor()).isEmpty();
    }

    @Test
    void withNothingMissingItPublishesAtOnce() {
        Layout base = layout(1, 0, 0, stripe(1, M1));
        Recovery r = recovery(base, List.of(M1), List.of(Q1));
        links.clear();
        r.onSealed(M1, ATTEMPT, sealed(base, 3, 4, 5), T0);
        assertThat(links.of("holes")).isEmpty();
        assertThat(r.step()).isEqualTo(Recovery.Step.PUBLISHING);
        Layout published = links.of("layout").get(0).layout();
        // The live maintainers are the last stripe's: no new stripe.
        assertThat(published.getStripesList()).containsExactly(stripe(1, M1));
        assertThat(published.getStartLid()).isEqualTo(5);
        assertThat(published.getEpoch()).isEqualTo(2);
        assertThat(published.getVersion()).isZero();
        r.onLayoutSet(M1, accepted(), T0);
        assertThat(r.step()).isEqualTo(Recovery.Step.DONE);
    }

    /**
     * TOIds go on from the highest any sealed maintainer stores, or from what
     * the epoch began with for a maintainer not sealed now (it holds nothing
     * of the current epoch); the published layout carries them on.
     */
    @Test
    void theNewEpochStartsFromTheHighestTOIdOfEachOriginStoredOrCarried() {
        Layout base = layout(1, 0, 0, stripe(1, M1, M2)).toBuilder()
                .addStartToids(mark(0, 40)).addStartToids(mark(1, 9)).addStartToids(mark(2, 3)).build();
        Recovery r = recovery(base, List.of(M1, M2), List.of(Q1));
        r.onSealed(M1, ATTEMPT, sealed(base, 4).toBuilder().addMaxToids(mark(0, 41)).addMaxToids(mark(1, 5)).build(), T0);
        r.onSealed(M2, ATTEMPT, sealed(base, 0).toBuilder().addMaxToids(mark(0, 43)).addMaxToids(mark(1, 12)).build(), T0);
        assertThat(r.step()).isEqualTo(Recovery.Step.PUBLISHING);
        assertThat(r.toids().asMap()).containsExactlyInAnyOrderEntriesOf(java.util.Map.of(0, 43L, 1, 12L, 2, 3L));
        Layout published = links.of("layout").get(0).layout();
        assertThat(published.getStartToidsList()).containsExactly(mark(0, 43), mark(1, 12), mark(2, 3));
    }

    private static io.chariots.proto.OriginMark mark(int origin, long toid) {
        return io.chariots.proto.OriginMark.newBuilder().setOrigin(origin).setToid(toid).build();
    }

    @Test
    void anEmptyLogStartsAtLidZero() {
        Recovery r = recovery(Layout.getDefaultInstance(), List.of(M1, M2), List.of(Q1));
        assertThat(links.to("seal")).containsExactlyInAnyOrder(M1, M2);
        r.onSealed(M1, ATTEMPT, sealed(Layout.getDefaultInstance(), 0), T0);
        r.onSealed(M2, ATTEMPT, sealed(Layout.getDefaultInstance(), 0), T0);
        assertThat(links.of("holes")).isEmpty();
        Layout published = links.of("layout").get(0).layout();
        assertThat(published.getStartLid()).isZero();
        assertThat(published.getStripesList()).containsExactly(stripe(1, M1, M2));
        assertThat(published.getRingList()).containsExactly(Q1);
        r.onLayoutSet(M1, accepted(), T0);
        r.onLayoutSet(M2, accepted(), T0);
        assertThat(r.step()).isEqualTo(Recovery.Step.DONE);
        assertThat(r.lastLid()).isZero();
    }

    @Test
    void theLogsEndIsNeverBeforeTheEpochsStart() {
        Layout base = layout(1, 0, 700, stripe(1, M1));
        Recovery r = recovery(base, List.of(M1), List.of(Q1));
        r.onSealed(M1, ATTEMPT, sealed(base, 700), T0);
        assertThat(r.lastLid()).isEqualTo(700);
        assertThat(links.of("layout").get(0).layout().getStartLid()).isEqualTo(700);
    }

    @Test
    void withNoLiveMaintainerTheStripesStayAsTheyAre() {
        Layout base = layout(1, 0, 0, stripe(1, M1, M2));
        Recovery r = recovery(base, List.of(), List.of(Q1));
        r.onSealed(M1, ATTEMPT, sealed(base, 0, 1), T0);
        r.onSealed(M2, ATTEMPT, sealed(base, 0), T0);
        Layout published = links.of("layout").get(0).layout();
        assertThat(published.getStripesList()).containsExactly(stripe(1, M1, M2));
        assertThat(published.getStartLid()).isEqualTo(1);
    }

    @Test
    void largeHoleListsGoInSeveralCalls() {
        Layout base = layout(1, 0, 0, stripe(1, M1));
        Recovery r = recovery(base, List.of(M1), List.of(Q1));
        links.clear();
        r.onSealed(M1, ATTEMPT, sealed(base, 0, 1, 120_000), T0);
        List<Long> all = new ArrayList<>();
        for (int round = 0; r.step() == Recovery.Step.FILLING; round++) {
            assertThat(round).isLessThan(10);
            Call c = links.calls.get(links.calls.size() - 1);
            assertThat(c.kind()).isEqualTo("holes");
            assertThat(c.lids().size()).isLessThanOrEqualTo(50_000);
            all.addAll(c.lids());
            r.onHolesFilled(M1, ATTEMPT, stored(), T0);
        }
        assertThat(links.of("holes")).hasSize(3);
        assertThat(all).isEqualTo(LongStream.rangeClosed(2, 119_999).boxed().toList());
        assertThat(r.holesFilled()).isEqualTo(119_998);
        assertThat(r.step()).isEqualTo(Recovery.Step.PUBLISHING);
    }

    // ------------------------------------------------------------ newer layouts, refusals

    @Test
    void aMaintainerReportingANewerLayoutAddsItsMaintainers() {
        Layout base = layout(1, 0, 0, stripe(1, M1));
        Recovery r = recovery(base, List.of(M1), List.of(Q1));
        links.clear();
        // Someone restriped within epoch 1 and told m1: LIds from 1001 go to [m1, m4], so block 1 is m4's
        // and block 2 m1's.
        Layout newer = layout(1, 3, 0, stripe(1, M1), stripe(1001, M1, M4));
        r.onSealed(M1, ATTEMPT, sealed(newer, 0, 1, 2, 2001), T0);
        assertThat(links.to("seal")).containsExactly(M4);
        assertThat(r.step()).isEqualTo(Recovery.Step.SEALING);

        r.onSealed(M4, ATTEMPT, sealed(newer, 0, 1001, 1500), T0);
        assertThat(r.step()).isEqualTo(Recovery.Step.FILLING);
        assertThat(r.lastLid()).isEqualTo(2001);
        // Holes by the newer layout.
        List<Long> m4Holes = new ArrayList<>(LongStream.rangeClosed(1002, 1499).boxed().toList());
        m4Holes.addAll(LongStream.rangeClosed(1501, 2000).boxed().toList());
        assertThat(links.of("holes")).extracting(Call::maintainer).containsExactlyInAnyOrder(M1, M4);
        for (Call c : links.of("holes")) {
            assertThat(c.lids()).isEqualTo(c.maintainer().equals(M1)
                    ? LongStream.rangeClosed(3, 1000).boxed().toList() : m4Holes);
        }
        r.onHolesFilled(M1, ATTEMPT, stored(), T0);
        r.onHolesFilled(M4, ATTEMPT, stored(), T0);
        // The published layout builds on the newer one, and goes to m4 as well.
        assertThat(links.to("layout")).containsExactlyInAnyOrder(M1, M4);
        assertThat(links.of("layout").get(0).layout().getStripesList()).containsExactly(stripe(1, M1),
                stripe(1001, M1, M4), stripe(2002, M1));
    }

    @Test
    void anOlderLayoutInAReplyChangesNothing() {
        Recovery r = recovery(BASE, List.of(M1, M2), List.of(Q1));
        links.clear();
        Layout older = layout(1, 1, 0, stripe(1, M1, M4));
        r.onSealed(M1, ATTEMPT, sealed(older, 1000), T0);
        assertThat(links.to("seal")).isEmpty();
        r.onSealed(M2, ATTEMPT, sealed(BASE, 1500), T0);
        assertThat(r.step()).isNotEqualTo(Recovery.Step.SEALING);
    }

    @Test
    void aRefusedSealAbortsWithTheNewestEpochSeen() {
        Recovery r = recovery(BASE, List.of(M1, M2), List.of(Q1));
        r.onSealed(M1, ATTEMPT, sealed(BASE, 1000), T0);
        r.onSealed(M2, ATTEMPT, SealReply.newBuilder().setSealed(false).setEpoch(9).setBy("someone-else").build(), T0);
        assertThat(r.step()).isEqualTo(Recovery.Step.ABORTED);
        assertThat(r.newestEpochSeen()).isEqualTo(9);
        links.clear();
        // Nothing moves afterwards.
        r.onSealed(M2, ATTEMPT, sealed(BASE, 1500), T0);
        r.onHolesFilled(M1, ATTEMPT, stored(), T0);
        r.onLayoutSet(M1, accepted(), T0);
        assertThat(r.poll(T0 + 10_000 * MS)).isEqualTo(Long.MAX_VALUE);
        assertThat(links.calls).isEmpty();
        assertThat(r.step()).isEqualTo(Recovery.Step.ABORTED);
    }

    @Test
    void refusedHolesAbort() {
        Recovery r = recovery(BASE, List.of(M1, M2), List.of(Q1));
        r.onSealed(M1, ATTEMPT, sealed(BASE, 1000, 1501, 1503), T0);
        r.onSealed(M2, ATTEMPT, sealed(BASE, 1500), T0);
        assertThat(r.step()).isEqualTo(Recovery.Step.FILLING);
        r.onHolesFilled(M1, ATTEMPT, StoreReply.newBuilder().setStatus(StoreReply.Status.SEALED).setSealedEpoch(5).build(), T0);
        assertThat(r.step()).isEqualTo(Recovery.Step.ABORTED);
        assertThat(r.newestEpochSeen()).isEqualTo(5);
        assertThat(links.of("layout")).isEmpty();
    }

    @Test
    void aConflictOnHolesAbortsToo() {
        Recovery r = recovery(BASE, List.of(M1, M2), List.of(Q1));
        r.onSealed(M1, ATTEMPT, sealed(BASE, 1000, 1501, 1503), T0);
        r.onSealed(M2, ATTEMPT, sealed(BASE, 1500), T0);
        r.onHolesFilled(M1, ATTEMPT, StoreReply.newBuilder().setStatus(StoreReply.Status.CONFLICT).addConflicts(1502).build(), T0);
        assertThat(r.step()).isEqualTo(Recovery.Step.ABORTED);
        assertThat(links.of("layout")).isEmpty();
    }

    @Test
    void aRefusedLayoutAborts() {
        Layout base = layout(1, 0, 0, stripe(1, M1, M2));
        Recovery r = recovery(base, List.of(M1, M2), List.of(Q1));
        r.onSealed(M1, ATTEMPT, sealed(base, 0), T0);
        r.onSealed(M2, ATTEMPT, sealed(base, 0), T0);
        r.onLayoutSet(M1, accepted(), T0);
        r.onLayoutSet(M2, LayoutReply.newBuilder().setAccepted(false).setSealedEpoch(4).build(), T0);
        assertThat(r.step()).isEqualTo(Recovery.Step.ABORTED);
        assertThat(r.newestEpochSeen()).isEqualTo(4);
    }

    // ------------------------------------------------------------ failures and retries

    @Test
    void aFailedSealIsRetriedAfterPollAndNamedMeanwhile() {
        Recovery r = recovery(BASE, List.of(M1, M2), List.of(Q1));
        r.onSealed(M1, ATTEMPT, sealed(BASE, 1000), T0);
        links.clear();
        r.onSealFailed(M2, ATTEMPT, "UNAVAILABLE", T0);
        assertThat(r.waitingFor()).contains(M2).contains("UNAVAILABLE");
        long next = r.poll(T0 + 1);
        assertThat(next).isGreaterThan(T0 + 1).isLessThan(Long.MAX_VALUE);
        assertThat(links.calls).isEmpty();
        assertThat(r.poll(next)).isEqualTo(Long.MAX_VALUE);
        assertThat(links.to("seal")).containsExactly(M2);

        r.onSealed(M2, ATTEMPT, sealed(BASE, 1500), T0 + 2 * next);
        assertThat(r.step()).isIn(Recovery.Step.FILLING, Recovery.Step.PUBLISHING);
        assertThat(r.waitingFor()).doesNotContain("UNAVAILABLE");
    }

    // A planned change's layout, as the epoch began (version 0): blocks of [m1, m2] from LId 1.
    // Owners: 1..1000 m1, 1001..2000 m2, 2001..3000 m1, ...
    private static final Layout FIRST = layout(1, 0, 0, stripe(1, M1, M2));

    private Recovery planned(Layout base, List<String> live, long lastLid, io.chariots.common.record.OriginMarks toids) {
        Recovery r = new Recovery(links, ATTEMPT, 2, BY, base, live, List.of(Q1), "the ring changes", new Recovery.KnownEnd(lastLid, toids));
        r.start(T0);
        return r;
    }

    /** Fails {@code m}'s seal, and once more after the retry poll sends. */
    private static void failTwice(Recovery r, String m) {
        r.onSealFailed(m, ATTEMPT, "DEADLINE_EXCEEDED after 2000 ms", T0);
        assertThat(r.skipped()).as("one lost call does not leave a maintainer out").isEmpty();
        long next = r.poll(T0);
        r.poll(next);
        r.onSealFailed(m, ATTEMPT, "DEADLINE_EXCEEDED after 2000 ms", next);
    }

    @Test
    void aPlannedChangeGoesOnWithoutAMaintainerWhoseSealFailsTwiceAndLeavesItOut() {
        // The holder quiesced: LIds up to 1800 were given out and all stored, TOIds up to 40 of this datacenter
        // (0) and 7 of datacenter 1. m2 holds 1001..1800 but does not answer.
        io.chariots.common.record.OriginMarks given = new io.chariots.common.record.OriginMarks();
        given.raise(0, 40);
        given.raise(1, 7);
        Recovery r = planned(FIRST, List.of(M1, M2, M3), 1800, given);
        r.onSealed(M1, ATTEMPT, sealed(FIRST, 1000), T0); // all of m1's up to 1800: 1..1000
        r.onSealed(M3, ATTEMPT, sealed(FIRST, 0), T0);
        links.clear();
        failTwice(r, M2);

        assertThat(r.skipped()).containsExactly(M2);
        assertThat(links.to("seal")).as("one retry, then no more").containsExactly(M2);
        assertThat(r.lastLid()).as("the token's last LId, not the 1000 the sealed maintainers hold: 1001..1800 would be"
                + " given twice").isEqualTo(1800);
        assertThat(r.toids().get(0)).isEqualTo(40);
        assertThat(r.toids().get(1)).isEqualTo(7);
        assertThat(links.to("holes")).as("every LId given out is stored").isEmpty();
        assertThat(r.step()).isEqualTo(Recovery.Step.PUBLISHING);
        assertThat(links.to("layout")).containsExactlyInAnyOrder(M1, M3);
        Layout published = links.of("layout").get(0).layout();
        assertThat(published.getStartLid()).isEqualTo(1800);
        assertThat(published.getStripes(published.getStripesCount() - 1)).isEqualTo(stripe(1801, M1, M3));
        r.onLayoutSet(M1, accepted(), T0);
        r.onLayoutSet(M3, accepted(), T0);
        assertThat(r.step()).isEqualTo(Recovery.Step.DONE);
    }

    @Test
    void aMaintainerIsLeftOutOnlyWhileAnotherThatMayHoldLidsIsSealedSoThatAConcurrentAttemptIsFenced() {
        // A queue that thinks the token lost starts the same epoch and seals m1 and m2 (what the epoch's layout
        // says may hold its LIds). Were the planned change to leave out both and finish with m3 alone, both
        // attempts would complete. It may leave out one of them, never both: the other must be sealed by it.
        Recovery r = planned(FIRST, List.of(M1, M2, M3), 1800, new io.chariots.common.record.OriginMarks());
        r.onSealed(M3, ATTEMPT, sealed(FIRST, 0), T0);
        failTwice(r, M2);
        assertThat(r.skipped()).containsExactly(M2);
        r.onSealFailed(M1, ATTEMPT, "UNAVAILABLE", T0);
        long next = r.poll(T0);
        r.poll(next);
        r.onSealFailed(M1, ATTEMPT, "UNAVAILABLE", next);
        assertThat(r.skipped()).as("m1 is the last that may hold LIds of the epoch").containsExactly(M2);
        assertThat(r.step()).isEqualTo(Recovery.Step.SEALING);
        // The other attempt sealed m1 first: this one gives up.
        long again = r.poll(next);
        r.poll(again);
        r.onSealed(M1, ATTEMPT, SealReply.newBuilder().setSealed(false).setEpoch(2).setBy("q2-instance").build(), again);
        assertThat(r.step()).isEqualTo(Recovery.Step.ABORTED);
    }

    @Test
    void aRecoveryAfterAFaultAfterARestripeOrWithNoOtherLiveMaintainerWaitsForAFailedSeal() {
        Recovery fault = new Recovery(links, ATTEMPT, 2, BY, FIRST, List.of(M1, M2, M3), List.of(Q1), "test", null);
        fault.start(T0);
        fault.onSealed(M1, ATTEMPT, sealed(FIRST, 1000), T0);
        fault.onSealed(M3, ATTEMPT, sealed(FIRST, 0), T0);
        failTwice(fault, M2);
        assertThat(fault.skipped()).as("after a fault the log's end is not known without it").isEmpty();
        assertThat(fault.step()).isEqualTo(Recovery.Step.SEALING);

        // A restripe in the epoch: a queue that thinks the token lost may start from the layout before it.
        Layout restriped = layout(1, 1, 0, stripe(1, M1, M2), stripe(1801, M1, M3));
        Recovery after = planned(restriped, List.of(M1, M2, M3), 1800, new io.chariots.common.record.OriginMarks());
        after.onSealed(M1, ATTEMPT, sealed(restriped, 1000), T0);
        after.onSealed(M3, ATTEMPT, sealed(restriped, 0), T0);
        failTwice(after, M2);
        assertThat(after.skipped()).isEmpty();
        assertThat(after.step()).isEqualTo(Recovery.Step.SEALING);

        Layout alone = layout(1, 0, 0, stripe(1, M2));
        Recovery one = planned(alone, List.of(M2), 10, new io.chariots.common.record.OriginMarks());
        failTwice(one, M2);
        assertThat(one.skipped()).as("the only maintainer: the new epoch would have none to store to").isEmpty();
        assertThat(one.step()).isEqualTo(Recovery.Step.SEALING);
        assertThat(one.waitingFor()).contains(M2);
    }

    @Test
    void aLateAnswerToAFailedSealIsIgnoredUntilTheRetryIsAnswered() {
        Recovery r = recovery(BASE, List.of(M1, M2), List.of(Q1));
        r.onSealed(M1, ATTEMPT, sealed(BASE, 1000), T0);
        r.onSealFailed(M2, ATTEMPT, "DEADLINE_EXCEEDED", T0);
        r.onSealed(M2, ATTEMPT, sealed(BASE, 1500), T0);
        assertThat(r.step()).isEqualTo(Recovery.Step.SEALING);
        long next = r.poll(T0);
        r.poll(next);
        r.onSealed(M2, ATTEMPT, sealed(BASE, 1500), next);
        assertThat(r.step()).isNotEqualTo(Recovery.Step.SEALING);
    }

    @Test
    void answersToAnEarlierAttemptsCallsAreNotThisOnes() {
        // This queue's attempt before (at epoch 1, which another queue's epoch 1 won) ended; its calls' answers
        // come late, while the attempt at epoch 2 waits for its own.
        Recovery r = recovery(BASE, List.of(M1, M2), List.of(Q1));
        r.onSealed(M1, ATTEMPT, sealed(BASE, 1000, 1501, 1503), T0);
        r.onSealed(M2, ATTEMPT - 1, sealed(BASE, 1500).toBuilder().setEpoch(1).build(), T0);
        assertThat(r.step()).as("m2 sealed at epoch 1 is not sealed at 2: a holder of epoch 1 could still store to it")
                .isEqualTo(Recovery.Step.SEALING);
        r.onSealed(M2, ATTEMPT - 1, SealReply.newBuilder().setSealed(false).setEpoch(1).setBy("q2-instance").build(), T0);
        assertThat(r.step()).as("refused at epoch 1, which this attempt is past").isEqualTo(Recovery.Step.SEALING);
        r.onSealFailed(M2, ATTEMPT - 1, "DEADLINE_EXCEEDED", T0);
        links.clear();
        r.poll(T0 + TimeUnit.SECONDS.toNanos(1));
        assertThat(links.calls).as("this attempt's own seal of m2 is still on its way: nothing to resend").isEmpty();

        r.onSealed(M2, ATTEMPT, sealed(BASE, 1500), T0);
        assertThat(r.step()).isEqualTo(Recovery.Step.FILLING);
        links.clear();
        r.onHolesFailed(M1, ATTEMPT - 1, "UNAVAILABLE", T0);
        r.poll(T0 + TimeUnit.SECONDS.toNanos(2));
        assertThat(links.calls).as("this attempt's holes are still on their way: nothing to resend").isEmpty();
        r.onHolesFilled(M1, ATTEMPT - 1, stored(), T0);
        assertThat(r.step()).as("the earlier attempt's holes were another set").isEqualTo(Recovery.Step.FILLING);
        r.onHolesFilled(M1, ATTEMPT, stored(), T0);
        assertThat(r.step()).isEqualTo(Recovery.Step.PUBLISHING);
    }

    @Test
    void anEarlierAttemptsFailedSealDoesNotCountTowardLeavingAMaintainerOut() {
        Recovery r = planned(FIRST, List.of(M1, M2, M3), 1800, new io.chariots.common.record.OriginMarks());
        r.onSealed(M1, ATTEMPT, sealed(FIRST, 1000), T0);
        r.onSealed(M3, ATTEMPT, sealed(FIRST, 0), T0);
        r.onSealFailed(M2, ATTEMPT - 1, "DEADLINE_EXCEEDED after 2000 ms", T0); // the earlier attempt's call, timed out late
        long t1 = T0 + TimeUnit.SECONDS.toNanos(1);
        r.poll(t1);
        r.onSealFailed(M2, ATTEMPT, "DEADLINE_EXCEEDED after 2000 ms", t1);
        assertThat(r.skipped()).as("one of this attempt's calls failed").isEmpty();
        long t2 = t1 + TimeUnit.SECONDS.toNanos(1);
        r.poll(t2);
        r.onSealFailed(M2, ATTEMPT, "DEADLINE_EXCEEDED after 2000 ms", t2);
        assertThat(r.skipped()).containsExactly(M2);
    }

    @Test
    void failedHolesAndLayoutsAreRetriedAfterPoll() {
        Recovery r = recovery(BASE, List.of(M1, M2), List.of(Q1));
        r.onSealed(M1, ATTEMPT, sealed(BASE, 1000, 1501, 1503), T0);
        r.onSealed(M2, ATTEMPT, sealed(BASE, 1500), T0);
        List<Long> m1Holes = links.of("holes").get(0).lids();
        assertThat(m1Holes).containsExactly(1502L);
        links.clear();

        r.onHolesFailed(M1, ATTEMPT, "UNAVAILABLE", T0);
        assertThat(r.waitingFor()).contains(M1);
        assertThat(r.step()).isEqualTo(Recovery.Step.FILLING);
        long next = r.poll(T0);
        assertThat(links.calls).isEmpty();
        r.poll(next);
        assertThat(links.of("holes")).extracting(Call::maintainer, Call::lids)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(M1, m1Holes));
        r.onHolesFilled(M1, ATTEMPT, stored(), next);
        assertThat(r.step()).isEqualTo(Recovery.Step.PUBLISHING);
        links.clear();

        r.onLayoutSet(M1, accepted(), next);
        r.onLayoutFailed(M2, "UNAVAILABLE", next);
        assertThat(r.waitingFor()).contains(M2);
        assertThat(r.step()).isEqualTo(Recovery.Step.PUBLISHING);
        long again = r.poll(next);
        r.poll(again);
        assertThat(links.to("layout")).containsExactly(M2);
        assertThat(r.step()).isEqualTo(Recovery.Step.PUBLISHING);
        r.onLayoutSet(M2, accepted(), again);
        assertThat(r.step()).isEqualTo(Recovery.Step.DONE);
        assertThat(r.waitingFor()).isEmpty();
    }

    @Test
    void repliesFromMaintainersNotAskedAreIgnored() {
        Layout base = layout(1, 0, 0, stripe(1, M1));
        Recovery r = recovery(base, List.of(M1), List.of(Q1));
        r.onSealed(M4, ATTEMPT, sealed(base, 0), T0);
        r.onSealed(M1, ATTEMPT, sealed(base, 0, 1), T0);
        r.onLayoutSet(M4, accepted(), T0);
        assertThat(r.step()).isEqualTo(Recovery.Step.PUBLISHING);
        r.onLayoutSet(M1, accepted(), T0);
        assertThat(r.step()).isEqualTo(Recovery.Step.DONE);
        // A second answer after DONE changes nothing.
        r.onLayoutSet(M1, LayoutReply.newBuilder().setAccepted(false).setSealedEpoch(7).build(), T0);
        assertThat(r.step()).isEqualTo(Recovery.Step.DONE);
    }
}
