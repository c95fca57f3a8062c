package io.chariots.controller;

import io.chariots.proto.Role;

import java.util.EnumSet;
import java.util.Set;

/** Which roles, and whether the layout, each role is told about: a push goes only where it matters. */
final class RoleNeeds {
    private RoleNeeds() {
    }

    static Set<Role> of(Role role) {
        return switch (role) {
            case APP -> EnumSet.of(Role.BATCHER, Role.QUEUE, Role.MAINTAINER, Role.INDEXER);
            // Batchers look up the ids their acknowledged-mode clients wait for at the indexers, and tell another
            // datacenter's shipper how far the maintainers hold its records.
            case BATCHER, REMOTE_BATCHER -> EnumSet.of(Role.FILTER, Role.INDEXER, Role.MAINTAINER);
            case FILTER -> EnumSet.of(Role.QUEUE, Role.INDEXER);
            case QUEUE -> EnumSet.of(Role.QUEUE, Role.MAINTAINER, Role.INDEXER);
            // Maintainers read the whole log (from each other) to ship this datacenter's records to the others.
            case MAINTAINER -> EnumSet.of(Role.INDEXER, Role.REMOTE_BATCHER, Role.MAINTAINER);
            default -> EnumSet.noneOf(Role.class);
        };
    }

    /**
     * Whether a role is pushed a new view when only the layout changed (every
     * view carries it anyway): queues learn the epoch they must join, filters
     * route by the ring, apps show it.
     */
    static boolean layout(Role role) {
        return role == Role.QUEUE || role == Role.FILTER || role == Role.APP;
    }
}
