package io.chariots.common.auth;

import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Takes each (sender, counter) of a {@link Proof} at most once. Per sender it
 * remembers the highest counter taken and which of the {@value #WINDOW}
 * below it were (the anti-replay window of IPsec): a counter seen before, or
 * older than the window, is refused. A sender is forgotten once its newest
 * proof is older than the allowed clock skew, since any proof of it is then
 * refused as stale anyway; so memory holds only senders active within the
 * skew, and only senders that proved the secret. Thread-safe.
 */
final class ReplayWindow {
    static final int WINDOW = 4096;
    private static final int SWEEP_EVERY = 1024;

    private final long maxSkewMillis;
    private final Map<String, Seen> senders = new ConcurrentHashMap<>();
    private int sinceSweep;

    ReplayWindow(long maxSkewMillis) {
        this.maxSkewMillis = maxSkewMillis;
    }

    /**
     * Null when {@code p} is taken; else STALE (its clock is off by more than
     * the skew) or REPLAYED. Call only for proofs made with the secret.
     */
    Proof.Refusal admit(Proof p, long nowMillis) {
        if (Math.abs(nowMillis - p.millis()) > maxSkewMillis) {
            return Proof.Refusal.STALE;
        }
        sweepNowAndThen(nowMillis);
        Seen s = senders.computeIfAbsent(p.sender(), k -> new Seen());
        synchronized (s) {
            if (!s.take(p.counter())) {
                return Proof.Refusal.REPLAYED;
            }
            s.newestMillis = Math.max(s.newestMillis, p.millis());
        }
        return null;
    }

    int senders() {
        return senders.size();
    }

    private void sweepNowAndThen(long nowMillis) {
        synchronized (this) {
            if (++sinceSweep < SWEEP_EVERY && senders.size() < SWEEP_EVERY) {
                return;
            }
            sinceSweep = 0;
        }
        for (Iterator<Seen> it = senders.values().iterator(); it.hasNext(); ) {
            Seen s = it.next();
            synchronized (s) {
                if (s.newestMillis + maxSkewMillis < nowMillis) {
                    it.remove();
                }
            }
        }
    }

    private static final class Seen {
        private final long[] bits = new long[WINDOW / 64];
        private long top = -1;
        private long newestMillis = Long.MIN_VALUE / 2;

        boolean take(long counter) {
            if (counter > top) {
                if (counter - top >= WINDOW) {
                    java.util.Arrays.fill(bits, 0L);
                } else {
                    for (long c = top + 1; c < counter; c++) {
                        clear(c);
                    }
                }
                top = counter;
                set(counter);
                return true;
            }
            if (top - counter >= WINDOW || isSet(counter)) {
                return false;
            }
            set(counter);
            return true;
        }

        private int slot(long c) {
            return (int) (c & (WINDOW - 1));
        }

        private boolean isSet(long c) {
            return (bits[slot(c) >>> 6] & (1L << slot(c))) != 0;
        }

        private void set(long c) {
            bits[slot(c) >>> 6] |= 1L << slot(c);
        }

        private void clear(long c) {
            bits[slot(c) >>> 6] &= ~(1L << slot(c));
        }
    }
}
