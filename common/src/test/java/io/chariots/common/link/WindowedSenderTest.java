package io.chariots.common.link;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** WindowedSender through what it hands its transport, what it returns and what it reports. */
class WindowedSenderTest {
    private static final long MS = 1_000_000L;
    private static final long T0 = 5_000_000_000_000L;
    private static final WindowedSender.Backoff BACKOFF = new WindowedSender.Backoff(Duration.ofMillis(10),
            Duration.ofMillis(80));

    /** One call to the transport. */
    private record Sent(String destination, long id, String batch) {
    }

    private final List<Sent> sent = new ArrayList<>();
    private final WindowedSender<String> sender = new WindowedSender<>((d, id, b) -> sent.add(new Sent(d, id, b)), 2,
            BACKOFF);

    private List<String> sentBatches() {
        return sent.stream().map(Sent::batch).toList();
    }

    private Sent lastTo(String destination) {
        for (int i = sent.size() - 1; i >= 0; i--) {
            if (sent.get(i).destination().equals(destination)) {
                return sent.get(i);
            }
        }
        throw new AssertionError("nothing sent to " + destination);
    }

    @Test
    void submittedBatchesWaitForPollOrPump() {
        long id = sender.submit("a", "a1");
        assertThat(sent).isEmpty();
        assertThat(sender.queued("a")).isEqualTo(1);
        assertThat(sender.inFlight("a")).isZero();

        sender.pump("a", T0);
        assertThat(sent).containsExactly(new Sent("a", id, "a1"));
        assertThat(sender.queued("a")).isZero();
        assertThat(sender.inFlight("a")).isEqualTo(1);

        sender.submit("b", "b1");
        sender.pump("nobody", T0); // unknown: nothing happens
        assertThat(sent).hasSize(1);
        sender.poll(T0);
        assertThat(sentBatches()).containsExactly("a1", "b1");
    }

    @Test
    void atMostWindowBatchesAreInFlightPerDestination() {
        for (int i = 1; i <= 5; i++) {
            sender.submit("a", "a" + i);
        }
        sender.submit("b", "b1");
        sender.submit("b", "b2");
        sender.submit("b", "b3");
        sender.poll(T0);
        assertThat(sentBatches()).containsExactly("a1", "a2", "b1", "b2");
        assertThat(sender.inFlight("a")).isEqualTo(2);
        assertThat(sender.queued("a")).isEqualTo(3);
        assertThat(sender.inFlight("b")).isEqualTo(2);
        assertThat(sender.queued("b")).isEqualTo(1);

        // Polling again sends nothing while the windows are full.
        sender.poll(T0 + 1);
        assertThat(sent).hasSize(4);

        // One landing opens one slot, for that destination only.
        assertThat(sender.onSuccess(sent.get(0).id())).isEqualTo("a1");
        sender.poll(T0 + 2);
        assertThat(sentBatches()).containsExactly("a1", "a2", "b1", "b2", "a3");
        assertThat(sender.inFlight("a")).isEqualTo(2);
        assertThat(sender.queued("a")).isEqualTo(2);
    }

    @Test
    void theWindowMustBeAtLeastOne() {
        assertThatThrownBy(() -> new WindowedSender<String>((d, id, b) -> { }, 0, BACKOFF))
                .isInstanceOf(IllegalArgumentException.class);
        WindowedSender<String> one = new WindowedSender<>((d, id, b) -> sent.add(new Sent(d, id, b)), 1, BACKOFF);
        one.submit("a", "x");
        one.submit("a", "y");
        one.poll(T0);
        assertThat(sentBatches()).containsExactly("x");
    }

