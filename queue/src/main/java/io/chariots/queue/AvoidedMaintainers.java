package io.chariots.queue;

import io.chariots.common.membership.Membership;
import io.chariots.proto.AvoidedMaintainer;
import io.chariots.proto.Member;
import io.chariots.proto.Role;
import io.chariots.proto.Token;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The maintainers new stripes leave out, carried in the token so that every
 * holder agrees. Each queue knows only its own failed calls: if each chose
 * maintainers by those, a queue that saw a maintainer fail and one that did
 * not would put the next stripe back and forth at every hop, and assign
 * nothing meanwhile.
 * <p>
 * A holder adds a maintainer whose calls from it keep failing (stores still
 * pending after {@code queue.maintainer_failures} failures in a row, a layout
 * it did not take). The maintainer is tried again when the view lists another
 * instance at its address (it restarted), or once this queue has seen it
 * avoided for {@code queue.maintainer_retry_ms} while the view lists it (a
 * pause that ended, a cut that healed). Each queue counts that time on its own
 * clock from when it first saw the entry, so no two clocks are compared.
 */
final class AvoidedMaintainers {
    private static final Logger LOG = LoggerFactory.getLogger(AvoidedMaintainers.class);

    private final long retryNanos;
    // When this queue first saw each entry (address and instance) in a token.
    private final Map<String, Long> seenSince = new HashMap<>();
    private List<AvoidedMaintainer> last = List.of();

    AvoidedMaintainers(long retryNanos) {
        this.retryNanos = retryNanos;
    }

    /**
     * The token with its avoided maintainers brought up to date: those due
     * for another try taken out, those failing here (address → why) added.
     */
    Token update(Token token, Membership view, Map<String, String> failingHere, long now) {
        Map<String, String> listed = new HashMap<>();
        for (Member m : view.members(Role.MAINTAINER)) {
            listed.put(m.getGrpcAddress(), m.getInstanceId());
        }
        List<AvoidedMaintainer> kept = new ArrayList<>();
        Set<String> keys = new HashSet<>();
        Set<String> retried = new HashSet<>();
        for (AvoidedMaintainer a : token.getAvoidedMaintainersList()) {
            String key = a.getAddress() + '/' + a.getInstanceId();
            long since = seenSince.computeIfAbsent(key, k -> now);
            String instance = listed.get(a.getAddress());
            boolean restarted = instance != null && !instance.equals(a.getInstanceId());
            boolean due = instance != null && now - since >= retryNanos && !failingHere.containsKey(a.getAddress());
            if (restarted || due) {
                LOG.info("maintainer {} {}: new stripes may include it again", a.getAddress(),
                        restarted ? "restarted" : "was avoided for " + TimeUnit.NANOSECONDS.toMillis(now - since) + " ms");
                retried.add(a.getAddress());
            } else {
                kept.add(a);
                keys.add(key);
            }
        }
        Set<String> avoided = new LinkedHashSet<>();
        kept.forEach(a -> avoided.add(a.getAddress()));
        for (Map.Entry<String, String> f : failingHere.entrySet()) {
            if (!avoided.contains(f.getKey()) && !retried.contains(f.getKey())) {
                AvoidedMaintainer a = AvoidedMaintainer.newBuilder().setAddress(f.getKey())
                        .setInstanceId(listed.getOrDefault(f.getKey(), "")).setReason(f.getValue()).build();
                LOG.warn("maintainer {} fails ({}): new LIds go to the others until it restarts, or for {} ms",
                        f.getKey(), f.getValue(), TimeUnit.NANOSECONDS.toMillis(retryNanos));
                kept.add(a);
                keys.add(a.getAddress() + '/' + a.getInstanceId());
                seenSince.put(a.getAddress() + '/' + a.getInstanceId(), now);
                avoided.add(f.getKey());
            }
        }
        seenSince.keySet().retainAll(keys);
        last = List.copyOf(kept);
        if (kept.equals(token.getAvoidedMaintainersList())) {
            return token;
        }
        return token.toBuilder().clearAvoidedMaintainers().addAllAvoidedMaintainers(kept).build();
    }

    /** The maintainers the last token this queue held avoided: a token this queue makes anew starts with them. */
    List<AvoidedMaintainer> last() {
        return last;
    }

    static Set<String> addresses(List<AvoidedMaintainer> avoided) {
        Set<String> out = new HashSet<>();
        avoided.forEach(a -> out.add(a.getAddress()));
        return out;
    }
}
