package io.chariots.app;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.http.HttpServer;
import io.chariots.common.runtime.RoleRuntime;

/**
 * The app process: the HTTP front on port 8080. Startup wiring only: for now
 * it serves {@code /health} and {@code /metrics} on its HTTP port and
 * registers with the controller; record routes are wired here as they land.
 */
public final class App {
    private App() {
    }

    public static RoleRuntime.Handle start(RoleConfig config) throws Exception {
        return RoleRuntime.launch(config, rt -> {
            rt.manage(rt.withAdminRoutes(HttpServer.builder()).start(rt.transport(), config.bindHost(), config.port()));
            rt.join(0, m -> { });
            return () -> rt;
        });
    }
}
