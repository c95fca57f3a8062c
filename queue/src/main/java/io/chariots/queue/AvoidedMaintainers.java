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
 * The maintainers new stripes leave out although the view lists them,
 * carried in the token so that every holder agrees. Each queue knows only
 * its own failed calls: if each chose maintainers by those, a queue that saw
 * a maintainer fail and one that did not would put the next stripe back and
 * forth at every hop, and assign nothing meanwhile.
 * <p>
 * A holder adds a listed maintainer whose calls from it keep failing (stores
 * still pending after {@code queue.maintainer_failures} failures in a row, a
 * layout it did not take). The entry goes when the view no longer lists the
 * maintainer (unlisted, new stripes leave it out anyway), when the view lists
 * another instance at its address (a restart: tried at once), or once this
 * queue has seen it avoided for {@code queue.maintainer_retry_ms} and a probe
 * (a cheap call) answered since: a maintainer the controller hears but the
 * queues cannot reach is not put back into a stripe, which would hold the
 * token for a layout call that times out. Each queue counts that time on its
 * own clock from when it first saw the entry, so no two clocks are compared.
 * Also tells restarts apart for the store outbox ({@link #restartedIn}).
 */
final class AvoidedMaintainers {
    private static final Logger LOG = LoggerFactory.getLogger(AvoidedMaintainers.class);

    // Between probes of one maintainer: a failing channel fails at once, and update runs at every hold.
    private static final long PROBE_PAUSE_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final long retryNanos;
    // When this queue first saw each entry (address and instance) in a token.
    private final Map<String, Long> seenSince = new HashMap<>();
    // Probes of maintainers due for another try: in flight, and when one last answered.
    private final Set<String> probing = new HashSet<>();
    private final Map<String, Long> answeredAt = new HashMap<>();
    private final Map<String, Long> probedAt = new HashMap<>();
    private final Set<String> toProbe = new LinkedHashSet<>();
    // The instance last listed at each maintainer address.
    private final Map<String, String> instances = new HashMap<>();
    private List<AvoidedMaintainer> last = List.of();

    AvoidedMaintainers(long retryNanos) {
        this.retryNanos = retryNanos;
    }

    /** The maintainer addresses {@code view} lists with another instance than the views before: restarts. */
    List<String> restartedIn(Membership view) {
        List<String> out = new ArrayList<>();
        for (Member m : view.members(Role.MAINTAINER)) {
            String before = instances.put(m.getGrpcAddress(), m.getInstanceId());
            if (before != null && !before.equals(m.getInstanceId())) {
                out.add(m.getGrpcAddress());
            }
        }
        return out;
    }

    /**
     * The token with its avoided maintainers brought up to date: those
     * unlisted, restarted or due and answering taken out, those failing here
     * (address → why) added. Then {@link #toProbe} names those due and not
     * yet answering.
     */
    Token update(Token token, Membership view, Map<String, String> failingHere, long now) {
        if (token.getAvoidedMaintainersCount() == 0 && failingHere.isEmpty()) {
            // Fair weather, at every hold: nothing to look at.
            seenSince.clear();
            last = List.of();
            return token;
        }
        Map<String, String> listed = new HashMap<>();
        for (Member m : view.members(Role.MAINTAINER)) {
            listed.put(m.getGrpcAddress(), m.getInstanceId());
        }
        toProbe.clear();
        // An answer from before it failed here again proves nothing about now.
        answeredAt.keySet().removeAll(failingHere.keySet());
        List<AvoidedMaintainer> kept = new ArrayList<>();
        Set<String> keys = new HashSet<>();
        Set<String> released = new HashSet<>();
        for (AvoidedMaintainer a : token.getAvoidedMaintainersList()) {
            String instance = listed.get(a.getAddress());
            if (instance == null) {
                continue; // new stripes leave it out while unlisted; listed again, it is a maintainer like any other
            }
            String key = a.getAddress() + '/' + a.getInstanceId();
            long since = seenSince.computeIfAbsent(key, k -> now);
            boolean restarted = !instance.equals(a.getInstanceId());
            boolean due = now - since >= retryNanos && !failingHere.containsKey(a.getAddress());
            Long answered = answeredAt.get(a.getAddress());
            boolean answering = due && answered != null && answered - (since + retryNanos) >= 0;
            if (restarted || answering) {
                LOG.info("maintainer {} {}: new stripes may include it again", a.getAddress(),
                        restarted ? "restarted" : "answers after " + TimeUnit.NANOSECONDS.toMillis(now - since) + " ms avoided");
                released.add(a.getAddress());
                continue;
            }
            Long probed = probedAt.get(a.getAddress());
            if (due && !probing.contains(a.getAddress()) && (probed == null || now - probed >= PROBE_PAUSE_NANOS)) {
                toProbe.add(a.getAddress());
                probedAt.put(a.getAddress(), now);
            }
            kept.add(a);
            keys.add(key);
        }
        Set<String> avoided = new HashSet<>();
        kept.forEach(a -> avoided.add(a.getAddress()));
        for (Map.Entry<String, String> f : failingHere.entrySet()) {
            String instance = listed.get(f.getKey());
            if (instance != null && !avoided.contains(f.getKey()) && !released.contains(f.getKey())) {
                AvoidedMaintainer a = AvoidedMaintainer.newBuilder().setAddress(f.getKey()).setInstanceId(instance)
                        .setReason(f.getValue()).build();
                LOG.warn("maintainer {} fails ({}): new LIds go to the others until it restarts, leaves the view, "
                        + "or answers after {} ms", f.getKey(), f.getValue(), TimeUnit.NANOSECONDS.toMillis(retryNanos));
                kept.add(a);
                String key = f.getKey() + '/' + instance;
                keys.add(key);
                seenSince.put(key, now);
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

    /** The avoided maintainers due for another try that no probe has yet found answering: probe each, once. */
    List<String> toProbe() {
        List<String> out = List.copyOf(toProbe);
        probing.addAll(out);
        toProbe.clear();
        return out;
    }

    /** A probe of {@code maintainer} answered ({@code ok}) or failed. */
    void onProbe(String maintainer, boolean ok, long now) {
        probing.remove(maintainer);
        if (ok) {
            answeredAt.put(maintainer, now);
        }
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
