package io.chariots.controller;

import io.chariots.common.config.HostPort;
import io.chariots.common.config.RoleConfig;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.Role;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Who is in the cluster. Owned by the controller's event loop: every method
 * runs on that one thread, and time is handed in ({@code now}, monotonic
 * nanos) so that timeouts are tested without sleeping.
 *
 * <p>Every change to the listed set bumps the version; each subscriber is
 * pushed a new view only when the members its role {@link RoleNeeds needs}
 * changed. Views are versioned by (epoch, version); the epoch is fixed per
 * controller start so views after a restart supersede older ones.
 */
public final class MemberRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(MemberRegistry.class);

    /** Receives the views of one member's stream. */
    public interface Subscriber {
        void push(MembershipView view);

        /** Ends the stream with an error the member will see. */
        void reject(String reason);
    }

    /** Checks whether an HTTP-registered member accepts TCP connections; answers through {@link #probeResult}. */
    public interface Prober {
        void probe(String instanceId, HostPort address);
    }

    /** How a member came to be known. */
    public enum Source {
        /** Registered itself over the gRPC Join stream. */
        STREAM,
        /** Registered by GoChariots-style {@code POST /<role>?host=h:p}; kept alive by TCP probes. */
        HTTP
    }

    /** One instance; read-only outside the registry. */
    public static final class Entry {
        private Member member;
        private Health health;
        private final Source source;
        private Subscriber subscriber;
        private long lastSeenNanos;
        private long sinceWallMs;
        private long deadlineNanos;
        private long nextProbeNanos;
        private List<Member> lastPushed;

        private Entry(Member member, Source source) {
            this.member = member;
            this.source = source;
        }

        public Member member() {
            return member;
        }

        public Health health() {
            return health;
        }

        public Source source() {
            return source;
        }

        /** Wall-clock millis when the current health began. */
        public long sinceWallMs() {
            return sinceWallMs;
        }

        public long lastSeenNanos() {
            return lastSeenNanos;
        }
    }

    private final ControllerConfig config;
    private final LongSupplier wallMillis;
    private final Prober prober;
    private final long epoch;
    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private volatile long version;
    private long nextJoinSeq = 1;
    private volatile long changes;
    // Read by metrics threads; replaced (never mutated) on the loop.
    private volatile Map<Role, Integer> listedCounts = Map.of();

    public MemberRegistry(ControllerConfig config, long epoch, LongSupplier wallMillis, Prober prober) {
        this.config = config;
        this.epoch = epoch;
        this.wallMillis = wallMillis;
        this.prober = prober;
    }

    public long epoch() {
        return epoch;
    }

    public long version() {
        return version;
    }

    /** Membership changes since start (registrations, deaths, recoveries). */
    public long changes() {
        return changes;
    }

    /**
     * A member registered on its Join stream. A member rejoining with its
     * instance id keeps its entry; a new process at an address that is already
     * known replaces the old entry and inherits its join order, so a restart
     * does not reshape the ring.
     */
    public void register(Member m, Subscriber sub, long now) {
        String problem = validate(m);
        if (problem != null) {
            LOG.warn("rejected registration {}: {}", m.getAddress(), problem);
            sub.reject(problem);
            return;
        }
        Entry e = entries.get(m.getInstanceId());
        if (e == null) {
            long joinSeq = m.getJoinSeq();
            for (Iterator<Entry> it = entries.values().iterator(); it.hasNext(); ) {
                Entry old = it.next();
                if (old.member.getRole() == m.getRole() && old.member.getAddress().equals(m.getAddress())) {
                    LOG.info("{} {} restarted as {} (was {})", roleName(m.getRole()), m.getAddress(),
                            m.getInstanceId(), old.member.getInstanceId());
                    joinSeq = old.member.getJoinSeq();
                    if (old.subscriber != null && old.subscriber != sub) {
                        old.subscriber.reject("replaced by a newer instance at the same address");
                    }
                    it.remove();
                }
            }
            if (joinSeq == 0 || joinSeqTaken(joinSeq)) {
                joinSeq = nextJoinSeq;
            }
            nextJoinSeq = Math.max(nextJoinSeq, joinSeq + 1);
            e = new Entry(m.toBuilder().setJoinSeq(joinSeq).build(), Source.STREAM);
            entries.put(m.getInstanceId(), e);
            LOG.info("registered {} {} (join #{})", roleName(m.getRole()), m.getAddress(), joinSeq);
        } else {
            e.member = m.toBuilder().setJoinSeq(e.member.getJoinSeq()).build();
            if (e.subscriber != null && e.subscriber != sub) {
                e.subscriber.reject("superseded by a newer stream of the same instance");
            }
        }
        e.subscriber = sub;
        e.lastPushed = null;
        e.lastSeenNanos = now;
        setHealth(e, Health.LIVE);
        changed();
    }

    private boolean joinSeqTaken(long seq) {
        for (Entry e : entries.values()) {
            if (e.member.getJoinSeq() == seq) {
                return true;
            }
        }
        return false;
    }

    private static String validate(Member m) {
        if (m.getInstanceId().isEmpty()) {
            return "instance_id is empty";
        }
        if (m.getRole() == Role.ROLE_UNSPECIFIED || m.getRole() == Role.CONTROLLER || m.getRole() == Role.UNRECOGNIZED) {
            return "role " + m.getRole() + " cannot register";
        }
        try {
            HostPort.parse(m.getAddress(), "address", "registration");
            if (!m.getGrpcAddress().isEmpty()) {
                HostPort.parse(m.getGrpcAddress(), "grpc_address", "registration");
            }
        } catch (RuntimeException e) {
            return e.getMessage();
        }
        return null;
    }

    /** A heartbeat on a member's stream. */
    public void heartbeat(String instanceId, long now) {
        Entry e = entries.get(instanceId);
        if (e == null) {
            return;
        }
        e.lastSeenNanos = now;
        if (e.health == Health.DEAD && e.subscriber != null) {
            LOG.info("{} {} is alive again", roleName(e.member.getRole()), e.member.getAddress());
            setHealth(e, Health.LIVE);
            changed();
        }
    }

    /** A member's stream ended (the process died, or the network broke). */
    public void streamClosed(String instanceId, Subscriber sub, long now) {
        Entry e = entries.get(instanceId);
        if (e == null || e.subscriber != sub) {
            return;
        }
        e.subscriber = null;
        if (e.health == Health.LIVE) {
            setHealth(e, Health.SUSPECT);
            e.deadlineNanos = now + config.grace().toNanos();
            LOG.info("{} {} disconnected; dropping it unless it rejoins within {} ms", roleName(e.member.getRole()),
                    e.member.getAddress(), config.grace().toMillis());
        }
    }

    /** GoChariots-style registration by address ({@code POST /batcher?host=h:p}). Returns false if already known. */
    public boolean registerByAddress(Role role, HostPort address, int datacenter, long now) {
        String addr = address.toString();
        for (Entry e : entries.values()) {
            if (e.member.getRole() == role && e.member.getAddress().equals(addr)) {
                return false;
            }
        }
        Member m = Member.newBuilder().setInstanceId("http-" + roleName(role) + "@" + addr).setRole(role)
                .setAddress(addr).setDatacenter(datacenter).setJoinSeq(nextJoinSeq++)
                .setStartedAtMs(wallMillis.getAsLong()).build();
        Entry e = new Entry(m, Source.HTTP);
        e.lastSeenNanos = now;
        e.nextProbeNanos = now + config.probeInterval().toNanos();
        entries.put(m.getInstanceId(), e);
        setHealth(e, Health.LIVE);
        LOG.info("registered {} {} by HTTP", roleName(role), addr);
        changed();
        return true;
    }

    /** Removes a member registered by address; returns whether it existed. */
    public boolean unregisterByAddress(Role role, HostPort address) {
        String addr = address.toString();
        boolean removed = entries.values().removeIf(e -> e.source == Source.HTTP && e.member.getRole() == role
                && e.member.getAddress().equals(addr));
        if (removed) {
            changed();
        }
        return removed;
    }

    /** The outcome of a {@link Prober#probe}. */
    public void probeResult(String instanceId, boolean reachable, long now) {
        Entry e = entries.get(instanceId);
        if (e == null || e.source != Source.HTTP) {
            return;
        }
        if (reachable) {
            e.lastSeenNanos = now;
            if (e.health != Health.LIVE) {
                setHealth(e, Health.LIVE);
                changed();
            }
        }
    }

    /**
     * Timed work: declares silent members dead, ends grace periods, probes
     * HTTP-registered members, forgets long-dead ones.
     *
     * @return the next deadline
     */
    public long poll(long now) {
        long next = now + TimeUnit.SECONDS.toNanos(1);
        boolean changed = false;
        long wall = wallMillis.getAsLong();
        for (Iterator<Entry> it = entries.values().iterator(); it.hasNext(); ) {
            Entry e = it.next();
            switch (e.health) {
                case LIVE -> {
                    long timeout = e.source == Source.HTTP
                            ? config.grace().toNanos() + config.probeInterval().toNanos()
                            : config.memberTimeout().toNanos();
                    long due = e.lastSeenNanos + timeout;
                    if (now - due >= 0) {
                        LOG.warn("{} {} silent for {} ms: marked dead", roleName(e.member.getRole()),
                                e.member.getAddress(), TimeUnit.NANOSECONDS.toMillis(now - e.lastSeenNanos));
                        setHealth(e, Health.DEAD);
                        changed = true;
                    } else {
                        next = Math.min(next, due);
                    }
                }
                case SUSPECT -> {
                    if (now - e.deadlineNanos >= 0) {
                        LOG.warn("{} {} did not rejoin: marked dead", roleName(e.member.getRole()), e.member.getAddress());
                        setHealth(e, Health.DEAD);
                        changed = true;
                    } else {
                        next = Math.min(next, e.deadlineNanos);
                    }
                }
                case DEAD -> {
                    if (e.source == Source.STREAM && e.subscriber == null
                            && wall - e.sinceWallMs >= config.deadRetention().toMillis()) {
                        it.remove();
                    }
                }
                default -> throw new IllegalStateException();
            }
            if (e.source == Source.HTTP) {
                if (now - e.nextProbeNanos >= 0) {
                    e.nextProbeNanos = now + config.probeInterval().toNanos();
                    prober.probe(e.member.getInstanceId(), HostPort.parse(e.member.getAddress()));
                }
                next = Math.min(next, e.nextProbeNanos);
            }
        }
        if (changed) {
            changed();
        }
        return next;
    }

    private void setHealth(Entry e, Health h) {
        if (e.health != h) {
            e.health = h;
            e.sinceWallMs = wallMillis.getAsLong();
            changes++;
        }
    }

    /** Listed members of {@code role}; safe from any thread. */
    public int listedCount(Role role) {
        return listedCounts.getOrDefault(role, 0);
    }

    private void changed() {
        version++;
        Map<Role, Integer> counts = new java.util.EnumMap<>(Role.class);
        for (Entry e : entries.values()) {
            if (e.health.listed()) {
                counts.merge(e.member.getRole(), 1, Integer::sum);
            }
        }
        listedCounts = counts;
        for (Entry e : entries.values()) {
            if (e.subscriber == null) {
                continue;
            }
            List<Member> members = listed(RoleNeeds.of(e.member.getRole()));
            if (!members.equals(e.lastPushed)) {
                e.lastPushed = members;
                e.subscriber.push(MembershipView.newBuilder().setEpoch(epoch).setVersion(version)
                        .addAllMembers(members).setSelf(e.member).build());
            }
        }
    }

    /** Listed (live or suspect) members of the given roles, in join order. */
    public List<Member> listed(Set<Role> roles) {
        List<Member> out = new ArrayList<>();
        for (Entry e : entries.values()) {
            if (e.health.listed() && roles.contains(e.member.getRole())) {
                out.add(e.member);
            }
        }
        out.sort(Comparator.comparingLong(Member::getJoinSeq));
        return out;
    }

    /** Every known entry, dead ones included, in join order. */
    public List<Entry> entries() {
        List<Entry> out = new ArrayList<>(entries.values());
        out.sort(Comparator.comparingLong(e -> e.member.getJoinSeq()));
        return out;
    }

    static String roleName(Role r) {
        return RoleConfig.roleName(r);
    }
}
