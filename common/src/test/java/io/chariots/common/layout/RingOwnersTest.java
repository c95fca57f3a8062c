package io.chariots.common.layout;

import io.chariots.proto.RingMember;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class RingOwnersTest {
    private static RingMember q(String address, String instance) {
        return RingMember.newBuilder().setAddress(address).setInstanceId(instance).build();
    }

    private static final RingMember Q1 = q("10.0.0.1:7000", "q1-a");
    private static final RingMember Q2 = q("10.0.0.2:7000", "q2-a");
    private static final RingMember Q3 = q("10.0.0.3:7000", "q3-a");
    private static final RingMember Q4 = q("10.0.0.4:7000", "q4-a");

    private static List<String> ids(int n) {
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add("rec-" + i + "-" + Integer.toHexString(i * 31 + 7));
        }
        return out;
    }

    @Test
    void anEmptyRingHasNoOwner() {
        assertThat(RingOwners.ownerOf("x", List.of())).isNull();
        assertThat(RingOwners.ownerAddress("x", List.of())).isNull();
    }

    @Test
    void aRingOfOneOwnsEverything() {
        for (String id : ids(100)) {
            assertThat(RingOwners.ownerOf(id, List.of(Q1))).isEqualTo(Q1);
        }
    }

    @Test
    void ownersStayTheSameWhileMoreQueueAddressesComeAndGoThanAreRemembered() {
        List<RingMember> ring = List.of(Q1, Q2, Q3);
        Map<String, RingMember> first = new HashMap<>();
        for (String id : ids(1000)) {
            first.put(id, RingOwners.ownerOf(id, ring));
        }
        // Rings of fresh addresses, more than the remembered address hashes: the memory is
        // cleared on the way, and must never change an owner.
        for (int i = 0; i < 1500; i++) {
            List<RingMember> other = List.of(q("10.1." + (i / 250) + "." + (i % 250) + ":7000", "x" + i), Q4);
            assertThat(RingOwners.ownerOf("rec-" + i, other)).isIn(other);
        }
        for (String id : ids(1000)) {
            assertThat(RingOwners.ownerOf(id, ring)).as(id).isEqualTo(first.get(id));
        }
    }

    @Test
    void theOwnerIsDeterministicAndIndependentOfRingOrder() {
        List<RingMember> ring = List.of(Q1, Q2, Q3);
        List<RingMember> reversed = List.of(Q3, Q2, Q1);
        // Built afresh: equal members, other objects.
        List<RingMember> copy = List.of(q(Q2.getAddress(), "q2-a"), q(Q1.getAddress(), "q1-a"), q(Q3.getAddress(), "q3-a"));
        for (String id : ids(2000)) {
            RingMember owner = RingOwners.ownerOf(id, ring);
            assertThat(RingOwners.ownerOf(id, ring)).isEqualTo(owner);
            assertThat(RingOwners.ownerOf(id, reversed)).isEqualTo(owner);
            assertThat(RingOwners.ownerOf(id, copy)).isEqualTo(owner);
            assertThat(RingOwners.ownerAddress(id, ring)).isEqualTo(owner.getAddress());
        }
    }

    @Test
    void everyIdHasExactlyOneOwnerInTheRing() {
        List<RingMember> ring = List.of(Q1, Q2, Q3, Q4);
        for (String id : ids(5000)) {
            RingMember owner = RingOwners.ownerOf(id, ring);
            assertThat(ring).contains(owner);
            // Exactly one member of the ring would claim the id: the owner.
            long claims = ring.stream().filter(m -> m.getAddress().equals(RingOwners.ownerAddress(id, ring))).count();
            assertThat(claims).isEqualTo(1);
        }
    }

    @Test
    void removingAQueueMovesOnlyItsIds() {
        List<RingMember> before = List.of(Q1, Q2, Q3, Q4);
        List<RingMember> after = List.of(Q1, Q2, Q4);
        int moved = 0;
        for (String id : ids(20_000)) {
            String was = RingOwners.ownerAddress(id, before);
            String now = RingOwners.ownerAddress(id, after);
            if (was.equals(Q3.getAddress())) {
                moved++;
                assertThat(now).isNotEqualTo(Q3.getAddress());
            } else {
                assertThat(now).as(id).isEqualTo(was);
            }
        }
        assertThat(moved).as("Q3 owned about a quarter").isBetween(4000, 6000);
    }

    @Test
    void addingAQueueTakesIdsOnlyFromTheOthers() {
        List<RingMember> before = List.of(Q1, Q2, Q3);
        List<RingMember> after = List.of(Q1, Q2, Q3, Q4);
        int taken = 0;
        for (String id : ids(20_000)) {
            String was = RingOwners.ownerAddress(id, before);
            String now = RingOwners.ownerAddress(id, after);
            if (!now.equals(was)) {
                assertThat(now).as("an id changes owner only to the newcomer").isEqualTo(Q4.getAddress());
                taken++;
            }
        }
        assertThat(taken).as("the newcomer takes about a quarter").isBetween(4000, 6000);
    }

    @Test
    void aRestartedQueueAtTheSameAddressOwnsTheSameIds() {
        List<RingMember> before = List.of(Q1, Q2, Q3);
        List<RingMember> restarted = List.of(Q1, q(Q2.getAddress(), "q2-b"), Q3);
        for (String id : ids(5000)) {
            assertThat(RingOwners.ownerAddress(id, restarted)).isEqualTo(RingOwners.ownerAddress(id, before));
        }
        // Whereas a queue moved to another address is another owner: some ids change hands.
        List<RingMember> moved = List.of(Q1, q("10.0.0.9:7000", "q2-a"), Q3);
        long changed = ids(5000).stream()
                .filter(id -> !RingOwners.ownerAddress(id, moved).equals(RingOwners.ownerAddress(id, before))).count();
        assertThat(changed).isPositive();
    }

    @Test
    void thirtyThousandIdsSpreadEvenlyOverThreeQueues() {
        List<RingMember> ring = List.of(Q1, Q2, Q3);
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 30_000; i++) {
            String id = java.util.UUID.nameUUIDFromBytes(("id " + i).getBytes()).toString();
            counts.merge(RingOwners.ownerAddress(id, ring), 1, Integer::sum);
        }
        assertThat(counts).hasSize(3);
        for (int c : counts.values()) {
            assertThat(c).isBetween(9500, 10500); // ±5% of 10,000
        }
    }

    @Test
    void idsThatDifferInOneCharacterSpreadToo() {
        // Sequential ids (a client's counter) must not all land on one queue.
        List<RingMember> ring = List.of(q("queue-1:9300", "a"), q("queue-2:9300", "b"), q("queue-3:9300", "c"));
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 30_000; i++) {
            counts.merge(RingOwners.ownerAddress(Integer.toString(i), ring), 1, Integer::sum);
        }
        assertThat(counts).hasSize(3);
        for (int c : counts.values()) {
            assertThat(c).isBetween(9500, 10500);
        }
    }
}
