package io.chariots.controller;

import io.chariots.common.auth.ClusterAuth;
import io.chariots.common.config.HostPort;
import io.chariots.common.config.RoleConfig;
import io.chariots.common.http.HttpExchange;
import io.chariots.common.http.HttpHandler;
import io.chariots.common.http.HttpServer;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.proto.Layout;
import io.chariots.proto.Member;
import io.chariots.proto.RingMember;
import io.chariots.proto.Role;
import io.chariots.proto.Stripe;
import io.micrometer.core.instrument.Counter;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The controller's HTTP API, an adapter over {@link MemberRegistry} that
 * runs every request on the controller loop.
 *
 * <ul>
 * <li>{@code GET /} — GoChariots' shape: live members' {@code host:port} per role.</li>
 * <li>{@code GET /cluster} — every instance with health, since when, and its metrics URL; the view epoch and
 *     version; the newest layout (epoch, version, start_lid, stripes, ring), null before the first.</li>
 * <li>{@code POST|GET|DELETE /app|/batcher|/filter|/queue|/maintainer|/indexer?host=h:p[&grpc=h:p]} — GoChariots-style
 *     registration of a component by address, probed by TCP connect; a POST is taken only once the gRPC address
 *     answers as that role (see {@link MemberAdmission}), and never evicts a member listed at that address.</li>
 * <li>{@code POST /remote/batcher?dc=N&host=h:p[&grpc=h:p]}, {@code DELETE /remote/batcher?host=h:p},
 *     {@code GET /remote/batcher[/N]} — other datacenters' batchers (see {@link RemoteBatcherHttp}).</li>
 * </ul>
 * With a cluster secret, every POST and DELETE needs {@code Authorization: Chariots <proof>} (401 without).
 */
final class ControllerHttp {
    private static final Map<String, Role> PATHS = new LinkedHashMap<>();

    static {
        PATHS.put("app", Role.APP);
        PATHS.put("batcher", Role.BATCHER);
        PATHS.put("filter", Role.FILTER);
        PATHS.put("queue", Role.QUEUE);
        PATHS.put("maintainer", Role.MAINTAINER);
        PATHS.put("indexer", Role.INDEXER);
    }

    private final EventLoop loop;
    private final MemberRegistry registry;
    private final NanoClock clock;
    private final RoleConfig config;
    private final String selfAdminUrl;
    private final Counter badRequests;
    private final MemberAdmission admission;
    private final ClusterAuth auth;

    /** @param auth the cluster secret's gatekeeper, which every change must pass; null: an open cluster */
    ControllerHttp(EventLoop loop, MemberRegistry registry, NanoClock clock, RoleConfig config, String selfAdminUrl,
                   Counter badRequests, MemberAdmission admission, ClusterAuth auth) {
        this.admission = admission;
        this.auth = auth;
        this.loop = loop;
        this.registry = registry;
        this.clock = clock;
        this.config = config;
        this.selfAdminUrl = selfAdminUrl;
        this.badRequests = badRequests;
    }

    HttpServer.Builder routes(HttpServer.Builder http) {
        http.get("/", ex -> loop.execute(() -> ex.json(HttpResponseStatus.OK, goChariotsView())));
        http.get("/cluster", ex -> loop.execute(() -> ex.json(HttpResponseStatus.OK, clusterView())));
        PATHS.forEach((path, role) -> {
            http.get("/" + path, ex -> loop.execute(() -> ex.json(HttpResponseStatus.OK,
                    Map.of(path + "s", addresses(role)))));
            http.post("/" + path, change(ex -> register(ex, role, config.datacenter())));
            http.delete("/" + path, change(ex -> unregister(ex, role)));
        });
        new RemoteBatcherHttp(loop, registry, clock, config, badRequests, this::change).routes(http);
        return http;
    }

    /** A route that changes the cluster: with a cluster secret, taken only with a proof of it. */
    private HttpHandler change(HttpHandler h) {
        return auth == null ? h : auth.protect(h);
    }

    /**
     * GoChariots-style registration by address. A member of this datacenter is
     * added only once its gRPC address ({@code grpc=h:p}, else the role's
     * default: the main port, or port + 1000 for apps and batchers) answers as
     * that role; otherwise 400 says what answered, or that nothing did.
     */
    private void register(HttpExchange ex, Role role, int dc) {
        HostPort hp = hostParam(ex);
        if (hp == null) {
            return;
        }
        String g = ex.queryParam("grpc");
        HostPort grpcAddress;
        try {
            grpcAddress = g == null || g.isBlank() ? defaultGrpc(role, hp) : HostPort.parse(g, "grpc", "query");
        } catch (RuntimeException e) {
            bad(ex, "grpc must be host:port, got \"" + g + "\"");
            return;
        }
        Member claimed = Member.newBuilder().setRole(role).setAddress(hp.toString()).setDatacenter(dc)
                .setGrpcAddress(grpcAddress.toString()).build();
        MemberAdmission.Verdict add = (refused, now) -> {
            if (refused != null) {
                badRequests.increment();
                ex.error(HttpResponseStatus.BAD_REQUEST, "registration refused: " + refused);
                return;
            }
            boolean added = registry.registerByAddress(role, hp, grpcAddress, dc, now);
            ex.text(HttpResponseStatus.OK, hp + (added ? " added\n" : " already registered\n"));
        };
        admission.check(claimed, false, add);
    }

