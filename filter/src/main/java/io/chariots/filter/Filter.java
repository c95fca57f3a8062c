package io.chariots.filter;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.runtime.RoleRuntime;

/**
 * The filter process. Startup wiring only: for now it serves its gRPC port,
 * {@code /health} and {@code /metrics}, and registers with the controller;
 * its part of the append path is wired here as it lands.
 */
public final class Filter {
    private Filter() {
    }

    public static RoleRuntime.Handle start(RoleConfig config) throws Exception {
        return RoleRuntime.launchGrpcRole(config);
    }
}
