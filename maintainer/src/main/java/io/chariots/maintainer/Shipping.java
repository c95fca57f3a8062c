package io.chariots.maintainer;

import io.chariots.common.auth.ClusterSecret;
import io.chariots.common.config.RemoteDatacenters;
import io.chariots.common.grpc.Calls;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.common.membership.Membership;
import io.chariots.common.net.NettyTransport;
import io.chariots.common.grpc.ChannelPool;
import io.chariots.common.read.LogReader;
import io.chariots.common.read.StoredMarks;
import io.chariots.proto.BatcherGrpc;
import io.chariots.proto.MarksRequest;
import io.chariots.proto.Member;
import io.chariots.proto.OriginMark;
import io.chariots.proto.RecordBatch;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;
import io.grpc.ManagedChannel;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Which other datacenters this maintainer ships to, and the links that do it.
 * Each remote datacenter is shipped to by one maintainer of the view: the
 * one at its id modulo the number of maintainers, in address order, so the
 * work spreads and every maintainer agrees without talking. While views
 * differ two may ship at once for a moment; the other side drops what
 * arrives twice. The remote datacenters come from the view
 * ({@code remote_batchers}, or registered at run time); each link proves that
 * datacenter's configured secret, else this cluster's. Owned by the shipping
 * loop.
 */
