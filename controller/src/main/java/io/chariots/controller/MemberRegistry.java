package io.chariots.controller;

import io.chariots.common.config.HostPort;
import io.chariots.common.config.RemoteDatacenters;
import io.chariots.common.config.RoleConfig;
import io.chariots.controller.MemberEntry.Source;
import io.chariots.proto.ControllerState;
import io.chariots.proto.KnownMember;
import io.chariots.proto.Layout;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.Role;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Who is in the cluster, and the newest layout. Owned by the controller's
 * event loop: every method runs on that one thread, and time is handed in
 * ({@code now}, monotonic nanos) so that timeouts are tested without sleeping.
 *
 * <p>Every change to the listed set or to the layout bumps the version; each
 * subscriber is pushed a new view only when the members its role
 * {@link RoleNeeds#of needs} changed, or the layout changed and its role
 * {@link RoleNeeds#layout needs that}. Every view carries the newest layout.
 * Views are ordered by (epoch, version); the epoch is fixed per controller
 * start and grows with every start (see {@link StateFile}), so views after a
 * restart supersede older ones.
 *
 * <p>What must survive a restart (members with their health, the layout, the
 * epoch) is handed to the {@link StateSink} after every change to it, and
 * {@link #restore taken back} when the next controller starts.
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

    /** Keeps the durable state; handed a snapshot after every change to it, on the loop (so it should only enqueue). */
    public interface StateSink {
        void save(ControllerState state);
    }

    private final ControllerConfig config;
    private final LongSupplier wallMillis;
    private final Prober prober;
    private final StateSink state;
    private final long epoch;
    private final Map<String, MemberEntry> entries = new LinkedHashMap<>();
    private volatile long version;
    private long nextJoinSeq = 1;
    private volatile long changes;
    // Read by metrics threads; replaced (never mutated) on the loop.
    private volatile Map<Role, Integer> listedCounts = Map.of();
    private volatile Layout layout = Layout.getDefaultInstance();
    // When poll last ran: a longer gap than its own deadlines explain is a pause of this controller (GC, a starved
    // machine), during which no heartbeat could be heard; it is not held against the members.
    private long lastPollNanos;
    private boolean polled;
    private volatile long pausesForgiven;

    /**
     * @param epoch      this controller start's view epoch (never lower than any earlier start's)
     * @param wallMillis the wall clock, for "since when" and dead members' retention
     * @param state      where every change to the durable state goes
     */
    public MemberRegistry(ControllerConfig config, long epoch, LongSupplier wallMillis, Prober prober, StateSink state) {
        this.config = config;
        this.epoch = epoch;
        this.wallMillis = wallMillis;
        this.prober = prober;
        this.state = state;
    }

    /**
     * Takes back what an earlier controller saved, before any member
     * connects. Every member is listed as it was, in the same join order, so
     * {@code GET /} and the first views show the same cluster at once; one
     * that had a stream is {@link MemberEntry#awaitingRejoin awaiting its
     * rejoin} (SUSPECT) and dead unless it registers again within
     * member_timeout + grace. Members registered by address keep their health
     * and are probed at once; other datacenters' batchers are listed. Saves
     * the state under this start's epoch.
     */
    public void restore(ControllerState saved, long now) {
        long grace = config.memberTimeout().toNanos() + config.grace().toNanos();
        for (KnownMember k : saved.getMembersList()) {
            MemberEntry e = MemberEntry.fromSaved(k);
            e.lastSeenNanos = now;
            if (e.probed()) {
                e.nextProbeNanos = now;
            } else if (e.remote()) {
                setHealth(e, Health.LIVE); // never probed: listed whatever an older controller's probes said
            } else if (e.health.listed()) {
                setHealth(e, Health.SUSPECT);
                e.awaitingRejoin = true;
                e.deadlineNanos = now + grace;
            }
            entries.put(e.member.getInstanceId(), e);
            nextJoinSeq = Math.max(nextJoinSeq, e.member.getJoinSeq() + 1);
        }
        nextJoinSeq = Math.max(nextJoinSeq, saved.getNextJoinSeq());
        layout = saved.getLayout();
        polled = true; // the deadlines above start now: time already spent is not a pause
        lastPollNanos = now;
        LOG.info("restored {} members (join order up to #{}) and layout {}.{}", entries.size(), nextJoinSeq - 1,
                layout.getEpoch(), layout.getVersion());
        changed();
    }

    /** Everything that must survive a restart, as it stands. */
    public ControllerState snapshot() {
        ControllerState.Builder b = ControllerState.newBuilder().setViewEpoch(epoch).setLayout(layout)
                .setNextJoinSeq(nextJoinSeq);
        for (MemberEntry e : entries.values()) {
            b.addMembers(e.toSaved());
        }
        return b.build();
    }

    public long epoch() {
        return epoch;
    }

    /** The newest layout reported (epoch 0: none yet); safe from any thread. */
    public Layout layout() {
        return layout;
    }

    /**
     * A layout a queue reported. Taken only if newer than the one kept, by
     * (epoch, version) compared unsigned: queues report concurrently and
     * retry, so an older one may arrive last. A taken layout is saved and
     * pushed to every role that needs it.
     *
     * @return whether it was taken
     */
    public boolean reportLayout(Layout reported) {
        int byEpoch = Long.compareUnsigned(reported.getEpoch(), layout.getEpoch());
        if (byEpoch < 0 || byEpoch == 0 && Long.compareUnsigned(reported.getVersion(), layout.getVersion()) <= 0) {
            return false;
        }
        LOG.info("layout {}.{}: {} stripes, ring of {} from LId {}", reported.getEpoch(), reported.getVersion(),
                reported.getStripesCount(), reported.getRingCount(), reported.getStartLid());
        layout = reported;
        changed();
        return true;
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
        String problem = MemberEntry.registrationProblem(m);
        if (problem != null) {
            LOG.warn("rejected registration {}: {}", m.getAddress(), problem);
            sub.reject(problem);
            return;
        }
        MemberEntry e = entries.get(m.getInstanceId());
        if (e == null) {
            long joinSeq = m.getJoinSeq();
            for (Iterator<MemberEntry> it = entries.values().iterator(); it.hasNext(); ) {
                MemberEntry old = it.next();
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
            e = new MemberEntry(m.toBuilder().setJoinSeq(joinSeq).build(), Source.STREAM);
            entries.put(m.getInstanceId(), e);
            LOG.info("registered {} {} (join #{})", roleName(m.getRole()), m.getAddress(), joinSeq);
        } else {
            e.member = m.toBuilder().setJoinSeq(e.member.getJoinSeq()).build();
            if (e.subscriber != null && e.subscriber != sub) {
                e.subscriber.reject("superseded by a newer stream of the same instance");
            }
        }
        e.subscriber = sub;
        e.awaitingRejoin = false;
        e.lastPushedMembers = null;
        e.lastPushedLayout = null;
        e.lastSeenNanos = now;
        setHealth(e, Health.LIVE);
        changed();
    }

    /** Another instance listed live at {@code m}'s role and address, or null. */
    public Member liveHolderOf(Member m) {
        for (MemberEntry e : entries.values()) {
            if (e.health == Health.LIVE && e.member.getRole() == m.getRole() && e.member.getAddress().equals(m.getAddress())
                    && !e.member.getInstanceId().equals(m.getInstanceId())) {
                return e.member;
            }
        }
        return null;
    }

    private boolean joinSeqTaken(long seq) {
        for (MemberEntry e : entries.values()) {
            if (e.member.getJoinSeq() == seq) {
                return true;
            }
        }
        return false;
    }

    /** A heartbeat on a member's stream, with what it would have an operator know (may be empty). */
    public void heartbeat(String instanceId, String note, long now) {
        MemberEntry e = entries.get(instanceId);
        if (e == null) {
            return;
        }
        e.lastSeenNanos = now;
        e.note = note;
        if (e.health == Health.DEAD && e.subscriber != null) {
            LOG.info("{} {} is alive again", roleName(e.member.getRole()), e.member.getAddress());
            setHealth(e, Health.LIVE);
            changed();
        }
    }

    /** A member's stream ended (the process died, or the network broke). */
    public void streamClosed(String instanceId, Subscriber sub, long now) {
        MemberEntry e = entries.get(instanceId);
        if (e == null || e.subscriber != sub) {
            return;
        }
        e.subscriber = null;
        if (e.health == Health.LIVE) {
            setHealth(e, Health.SUSPECT);
            e.deadlineNanos = now + config.grace().toNanos();
            LOG.info("{} {} disconnected; dropping it unless it rejoins within {} ms", roleName(e.member.getRole()),
                    e.member.getAddress(), config.grace().toMillis());
            state.save(snapshot());
        }
    }

    /**
     * GoChariots-style registration by address ({@code POST /batcher?host=h:p}, {@code POST /remote/batcher}).
     * Returns false if a member of that role is known at that address.
     */
    public boolean registerByAddress(Role role, HostPort address, HostPort grpc, int datacenter, long now) {
        if (registeredAt(role, address) != null) {
            return false;
        }
        addByAddress(role, address, grpc, datacenter, Source.HTTP, nextJoinSeq++, now);
        changed();
        return true;
    }

    /** The entry of {@code role} known at {@code address} (whatever its health), or null. */
    public MemberEntry registeredAt(Role role, HostPort address) {
        String addr = address.toString();
        for (MemberEntry e : entries.values()) {
            if (e.member.getRole() == role && e.member.getAddress().equals(addr)) {
                return e;
            }
        }
        return null;
    }

    private void addByAddress(Role role, HostPort address, HostPort grpc, int datacenter, Source source, long joinSeq,
                              long now) {
        String addr = address.toString();
        Member m = Member.newBuilder().setInstanceId(source.name().toLowerCase(Locale.ROOT) + "-" + roleName(role) + "@" + addr)
                .setRole(role).setAddress(addr).setGrpcAddress(grpc == null ? "" : grpc.toString()).setDatacenter(datacenter)
                .setJoinSeq(joinSeq).setStartedAtMs(wallMillis.getAsLong()).build();
        MemberEntry e = new MemberEntry(m, source);
        e.lastSeenNanos = now;
        e.nextProbeNanos = now + config.probeInterval().toNanos();
        entries.put(m.getInstanceId(), e);
        setHealth(e, Health.LIVE);
        LOG.info("registered {} {}{} {}", roleName(role), addr, role == Role.REMOTE_BATCHER
                ? " of datacenter " + datacenter + " (gRPC " + m.getGrpcAddress() + ")" : "",
                source == Source.CONFIG ? "from " + RemoteDatacenters.KEY : "by HTTP");
    }

    /**
     * The other datacenters' batchers {@code remote_batchers} names, taken at
     * start (after {@link #restore}): each is listed as {@code POST
     * /remote/batcher?dc=N&host=h:p&grpc=h:p} would list it, and pushed to the
     * maintainers, whether or not it answers yet (never probed). One listed
     * from an earlier start's config that this one no longer names is
     * removed; one registered over HTTP at a configured address takes the
     * configured datacenter and gRPC address. Each keeps its join order.
     */
    public void configureRemoteBatchers(Collection<RemoteDatacenters.Remote> configured, long now) {
        Map<String, RemoteDatacenters.Remote> byAddress = new LinkedHashMap<>();
        for (RemoteDatacenters.Remote r : configured) {
            byAddress.put(r.address().toString(), r);
        }
        Map<String, Long> joinSeqs = new LinkedHashMap<>();
        boolean changed = false;
        for (Iterator<MemberEntry> it = entries.values().iterator(); it.hasNext(); ) {
            MemberEntry e = it.next();
            Member m = e.member;
            if (m.getRole() != Role.REMOTE_BATCHER) {
                continue;
            }
            RemoteDatacenters.Remote r = byAddress.get(m.getAddress());
            if (r != null && e.source == Source.CONFIG && m.getDatacenter() == r.datacenter()
                    && m.getGrpcAddress().equals(r.grpc().toString())) {
                byAddress.remove(m.getAddress()); // listed as configured already
            } else if (r != null || e.source == Source.CONFIG) {
                LOG.info("remote batcher {} of datacenter {} (gRPC {}, {}) {}", m.getAddress(), m.getDatacenter(),
                        m.getGrpcAddress(), e.source.name().toLowerCase(Locale.ROOT),
                        r == null ? "is no longer in " + RemoteDatacenters.KEY + ": removed" : "is replaced by " + r);
                joinSeqs.put(m.getAddress(), m.getJoinSeq());
                it.remove();
                changed = true;
            }
        }
        for (RemoteDatacenters.Remote r : byAddress.values()) {
            Long joinSeq = joinSeqs.get(r.address().toString());
            addByAddress(Role.REMOTE_BATCHER, r.address(), r.grpc(), r.datacenter(), Source.CONFIG,
                    joinSeq != null ? joinSeq : nextJoinSeq++, now);
            changed = true;
        }
        if (changed) {
            changed();
        }
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
        MemberEntry e = entries.get(instanceId);
        if (e == null || !e.probed()) {
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
     * If this controller did not run for longer than its poll interval (it
     * polls at least every second), its members' silence over that gap is
     * its own: each live member's last-seen time moves forward by the excess,
     * as Cassandra's failure detector ignores a local pause. A member killed
     * meanwhile is still declared dead, member_timeout after the pause.
     */
    private void forgiveOwnPause(long now) {
        long expected = TimeUnit.SECONDS.toNanos(1) + TimeUnit.MILLISECONDS.toNanos(250);
        long gap = polled ? now - lastPollNanos : 0;
        polled = true;
        lastPollNanos = now;
        if (gap <= expected) {
            return;
        }
        long excess = gap - TimeUnit.SECONDS.toNanos(1);
        pausesForgiven++;
        if (gap >= TimeUnit.SECONDS.toNanos(2)) {
            LOG.warn("the controller did not run for {} ms (a pause of this process or a starved machine): members' "
                    + "silence during it is not held against them", TimeUnit.NANOSECONDS.toMillis(gap));
        }
        for (MemberEntry e : entries.values()) {
            switch (e.health) {
                case LIVE -> e.lastSeenNanos = Math.min(now, e.lastSeenNanos + excess);
                case SUSPECT -> e.deadlineNanos += excess; // a rejoin could not be heard either
                default -> {
                }
            }
        }
    }

    /** How many times this controller found it had been paused (see {@link #poll}). */
    public long pausesForgiven() {
        return pausesForgiven;
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
        boolean forgotten = false;
        long wall = wallMillis.getAsLong();
        forgiveOwnPause(now);
        for (Iterator<MemberEntry> it = entries.values().iterator(); it.hasNext(); ) {
            MemberEntry e = it.next();
            switch (e.health) {
                case LIVE -> {
                    if (e.remote()) {
                        break; // another datacenter's batcher: listed until removed
                    }
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
                        e.awaitingRejoin = false;
                        changed = true;
                    } else {
                        next = Math.min(next, e.deadlineNanos);
                    }
                }
                case DEAD -> {
                    if (e.source == Source.STREAM && e.subscriber == null
                            && wall - e.sinceWallMs >= config.deadRetention().toMillis()) {
                        it.remove();
                        forgotten = true;
                    }
                }
                default -> throw new IllegalStateException();
            }
            if (e.probed()) {
                if (now - e.nextProbeNanos >= 0) {
                    e.nextProbeNanos = now + config.probeInterval().toNanos();
                    prober.probe(e.member.getInstanceId(), HostPort.parse(e.member.getAddress()));
                }
                next = Math.min(next, e.nextProbeNanos);
            }
        }
        if (changed) {
            changed();
        } else if (forgotten) {
            state.save(snapshot());
        }
        return next;
    }

    private void setHealth(MemberEntry e, Health h) {
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

    /** The listed set or the layout changed: a new version, pushed where it matters, and saved. */
    private void changed() {
        version++;
        Map<Role, Integer> counts = new EnumMap<>(Role.class);
        for (MemberEntry e : entries.values()) {
            if (e.health.listed()) {
                counts.merge(e.member.getRole(), 1, Integer::sum);
            }
        }
        listedCounts = counts;
        for (MemberEntry e : entries.values()) {
            if (e.subscriber == null) {
                continue;
            }
            Role role = e.member.getRole();
            List<Member> members = listed(RoleNeeds.of(role));
            boolean newLayout = RoleNeeds.layout(role) && e.lastPushedLayout != layout;
            if (newLayout || !members.equals(e.lastPushedMembers)) {
                e.lastPushedMembers = members;
                e.lastPushedLayout = layout;
                MembershipView.Builder view = MembershipView.newBuilder().setEpoch(epoch).setVersion(version)
                        .addAllMembers(members).setSelf(e.member);
                if (layout.getEpoch() != 0) {
                    view.setLayout(layout);
                }
                e.subscriber.push(view.build());
            }
        }
        state.save(snapshot());
    }

    /** Listed (live or suspect) members of the given roles, in join order. */
    public List<Member> listed(Set<Role> roles) {
        List<Member> out = new ArrayList<>();
        for (MemberEntry e : entries.values()) {
            if (e.health.listed() && roles.contains(e.member.getRole())) {
                out.add(e.member);
            }
        }
        out.sort(Comparator.comparingLong(Member::getJoinSeq));
        return out;
    }

    /** Every known entry, dead ones included, in join order. */
    public List<MemberEntry> entries() {
        List<MemberEntry> out = new ArrayList<>(entries.values());
        out.sort(Comparator.comparingLong(e -> e.member.getJoinSeq()));
        return out;
    }

    static String roleName(Role r) {
        return RoleConfig.roleName(r);
    }
}
