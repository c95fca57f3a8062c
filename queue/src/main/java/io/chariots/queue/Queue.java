package io.chariots.queue;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.runtime.RoleRuntime;

/**
 * The queue process. Startup wiring only: for now it serves its gRPC port,
 * {@code /health} and {@code /metrics}, and registers with the controller;
 * its part of the append path is wired here as it lands.
 */
public final class Queue {
    private Queue() {
    }

    public static RoleRuntime.Handle start(RoleConfig config) throws Exception {
        return RoleRuntime.launchGrpcRole(config);
    }
}
