package io.chariots.controller;

/**
 * Liveness of a registered instance, as the controller sees it.
 *
 * <pre>
 *                  restored at a controller start
 *                              ▼
 *   LIVE ──stream closed──▶ SUSPECT ──grace passed──▶ DEAD
 *    ▲  ◀────rejoined──────────┘                        │
 *    │  ──heartbeat timeout / probe failed for grace──▶ │
 *    └────────────── heartbeat / rejoin / probe ok ◀────┘
 * </pre>
 *
 * Only LIVE and SUSPECT instances appear in pushed views and in {@code GET /};
 * a SUSPECT one is kept for the grace period so a brief reconnect does not
 * reshape the ring. A member restored from the controller's state gets
 * member_timeout + grace to rejoin, the time it may need to notice that the
 * controller restarted.
 */
public enum Health {
    LIVE, SUSPECT, DEAD;

    boolean listed() {
        return this != DEAD;
    }
}
