package io.chariots.common.auth;

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
    private int afterLastSweep;

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
        while (true) {
            Seen s = senders.computeIfAbsent(p.sender(), k -> new Seen());
            synchronized (s) {
                if (s.swept) {
                    continue; // the sweep removed it between the lookup and the lock: look again
                }
                if (!s.take(p.counter())) {
                    return Proof.Refusal.REPLAYED;
                }
                s.newestMillis = Math.max(s.newestMillis, p.millis());
                return null;
            }
        }
    }

    int senders() {
        return senders.size();
    }

    private void sweepNowAndThen(long nowMillis) {
        synchronized (this) {
            // Every SWEEP_EVERY proofs, and whenever the senders doubled since the last sweep.
            if (++sinceSweep < SWEEP_EVERY && senders.size() < 2 * afterLastSweep + SWEEP_EVERY) {
                return;
            }
            sinceSweep = 0;
        }
        for (Map.Entry<String, Seen> e : senders.entrySet()) {
            Seen s = e.getValue();
            synchronized (s) {
                // A new entry has taken nothing yet (newestMillis unset): it is not quiet, just new.
                if (s.top >= 0 && s.newestMillis + maxSkewMillis < nowMillis) {
                    s.swept = true;
                    senders.remove(e.getKey(), s);
                }
            }
        }
        synchronized (this) {
            afterLastSweep = senders.size();
        }
    }

    private static final class Seen {
        private final long[] bits = new long[WINDOW / 64];
        private long top = -1;
        private long newestMillis = Long.MIN_VALUE / 2;
        private boolean swept;

        boolean take(long counter) {
            if (counter > top) {
                if (counter - WINDOW >= top) { // not counter - top: that overflows for a counter near Long.MAX_VALUE
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
