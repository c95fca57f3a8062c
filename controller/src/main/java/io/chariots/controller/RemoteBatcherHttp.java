package io.chariots.controller;

import io.chariots.common.config.ConfigException;
import io.chariots.common.config.HostPort;
import io.chariots.common.config.RemoteDatacenters;
import io.chariots.common.config.RoleConfig;
import io.chariots.common.http.HttpExchange;
import io.chariots.common.http.HttpHandler;
import io.chariots.common.http.HttpServer;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.proto.Member;
import io.chariots.proto.Role;
import io.micrometer.core.instrument.Counter;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The controller's routes for other datacenters' batchers (GoChariots'
 * {@code remoteBatchers}), on the controller loop:
 *
 * <ul>
 * <li>{@code POST /remote/batcher?dc=N&host=h:p[&grpc=h:p]} — lists datacenter N's batcher at raw TCP address
 *     {@code host}, gRPC {@code grpc} (default: host's port + 1000). N must be another datacenter, below num_dc.
 *     Not verified and never probed: that batcher is reached by the maintainers' links, and may not be up yet.</li>
 * <li>{@code DELETE /remote/batcher?host=h:p} — removes one registered so (one from {@code remote_batchers} is
 *     removed by taking it out of the config).</li>
 * <li>{@code GET /remote/batcher}, {@code GET /remote/batcher/N} — their raw TCP addresses, all or datacenter N's.</li>
 * </ul>
 */
final class RemoteBatcherHttp {
    private final EventLoop loop;
    private final MemberRegistry registry;
    private final NanoClock clock;
    private final RoleConfig config;
    private final Counter badRequests;
    private final UnaryOperator<HttpHandler> change;

    /** @param change wraps a route that changes the cluster (with a cluster secret, it then needs a proof) */
    RemoteBatcherHttp(EventLoop loop, MemberRegistry registry, NanoClock clock, RoleConfig config, Counter badRequests,
                      UnaryOperator<HttpHandler> change) {
        this.loop = loop;
        this.registry = registry;
        this.clock = clock;
        this.config = config;
        this.badRequests = badRequests;
        this.change = change;
    }

    HttpServer.Builder routes(HttpServer.Builder http) {
        http.post("/remote/batcher", change.apply(this::register));
        http.delete("/remote/batcher", change.apply(this::unregister));
        http.get("/remote/batcher", ex -> loop.execute(() -> ex.json(HttpResponseStatus.OK,
                Map.of("batchers", addresses(null)))));
        http.get("/remote/batcher/*", ex -> {
            String dc = ex.pathRest();
            loop.execute(() -> ex.json(HttpResponseStatus.OK, Map.of("batchers", addresses(dc))));
        });
        return http;
    }

    private void register(HttpExchange ex) {
        Integer dc = datacenterParam(ex);
        HostPort host = dc == null ? null : hostParam(ex, "host");
        if (host == null) {
            return;
        }
        HostPort grpc;
        if (ex.queryParam("grpc") == null || ex.queryParam("grpc").isBlank()) {
            try {
                grpc = RemoteDatacenters.defaultGrpc(host, "host " + host);
            } catch (ConfigException e) {
                bad(ex, e.getMessage());
                return;
            }
        } else {
            grpc = hostParam(ex, "grpc");
            if (grpc == null) {
                return;
            }
        }
        loop.execute(() -> {
            MemberEntry entry = registry.registeredAt(Role.REMOTE_BATCHER, host);
            Member known = entry == null ? null : entry.member();
            if (known == null) {
                registry.registerByAddress(Role.REMOTE_BATCHER, host, grpc, dc, clock.nanoTime());
                ex.text(HttpResponseStatus.OK, host + " added\n");
            } else if (known.getDatacenter() == dc && known.getGrpcAddress().equals(grpc.toString())) {
                ex.text(HttpResponseStatus.OK, host + " already registered\n");
            } else {
                badRequests.increment();
                ex.error(HttpResponseStatus.CONFLICT, host + " is already registered as datacenter "
                        + known.getDatacenter() + "'s batcher with gRPC " + known.getGrpcAddress()
                        + (entry.source() == MemberEntry.Source.CONFIG ? " (from " + RemoteDatacenters.KEY
                        + " in the config)" : "; DELETE /remote/batcher?host=" + host + " first"));
            }
        });
    }

    private void unregister(HttpExchange ex) {
        HostPort host = hostParam(ex, "host");
        if (host == null) {
            return;
        }
        loop.execute(() -> {
            MemberEntry known = registry.registeredAt(Role.REMOTE_BATCHER, host);
            if (known != null && registry.unregisterByAddress(Role.REMOTE_BATCHER, host)) {
                ex.text(HttpResponseStatus.OK, host + " removed\n");
            } else if (known != null) {
                ex.error(HttpResponseStatus.CONFLICT, host + " is datacenter " + known.member().getDatacenter()
                        + "'s batcher from "
                        + RemoteDatacenters.KEY + " in the config: remove it there and restart the controller");
            } else {
                ex.error(HttpResponseStatus.NOT_FOUND, host + " is not registered as another datacenter's batcher");
            }
        });
    }

    /** The {@code dc} parameter if it names another datacenter; else answers 400 naming the problem and returns null. */
    private Integer datacenterParam(HttpExchange ex) {
        String dc = ex.queryParam("dc");
        int n;
        try {
            n = Integer.parseInt(dc == null ? "" : dc.trim());
        } catch (NumberFormatException e) {
            bad(ex, "dc must be a datacenter number, got " + (dc == null ? "nothing" : "\"" + dc + "\""));
            return null;
        }
        if (n == config.datacenter()) {
            bad(ex, "dc " + n + " is this datacenter (id = " + n + "); register other datacenters' batchers");
            return null;
        }
        if (n < 0 || n >= config.numDc()) {
            bad(ex, "dc " + n + " does not exist: datacenters are 0.." + (config.numDc() - 1) + " (num_dc = "
                    + config.numDc() + ")");
            return null;
        }
        return n;
    }

    private HostPort hostParam(HttpExchange ex, String name) {
        String value = ex.queryParam(name);
        if (value == null || value.isBlank()) {
            bad(ex, "invalid parameter, needs " + name + "=<host:port>");
            return null;
        }
        try {
            return HostPort.parse(value, name, "query");
        } catch (RuntimeException e) {
            bad(ex, name + " must be host:port, got \"" + value + "\"");
            return null;
        }
    }

    private void bad(HttpExchange ex, String message) {
        badRequests.increment();
        ex.error(HttpResponseStatus.BAD_REQUEST, message);
    }

    /** Listed remote batchers' raw TCP addresses, of datacenter {@code dc} (as given in the path), or all when null. */
    private List<String> addresses(String dc) {
        List<String> out = new ArrayList<>();
        for (Member m : registry.listed(EnumSet.of(Role.REMOTE_BATCHER))) {
            if (dc == null || String.valueOf(m.getDatacenter()).equals(dc)) {
                out.add(m.getAddress());
            }
        }
        return out;
    }
}
