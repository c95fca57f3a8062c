package io.chariots.controller;

import io.chariots.common.config.HostPort;
import io.chariots.proto.KnownMember;
import io.chariots.proto.Layout;
import io.chariots.proto.Member;
import io.chariots.proto.Role;

import java.util.List;

/**
 * One instance the {@link MemberRegistry} knows; read-only outside it (the
 * registry, on the controller loop, is the only writer of its fields).
 */
public final class MemberEntry {
    /** How a member came to be known. */
    public enum Source {
        /** Registered itself over the gRPC Join stream. */
        STREAM,
        /**
         * Registered by GoChariots-style {@code POST /<role>?host=h:p}; kept alive by TCP probes, except another
         * datacenter's batcher ({@code POST /remote/batcher}), which is not probed (see {@link #probed}).
         */
        HTTP,
        /** Another datacenter's batcher named in {@code remote_batchers}: registered at every start, never probed. */
        CONFIG
    }

    Member member;
    Health health;
    final Source source;
    MemberRegistry.Subscriber subscriber;
    long lastSeenNanos;
    // The member's last heartbeat note (not saved: it says how things stand now).
    String note = "";
    long sinceWallMs;
    long deadlineNanos;
    long nextProbeNanos;
    /** Restored from the state file and has not registered since this controller started. */
    boolean awaitingRejoin;
    List<Member> lastPushedMembers;
    Layout lastPushedLayout;

    MemberEntry(Member member, Source source) {
        this.member = member;
        this.source = source;
    }

    /** Why {@code m} cannot register (a message for the member), or null if it can. */
    static String registrationProblem(Member m) {
        if (m.getInstanceId().isEmpty()) {
            return "instance_id is empty";
        }
        if (m.getRole() == Role.ROLE_UNSPECIFIED || m.getRole() == Role.CONTROLLER || m.getRole() == Role.UNRECOGNIZED) {
            return "role " + m.getRole() + " cannot register";
        }
        try {
            HostPort.parse(m.getAddress(), "address", "registration");
        } catch (RuntimeException e) {
            return e.getMessage();
        }
        if (m.getGrpcAddress().isEmpty()) {
            // Every role of this cluster is reached over gRPC: without the address it would be a member nobody can reach.
            return "grpc_address is empty: a " + io.chariots.common.config.RoleConfig.roleName(m.getRole())
                    + " is reached over gRPC";
        }
        try {
            HostPort.parse(m.getGrpcAddress(), "grpc_address", "registration");
        } catch (RuntimeException e) {
            return e.getMessage();
        }
        return null;
    }

    /** The entry as saved; {@link #fromSaved} inverts it. */
    KnownMember toSaved() {
        return KnownMember.newBuilder().setMember(member)
                .setHealth(KnownMember.Health.valueOf(health.name()))
                .setSource(KnownMember.Source.valueOf(source.name()))
                .setSinceMs(sinceWallMs).build();
    }

    /** An entry as a previous controller saved it: member, health, source and since; no stream, no timers. */
    static MemberEntry fromSaved(KnownMember k) {
        MemberEntry e = new MemberEntry(k.getMember(), Source.valueOf(k.getSource().name()));
        e.health = Health.valueOf(k.getHealth().name());
        e.sinceWallMs = k.getSinceMs();
        return e;
    }

    /**
     * Whether liveness probes decide this member's health: members of this datacenter registered by address.
     * Another datacenter's batcher is reached by the maintainers' links, not by this controller, and may well be
     * down or unreachable while this datacenter runs (a partition, a datacenter not started yet): it stays listed
     * until it is removed ({@code DELETE /remote/batcher}, or gone from {@code remote_batchers}).
     */
    boolean probed() {
        return source == Source.HTTP && member.getRole() != Role.REMOTE_BATCHER;
    }

    /** Another datacenter's batcher: listed until removed, never probed, never declared dead. */
    boolean remote() {
        return member.getRole() == Role.REMOTE_BATCHER;
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

    public String note() {
        return note;
    }

    public long lastSeenNanos() {
        return lastSeenNanos;
    }

    /** Known from before this controller's start and not registered again yet. */
    public boolean awaitingRejoin() {
        return awaitingRejoin;
    }
}