    @Test
    void aFailureBacksTheDestinationOffUntilItsBackoffEnds() {
        sender.submit("a", "a1");
        sender.submit("b", "b1");
        sender.poll(T0);
        assertThat(sender.state("a")).isEqualTo(WindowedSender.State.READY);

        assertThat(sender.onFailure(lastTo("a").id(), T0)).isEqualTo("a1");
        assertThat(sender.state("a")).isEqualTo(WindowedSender.State.BACKING_OFF);
        assertThat(sender.failures("a")).isEqualTo(1);
        assertThat(sender.state("b")).isEqualTo(WindowedSender.State.READY);

        sender.submit("a", "a2");
        sender.submit("b", "b2");
        long next = sender.poll(T0 + 1);
        assertThat(sentBatches()).containsExactly("a1", "b1", "b2");
        assertThat(next).isEqualTo(T0 + 10 * MS);
        sender.pump("a", T0 + 10 * MS - 1);
        assertThat(sent).hasSize(3);

        // The backoff over: the destination is probed with what its window allows.
        assertThat(sender.poll(T0 + 10 * MS)).isEqualTo(Long.MAX_VALUE);
        assertThat(sentBatches()).containsExactly("a1", "b1", "b2", "a2");
        assertThat(sender.state("a")).isEqualTo(WindowedSender.State.READY);
        // Still counting failures until a call succeeds.
        assertThat(sender.failures("a")).isEqualTo(1);
    }

    @Test
    void backoffDoublesPerFailureUpToTheMaximumAndResetsOnSuccess() {
        long now = T0;
        List<Long> waits = new ArrayList<>();
        sender.submit("a", "x");
        sender.poll(now);
        for (int i = 0; i < 6; i++) {
            String b = sender.onFailure(lastTo("a").id(), now);
            sender.retry("a", b);
            long next = sender.poll(now);
            waits.add(next - now);
            now = next;
            sender.poll(now);
            assertThat(lastTo("a").batch()).isEqualTo("x");
        }
        assertThat(waits).containsExactly(10 * MS, 20 * MS, 40 * MS, 80 * MS, 80 * MS, 80 * MS);
        assertThat(sender.failures("a")).isEqualTo(6);

        assertThat(sender.onSuccess(lastTo("a").id())).isEqualTo("x");
        assertThat(sender.failures("a")).isZero();
        assertThat(sender.state("a")).isEqualTo(WindowedSender.State.READY);

        sender.submit("a", "y");
        sender.poll(now);
        sender.onFailure(lastTo("a").id(), now);
        sender.submit("a", "z");
        assertThat(sender.poll(now)).as("back to the minimum after a success").isEqualTo(now + 10 * MS);
    }

