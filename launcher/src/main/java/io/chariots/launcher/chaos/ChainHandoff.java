package io.chariots.launcher.chaos;

import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Passes acknowledged chain links from one load lane to the next, so that an
 * effect is sent only after its cause was acknowledged, and on another path
 * (lanes alternate between HTTP through the app and acknowledged raw TCP to
 * a batcher).
 */
final class ChainHandoff {
    /** Links per chain: a cause, its effect, and that effect's effect. */
    static final int CHAIN_LENGTH = 3;

    private final List<Queue<ChaosRecord>> inboxes = new ArrayList<>();

    ChainHandoff(int lanes) {
        for (int i = 0; i < lanes; i++) {
            inboxes.add(new ConcurrentLinkedQueue<>());
        }
    }

    /** {@code record}, sent by {@code lane}, was acknowledged: if its chain goes on, the next lane sends the effect. */
    void acknowledged(int lane, ChaosRecord record) {
        if (record.chained() && record.depth() < CHAIN_LENGTH - 1) {
            inboxes.get((lane + 1) % inboxes.size()).add(record);
        }
    }

    /** A cause whose effect {@code lane} is to send next, or null. */
    ChaosRecord nextCause(int lane) {
        return inboxes.get(lane).poll();
    }
}
