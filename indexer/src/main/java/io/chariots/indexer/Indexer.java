package io.chariots.indexer;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.runtime.RoleRuntime;

/**
 * The indexer process. Startup wiring only: for now it serves its gRPC port,
 * {@code /health} and {@code /metrics}, and registers with the controller;
 * its part of the append path is wired here as it lands.
 */
public final class Indexer {
    private Indexer() {
    }

    public static RoleRuntime.Handle start(RoleConfig config) throws Exception {
        return RoleRuntime.launchGrpcRole(config);
    }
}