    @Test
    void backoffPolicyDelays() {
        WindowedSender.Backoff b = new WindowedSender.Backoff(Duration.ofMillis(20), Duration.ofSeconds(1));
        assertThat(b.delayNanos(1)).isEqualTo(20 * MS);
        assertThat(b.delayNanos(2)).isEqualTo(40 * MS);
        assertThat(b.delayNanos(6)).isEqualTo(640 * MS);
        assertThat(b.delayNanos(7)).isEqualTo(1000 * MS);
        assertThat(b.delayNanos(1000)).isEqualTo(1000 * MS);
        assertThat(b.delayNanos(Integer.MAX_VALUE)).isEqualTo(1000 * MS);
        assertThatThrownBy(() -> new WindowedSender.Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new WindowedSender.Backoff(Duration.ofMillis(-1), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void backoffNeverShrinksAsFailuresGrowAndNeverExceedsTheMaximum() {
        // Minimums whose doublings overflow a long before the shift stops growing.
        long[] mins = {1, 20 * MS, 1_000 * MS, (1L << 34) + 1, (1L << 40) + 3, Long.MAX_VALUE / 3};
        for (long min : mins) {
            WindowedSender.Backoff b = new WindowedSender.Backoff(Duration.ofNanos(min), Duration.ofNanos(Long.MAX_VALUE / 2));
            long previous = 0;
            for (int f = 1; f <= 64; f++) {
                long d = b.delayNanos(f);
                assertThat(d).as("min %d, failures %d", min, f).isBetween(min, Long.MAX_VALUE / 2)
                        .isGreaterThanOrEqualTo(previous);
                previous = d;
            }
        }
    }

    @Test
    void retryPutsTheBatchFirstInItsDestinationsQueue() {
        WindowedSender<String> one = new WindowedSender<>((d, id, b) -> sent.add(new Sent(d, id, b)), 1, BACKOFF);
        one.submit("a", "a1");
        one.submit("a", "a2");
        one.submit("a", "a3");
        one.poll(T0);
        long first = sent.get(0).id();
        String failed = one.onFailure(first, T0);
        long again = one.retry("a", failed);
        assertThat(again).isNotEqualTo(first);
        assertThat(one.queued("a")).isEqualTo(3);

        one.poll(T0 + 10 * MS);
        assertThat(sentBatches()).containsExactly("a1", "a1");
        assertThat(sent.get(1).id()).isEqualTo(again);
        // The old id is spent.
        assertThat(one.onSuccess(first)).isNull();
        assertThat(one.onSuccess(again)).isEqualTo("a1");
        one.poll(T0 + 10 * MS);
        assertThat(sentBatches()).containsExactly("a1", "a1", "a2");
    }

    @Test
    void outcomesOfUnknownOrSettledBatchesAreIgnored() {
        sender.submit("a", "a1");
        sender.poll(T0);
        long id = sent.get(0).id();
        assertThat(sender.onSuccess(9999)).isNull();
        assertThat(sender.onFailure(9999, T0)).isNull();
        assertThat(sender.state("a")).isEqualTo(WindowedSender.State.READY);
        assertThat(sender.failures("a")).isZero();

        assertThat(sender.onSuccess(id)).isEqualTo("a1");
        // A second outcome for the same batch: ignored, no backoff.
        assertThat(sender.onFailure(id, T0)).isNull();
        assertThat(sender.onSuccess(id)).isNull();
        assertThat(sender.state("a")).isEqualTo(WindowedSender.State.READY);
        assertThat(sender.failures("a")).isZero();
        assertThat(sender.inFlightBatches()).isZero();
    }

    @Test
    void aBatchSettledWhileStillQueuedIsTakenOut() {
        WindowedSender<String> one = new WindowedSender<>((d, id, b) -> sent.add(new Sent(d, id, b)), 1, BACKOFF);
        one.submit("a", "a1");
        long queuedId = one.submit("a", "a2");
        one.poll(T0);
        assertThat(one.onSuccess(queuedId)).isEqualTo("a2");
        assertThat(one.queued("a")).isZero();
        assertThat(one.queuedBatches()).isZero();
        one.onSuccess(sent.get(0).id());
        one.poll(T0);
        assertThat(sentBatches()).containsExactly("a1");
    }

    @Test
    void forgetReturnsQueuedBatchesAndReportsThoseInFlight() {
        for (int i = 1; i <= 4; i++) {
            sender.submit("a", "a" + i);
        }
        sender.submit("b", "b1");
        sender.poll(T0);
        long a1 = sent.get(0).id();
        long a2 = sent.get(1).id();

        Map<Long, String> inFlight = new LinkedHashMap<>();
        List<String> queued = sender.forget("a", inFlight::put);
        assertThat(queued).containsExactly("a3", "a4");
        assertThat(inFlight).containsOnly(Map.entry(a1, "a1"), Map.entry(a2, "a2"));
        assertThat(sender.destinations()).containsExactly("b");
        assertThat(sender.queuedBatches()).isZero();
        assertThat(sender.inFlightBatches()).isEqualTo(1);
        assertThat(sender.inFlight("a")).isZero();
        assertThat(sender.queued("a")).isZero();

        // Their outcomes arrive later: ignored, and no state for "a" appears.
        assertThat(sender.onSuccess(a1)).isNull();
        assertThat(sender.onFailure(a2, T0)).isNull();
        assertThat(sender.state("a")).isEqualTo(WindowedSender.State.READY);
        assertThat(sender.failures("a")).isZero();
        assertThat(sender.destinations()).containsExactly("b");

        // Forgetting an unknown destination returns nothing; "a" can be used afresh.
        assertThat(sender.forget("a", (id, b) -> { throw new AssertionError(); })).isEmpty();
        sender.submit("a", "again");
        sender.poll(T0);
        assertThat(lastTo("a").batch()).isEqualTo("again");
    }

    @Test
    void forgetAlsoDropsTheBackoff() {
        sender.submit("a", "a1");
        sender.poll(T0);
        sender.onFailure(sent.get(0).id(), T0);
        sender.forget("a", (id, b) -> { });
        sender.submit("a", "a2");
        assertThat(sender.poll(T0 + 1)).isEqualTo(Long.MAX_VALUE);
        assertThat(lastTo("a").batch()).isEqualTo("a2");
    }

    @Test
    void clearTakesEveryBatchOutAndLaterOutcomesAreIgnored() {
        sender.submit("a", "a1");
        sender.submit("a", "a2");
        sender.submit("a", "a3");
        sender.submit("b", "b1");
        sender.poll(T0);
        List<Sent> flying = List.copyOf(sent);

        assertThat(sender.clear()).containsExactlyInAnyOrder("a1", "a2", "a3", "b1");
        assertThat(sender.queuedBatches()).isZero();
        assertThat(sender.inFlightBatches()).isZero();
        assertThat(sender.destinations()).isEmpty();
        for (Sent s : flying) {
            assertThat(sender.onFailure(s.id(), T0)).isNull();
        }
        assertThat(sender.state("a")).isEqualTo(WindowedSender.State.READY);
        assertThat(sender.clear()).isEmpty();
        sender.poll(T0 + 1);
        assertThat(sent).hasSize(flying.size());
    }

    @Test
    void pollReportsTheEarliestBackoffEndOfADestinationWithQueuedBatches() {
        sender.submit("a", "a1");
        sender.submit("b", "b1");
        sender.submit("c", "c1");
        sender.poll(T0);
        long a = sent.get(0).id();
        long b = sent.get(1).id();
        long c = sent.get(2).id();
        sender.onFailure(a, T0);            // a: until T0 + 10 ms
        sender.onFailure(b, T0 - 5 * MS);   // b: until T0 + 5 ms
        sender.onFailure(c, T0 - 9 * MS);   // c: until T0 + 1 ms, but nothing queued
        assertThat(sender.poll(T0)).as("nothing queued anywhere").isEqualTo(Long.MAX_VALUE);

        sender.submit("a", "a2");
        assertThat(sender.poll(T0)).isEqualTo(T0 + 10 * MS);
        sender.submit("b", "b2");
        assertThat(sender.poll(T0)).isEqualTo(T0 + 5 * MS);
        // b's backoff ends: it sends, and only a is left waiting.
        assertThat(sender.poll(T0 + 5 * MS)).isEqualTo(T0 + 10 * MS);
        assertThat(lastTo("b").batch()).isEqualTo("b2");
        assertThat(sender.poll(T0 + 10 * MS)).isEqualTo(Long.MAX_VALUE);
        assertThat(lastTo("a").batch()).isEqualTo("a2");
    }

    @Test
    void aSuccessEndsTheBackoffAtOnce() {
        sender.submit("a", "a1");
        sender.submit("a", "a2");
        sender.poll(T0);
        sender.onFailure(sent.get(0).id(), T0);
        sender.submit("a", "a3");
        sender.poll(T0 + 1);
        assertThat(sent).hasSize(2);
        // The other batch in flight lands: the destination works again.
        sender.onSuccess(sent.get(1).id());
        assertThat(sender.state("a")).isEqualTo(WindowedSender.State.READY);
        sender.poll(T0 + 2);
        assertThat(lastTo("a").batch()).isEqualTo("a3");
    }

    @Test
    void countsFollowBatchesThroughTheSender() {
        sender.submit("a", "a1");
        sender.submit("a", "a2");
        sender.submit("a", "a3");
        sender.submit("b", "b1");
        assertThat(sender.queuedBatches()).isEqualTo(4);
        assertThat(sender.inFlightBatches()).isZero();
        assertThat(sender.destinations()).containsExactly("a", "b");

        sender.poll(T0);
        assertThat(sender.queuedBatches()).isEqualTo(1);
        assertThat(sender.inFlightBatches()).isEqualTo(3);

        String failed = sender.onFailure(sent.get(0).id(), T0);
        assertThat(sender.inFlightBatches()).isEqualTo(2);
        sender.retry("a", failed);
        assertThat(sender.queuedBatches()).isEqualTo(2);
        assertThat(sender.queued("a")).isEqualTo(2);

        sender.onSuccess(sent.get(1).id());
        sender.onSuccess(sent.get(2).id());
        assertThat(sender.inFlightBatches()).isZero();
        sender.poll(T0 + 10 * MS);
        assertThat(sender.queuedBatches()).isZero();
        assertThat(sender.inFlightBatches()).isEqualTo(2);
        assertThat(sender.inFlight("a")).isEqualTo(2);
        assertThat(sender.inFlight("b")).isZero();
        assertThat(sender.queued("unknown")).isZero();
        assertThat(sender.inFlight("unknown")).isZero();
        assertThat(sender.failures("unknown")).isZero();
        assertThat(sender.state("unknown")).isEqualTo(WindowedSender.State.READY);
    }

    @Test
    void aDestinationBackAgainForgetsItsFailuresAndSendsAtOnce() {
        sender.submit("a", "a1");
        sender.poll(T0);
        for (int i = 0; i < 3; i++) {
            String b = sender.onFailure(lastTo("a").id(), T0);
            sender.retry("a", b);
            sender.poll(T0 + 80 * MS * (i + 1)); // each backoff over: the retry goes out
        }
        sender.onFailure(lastTo("a").id(), T0 + 300 * MS);
        sender.retry("a", "a1");
        assertThat(sender.failures("a")).isEqualTo(4);
        int before = sent.size();
        sender.poll(T0 + 301 * MS);
        assertThat(sent).as("still backing off").hasSize(before);

        sender.backAgain("a");
        assertThat(sender.failures("a")).isZero();
        sender.poll(T0 + 302 * MS);
        assertThat(sent).hasSize(before + 1);
        assertThat(lastTo("a").batch()).isEqualTo("a1");
        sender.backAgain("nobody"); // unknown: nothing happens
    }

    @Test
    void aTransportThatThrowsLosesNoBatchAndHoldsNoPlaceInTheWindow() {
        List<String> tried = new ArrayList<>();
        int[] throwsLeft = {1};
        WindowedSender<String> s = new WindowedSender<>((d, id, b) -> {
            tried.add(b);
            if (d.equals("a") && throwsLeft[0]-- > 0) {
                throw new IllegalStateException("test: channel shut down");
            }
        }, 2, BACKOFF);
        s.submit("a", "a1");
        s.submit("a", "a2");
        long b1 = s.submit("b", "b1");
        s.poll(T0);
        assertThat(tried).as("the other destination is served in the same poll").containsExactly("a1", "b1");
        assertThat(s.onSuccess(b1)).isEqualTo("b1");
        tried.remove("b1");
        assertThat(s.inFlight("a")).as("the batch that threw is not in flight").isZero();
        assertThat(s.queued("a")).isEqualTo(2);
        assertThat(s.inFlightBatches()).isZero();
        assertThat(s.queuedBatches()).isEqualTo(2);
        assertThat(s.state("a")).isEqualTo(WindowedSender.State.BACKING_OFF);
        assertThat(s.failures("a")).isEqualTo(1);

        assertThat(s.poll(T0 + 9 * MS)).isEqualTo(T0 + 10 * MS);
        assertThat(tried).hasSize(1);
        s.poll(T0 + 10 * MS);
        assertThat(tried).as("the same batch first, then the next, in the window").containsExactly("a1", "a1", "a2");
        assertThat(s.inFlight("a")).isEqualTo(2);
        assertThat(s.queued("a")).isZero();
    }
}