    /** Where a role serves gRPC when its config does not say otherwise (see RoleConfig's grpc_port). */
    static HostPort defaultGrpc(Role role, HostPort main) {
        return role == Role.APP || role == Role.BATCHER ? new HostPort(main.host(), main.port() + 1000) : main;
    }

    private void unregister(HttpExchange ex, Role role) {
        HostPort hp = hostParam(ex);
        if (hp == null) {
            return;
        }
        loop.execute(() -> {
            if (registry.unregisterByAddress(role, hp)) {
                ex.text(HttpResponseStatus.OK, hp + " removed\n");
            } else {
                ex.error(HttpResponseStatus.NOT_FOUND, hp + " is not registered by address as a " + RoleConfig.roleName(role));
            }
        });
    }

    private HostPort hostParam(HttpExchange ex) {
        String host = ex.queryParam("host");
        if (host == null || host.isBlank()) {
            bad(ex, "invalid parameter, needs host=<host:port>");
            return null;
        }
        try {
            return HostPort.parse(host, "host", "query");
        } catch (RuntimeException e) {
            bad(ex, "host must be host:port, got \"" + host + "\"");
            return null;
        }
    }

    private void bad(HttpExchange ex, String message) {
        badRequests.increment();
        ex.error(HttpResponseStatus.BAD_REQUEST, message);
    }

    private List<String> addresses(Role role) {
        List<String> out = new ArrayList<>();
        for (Member m : registry.listed(EnumSet.of(role))) {
            out.add(m.getAddress());
        }
        return out;
    }

    Map<String, Object> goChariotsView() {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("apps", addresses(Role.APP));
        v.put("batchers", addresses(Role.BATCHER));
        v.put("filters", addresses(Role.FILTER));
        v.put("queues", addresses(Role.QUEUE));
        v.put("maintainers", addresses(Role.MAINTAINER));
        v.put("indexers", addresses(Role.INDEXER));
        v.put("remoteBatchers", addresses(Role.REMOTE_BATCHER));
        return v;
    }

    Map<String, Object> clusterView() {
        long now = clock.nanoTime();
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("datacenter", config.datacenter());
        v.put("numDc", config.numDc());
        v.put("epoch", registry.epoch());
        v.put("version", registry.version());
        List<Map<String, Object>> instances = new ArrayList<>();
        Map<String, Object> self = new LinkedHashMap<>();
        self.put("id", "controller");
        self.put("role", "controller");
        self.put("address", selfAdminUrl.substring(selfAdminUrl.indexOf("://") + 3));
        self.put("health", "live");
        self.put("metrics", selfAdminUrl + "/metrics");
        instances.add(self);
        for (MemberEntry e : registry.entries()) {
            Member m = e.member();
            Map<String, Object> i = new LinkedHashMap<>();
            i.put("id", m.getInstanceId());
            i.put("role", RoleConfig.roleName(m.getRole()));
            i.put("address", m.getAddress());
            if (!m.getGrpcAddress().isEmpty()) {
                i.put("grpc", m.getGrpcAddress());
            }
            i.put("datacenter", m.getDatacenter());
            i.put("health", e.health().name().toLowerCase());
            i.put("since", e.sinceWallMs());
            if (m.getRole() != Role.REMOTE_BATCHER) { // another datacenter's batcher is not watched from here
                i.put("lastSeenMsAgo", TimeUnit.NANOSECONDS.toMillis(now - e.lastSeenNanos()));
            }
            i.put("joinSeq", m.getJoinSeq());
            i.put("registeredBy", e.source().name().toLowerCase(Locale.ROOT)); // stream, http or config
            if (e.awaitingRejoin()) {
                i.put("awaitingRejoin", true);
            }
            if (!e.note().isEmpty()) {
                i.put("note", e.note());
            }
            if (m.getHold()) {
                i.put("hold", true);
            }
            if (!m.getAdminUrl().isEmpty()) {
                i.put("health_url", m.getAdminUrl() + "/health");
                i.put("metrics", m.getAdminUrl() + "/metrics");
            }
            instances.add(i);
        }
        v.put("instances", instances);
        v.put("layout", layoutView(registry.layout()));
        return v;
    }

    /** The layout as {@code /cluster} shows it; null before the first is reported. */
    static Map<String, Object> layoutView(Layout layout) {
        if (layout.getEpoch() == 0) {
            return null;
        }
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("epoch", layout.getEpoch());
        v.put("version", layout.getVersion());
        v.put("start_lid", layout.getStartLid());
        List<Map<String, Object>> stripes = new ArrayList<>();
        for (Stripe s : layout.getStripesList()) {
            Map<String, Object> stripe = new LinkedHashMap<>();
            stripe.put("from_lid", s.getFromLid());
            stripe.put("maintainers", List.copyOf(s.getMaintainersList()));
            stripes.add(stripe);
        }
        v.put("stripes", stripes);
        List<Map<String, Object>> ring = new ArrayList<>();
        for (RingMember q : layout.getRingList()) {
            Map<String, Object> member = new LinkedHashMap<>();
            member.put("instance", q.getInstanceId());
            member.put("address", q.getAddress());
            ring.add(member);
        }
        v.put("ring", ring);
        return v;
    }
}
