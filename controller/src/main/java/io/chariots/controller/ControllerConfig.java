package io.chariots.controller;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;

import java.time.Duration;

/**
 * Controller tunables, validated once at start.
 *
 * @param memberTimeout  a member silent this long (no heartbeat) is dead; key {@code controller.member_timeout_ms}, default 3000
 * @param grace          a member whose stream closed is dead unless it rejoins within this; key {@code controller.grace_ms}, default 1500
 * @param probeInterval  how often members registered over HTTP are probed by TCP connect; key {@code controller.probe_interval_ms}, default 1000
 * @param deadRetention  how long a dead member stays in {@code GET /cluster}; key {@code controller.dead_retention_ms}, default 600000
 * @param verifyMembers  whether a registration enters the views only once its gRPC address answers as the role and
 *                       instance it claims; key {@code controller.verify_members}, default true
 * @param verifyTimeout  how long that check waits for the answer; key {@code controller.verify_timeout_ms}, default 3000
 */
public record ControllerConfig(Duration memberTimeout, Duration grace, Duration probeInterval, Duration deadRetention,
                               boolean verifyMembers, Duration verifyTimeout) {
    public static ControllerConfig from(RoleConfig role) {
        Settings s = role.settings();
        return new ControllerConfig(
                Duration.ofMillis(s.getLong("controller.member_timeout_ms", 3000, 100, 600_000)),
                Duration.ofMillis(s.getLong("controller.grace_ms", 1500, 0, 600_000)),
                Duration.ofMillis(s.getLong("controller.probe_interval_ms", 1000, 50, 600_000)),
                Duration.ofMillis(s.getLong("controller.dead_retention_ms", 600_000, 0, 86_400_000)),
                s.getBoolean("controller.verify_members", true),
                Duration.ofMillis(s.getLong("controller.verify_timeout_ms", 3000, 10, 600_000)));
    }

    public static ControllerConfig defaults() {
        return new ControllerConfig(Duration.ofMillis(3000), Duration.ofMillis(1500), Duration.ofMillis(1000),
                Duration.ofMinutes(10), true, Duration.ofMillis(3000));
    }
}