public final class Shipping implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Shipping.class);

    private final int self;
    private final RemoteDatacenters remotes;
    private final ClusterSecret own;
    private final NettyTransport transport;
    private final LogReader reader;
    private final ChannelPool channels;
    private final Supplier<Membership> view;
    private final EventLoop loop;
    private final NanoClock clock;
    private final MeterRegistry meters;
    private final String selfAddress;
    private final OriginShipper.Limits limits;
    private final Map<Integer, Running> running = new ConcurrentHashMap<>();
    private final Set<Integer> metered = new HashSet<>();

    private record Running(String address, OriginShipper shipper, ManagedChannel channel) {
    }

    public Shipping(int self, RemoteDatacenters remotes, ClusterSecret own, NettyTransport transport, LogReader reader,
                    ChannelPool channels, Supplier<Membership> view, EventLoop loop, NanoClock clock, MeterRegistry meters,
                    String selfAddress, OriginShipper.Limits limits) {
        this.channels = channels;
        this.view = view;
        this.self = self;
        this.remotes = remotes;
        this.own = own;
        this.transport = transport;
        this.reader = reader;
        this.loop = loop;
        this.clock = clock;
        this.meters = meters;
        this.selfAddress = selfAddress;
        this.limits = limits;
    }

    /** A new view: start the links this maintainer owns now, stop the others. */
    public void onMembership(Membership view) {
        List<String> maintainers = new ArrayList<>();
        for (Member m : view.members(Role.MAINTAINER)) {
            maintainers.add(m.getGrpcAddress());
        }
        maintainers.sort(null);
        Map<Integer, String> mine = new TreeMap<>();
        if (!maintainers.isEmpty()) {
            for (Member r : view.members(Role.REMOTE_BATCHER)) {
                int dc = r.getDatacenter();
                if (dc != self && maintainers.get(dc % maintainers.size()).equals(selfAddress)) {
                    mine.put(dc, r.getGrpcAddress().isEmpty() ? r.getAddress() : r.getGrpcAddress());
                }
            }
        }
        for (Integer dc : List.copyOf(running.keySet())) {
            Running r = running.get(dc);
            if (!r.address().equals(mine.get(dc))) {
                LOG.info("no longer shipping to datacenter {} ({})", dc, r.address());
                running.remove(dc);
                r.channel().shutdownNow();
            }
        }
        mine.forEach((dc, address) -> running.computeIfAbsent(dc, d -> start(d, address)));
    }

    private Running start(int dc, String address) {
        LOG.info("shipping this datacenter's records to datacenter {} at {}", dc, address);
        ManagedChannel channel = transport.linkChannel(address, remotes.secretOf(dc, own))
                .keepAliveTime(30, TimeUnit.SECONDS).build();
        OriginShipper shipper = new OriginShipper(self, dc, log(), link(channel), limits, clock);
        meter(dc);
        return new Running(address, shipper, channel);
    }

    private OriginShipper.Log log() {
        return new OriginShipper.Log() {
            @Override
            public void range(long from, int limit, Consumer<LogReader.Page> page, Consumer<Throwable> failed) {
                reader.range(from, limit).whenComplete((p, t) -> loop.execute(() -> {
                    if (t == null) {
                        page.accept(p);
                    } else {
                        failed.accept(t);
                    }
                }));
            }

            @Override
            public void latest(int origin, Consumer<OriginMark> mark, Consumer<Throwable> failed) {
                StoredMarks.of(channels, view.get(), origin).whenComplete((m, t) -> loop.execute(() -> {
                    if (t == null) {
                        mark.accept(m);
                    } else {
                        failed.accept(t);
                    }
                }));
            }
        };
    }

    private OriginShipper.Link link(ManagedChannel channel) {
        return new OriginShipper.Link() {
            @Override
            public void marks(int origin, Consumer<OriginMark> mark, Consumer<Throwable> failed) {
                Calls.on(BatcherGrpc.newFutureStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                                .marks(MarksRequest.newBuilder().setOrigin(origin).build()),
                        m -> loop.execute(() -> mark.accept(m)), t -> loop.execute(() -> failed.accept(t)));
            }

            @Override
            public void send(List<RecordEnvelope> batch, Runnable sent, Consumer<Throwable> failed) {
                Calls.on(BatcherGrpc.newFutureStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                                .ingest(RecordBatch.newBuilder().addAllRecords(batch).build()),
                        a -> loop.execute(sent), t -> loop.execute(() -> failed.accept(t)));
            }
        };
    }

    /** Polls every link; returns the earliest next deadline. */
    public long poll(long now) {
        long next = EventLoop.Ticker.NO_DEADLINE;
        for (Running r : running.values()) {
            next = EventLoop.Ticker.earlier(next, r.shipper().poll(now));
        }
        return next;
    }

    private OriginShipper shipper(int dc) {
        Running r = running.get(dc);
        return r == null ? null : r.shipper();
    }

    private void meter(int dc) {
        if (!metered.add(dc)) {
            return;
        }
        gauge("chariots_replication_lag_records", dc, OriginShipper::lagRecords,
                "Records of this datacenter the other one does not have yet (as far as shipped)");
        gauge("chariots_replication_lag_seconds", dc, x -> x.lagMillis(System.currentTimeMillis()) / 1000.0,
                "Age of the oldest record of this datacenter the other one does not have yet");
        gauge("chariots_replication_link_up", dc, x -> x.state() == OriginShipper.State.SHIPPING ? 1 : 0,
                "1 while the link to that datacenter ships, 0 while it retries");
        String tag = Integer.toString(dc);
        FunctionCounter.builder("chariots_replication_shipped_total", this, s -> count(s.shipper(dc), OriginShipper::shipped))
                .tag("dc", tag).description("Records (and TOId holes) sent to that datacenter, resends included").register(meters);
        FunctionCounter.builder("chariots_replication_restarts_total", this, s -> count(s.shipper(dc), OriginShipper::restarts))
                .tag("dc", tag).description("Times the link started again from that datacenter's mark after a failure or stall")
                .register(meters);
    }

    /** A gauge of the link to {@code dc}: NaN while this maintainer does not ship there. */
    private void gauge(String name, int dc, java.util.function.ToDoubleFunction<OriginShipper> value, String description) {
        Gauge.builder(name, this, s -> {
            OriginShipper x = s.shipper(dc);
            return x == null ? Double.NaN : value.applyAsDouble(x);
        }).tag("dc", Integer.toString(dc)).description(description).register(meters);
    }

    private static double count(OriginShipper x, java.util.function.ToLongFunction<OriginShipper> value) {
        return x == null ? 0 : value.applyAsLong(x);
    }

    /** Per remote datacenter this maintainer ships to: state, marks, lag, last error (for /health). */
    public Map<String, Object> health() {
        Map<String, Object> out = new TreeMap<>();
        long nowMs = System.currentTimeMillis();
        running.forEach((dc, r) -> {
            OriginShipper s = r.shipper();
            Map<String, Object> h = new LinkedHashMap<>();
            h.put("address", r.address());
            h.put("state", s.state().name());
            h.put("remoteMark", s.remoteMark());
            h.put("lagRecords", s.lagRecords());
            h.put("lagMs", s.lagMillis(nowMs));
            h.put("shipped", s.shipped());
            h.put("restarts", s.restarts());
            h.put("lastError", s.lastError());
            out.put(Integer.toString(dc), h);
        });
        return out;
    }

    /**
     * One line for the controller's view of this maintainer: per datacenter
     * it ships to, the link's state, lag, and last error; empty when it ships
     * to none.
     */
    public String summary() {
        StringBuilder sb = new StringBuilder();
        long nowMs = System.currentTimeMillis();
        new TreeMap<>(running).forEach((dc, r) -> {
            OriginShipper s = r.shipper();
            sb.append(sb.length() == 0 ? "replication:" : ";").append(" dc ").append(dc).append(' ')
                    .append(s.state().name().toLowerCase(java.util.Locale.ROOT)).append(", lag ").append(s.lagRecords())
                    .append(" records ").append(s.lagMillis(nowMs)).append(" ms");
            if (s.state() != OriginShipper.State.SHIPPING && !s.lastError().isEmpty()) {
                sb.append(" (").append(s.lastError()).append(')');
            }
        });
        return sb.toString();
    }

    @Override
    public void close() {
        running.values().forEach(r -> r.channel().shutdownNow());
        running.clear();
    }
}
