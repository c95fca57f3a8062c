package io.chariots.launcher.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.chariots.common.record.Fnv1a64;
import io.chariots.common.record.Unsigned64;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.MaintainerGrpc;
import io.chariots.proto.ReadRequest;
import io.chariots.proto.Role;
import io.grpc.ManagedChannel;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Reads the whole log back through the app's range pages and checks it
 * against what was acknowledged: every acknowledged record exactly once, at
 * the LId it was acknowledged with; no id twice; LIds 1..N each one record or
 * one hole (I1 with holes); every effect after a record carrying the tag its
 * prehash names, in its chain (I3).
 */
public final class LogCheck {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PAGE = 1000;

    /**
     * A violation found in the log.
     *
     * @param kind {@code lost} (an acknowledged record missing or elsewhere), {@code twice} (an id appended twice),
     *     {@code gap} (I1), {@code cause} (I3)
     * @param lid the LId it concerns (the acknowledged LId for {@code lost}, the second one for {@code twice})
     */
    public record Finding(String kind, long lid, String text) {
    }

    /** The log as read: its last LId, how many records, its holes, and what is wrong with it. */
    public record Result(long lastLid, long records, List<Long> holes, List<Finding> findings) {
    }

    private record Entry(String id, long seed, long[] prehashes, long[] tagHashes) {
    }

    private final String appUrl;
    private final List<RoleProcess> maintainers;
    private final LocalCluster cluster;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    public LogCheck(LocalCluster cluster) {
        RoleProcess app = cluster.get(Role.APP, 0);
        this.appUrl = "http://" + app.host() + ":" + app.ports().main();
        this.maintainers = cluster.all(Role.MAINTAINER);
        this.cluster = cluster;
    }

    /** Reads the log (waiting up to {@code within} for LIds the maintainers hold to become readable) and checks it. */
    public Result check(Map<String, AckLedger.Ack> acked, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        List<Finding> findings = new ArrayList<>();
        Map<Long, Entry> log = new HashMap<>();
        List<Long> holes = new ArrayList<>();
        long next = 1;
        while (true) {
            JsonNode page = page(next, deadline);
            if (page == null) {
                findings.add(new Finding("gap", next, "LId " + next + " and on: the app did not answer a range read within "
                        + within.toSeconds() + " s"));
                break;
            }
            JsonNode records = page.path("records");
            if (records.isEmpty()) {
                long max = maintainersMaxLid();
                if (max < next || System.nanoTime() > deadline) {
                    if (max >= next) {
                        findings.add(new Finding("gap", next, "I1: LIds " + next + ".." + max + " are held by maintainers but "
                                + "not readable within " + within.toSeconds() + " s (LId " + next + " missing)"));
                    }
                    break;
                }
                Thread.sleep(500); // a hole not yet filled, or a maintainer catching up
                continue;
            }
            for (JsonNode r : records) {
                long lid = r.path("lid").asLong();
                if (lid != next) {
                    findings.add(new Finding("gap", next, "I1: the page from " + next + " went on with LId " + lid));
                }
                if (r.path("hole").asBoolean(false)) {
                    holes.add(lid);
                } else {
                    log.put(lid, entry(r));
                }
                next = lid + 1;
            }
        }
        checkIds(log, acked, findings);
        checkCauses(log, findings);
        return new Result(next - 1, log.size(), holes, findings);
    }

    private JsonNode page(long from, long deadline) throws InterruptedException {
        URI uri = URI.create(appUrl + "/records?from=" + from + "&limit=" + PAGE);
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return JSON.readTree(r.body());
                }
            } catch (IOException e) {
                // the app or a maintainer is not answering yet: again shortly
            }
            Thread.sleep(500);
        }
        return null;
    }

    private static Entry entry(JsonNode r) {
        List<Long> tags = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = r.path("tags").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> t = it.next();
            tags.add(Fnv1a64.hashTag(t.getKey(), t.getValue().asText()));
        }
        JsonNode pre = r.path("prehash");
        long[] prehashes;
        if (pre.isArray()) {
            prehashes = new long[pre.size()];
            for (int i = 0; i < pre.size(); i++) {
                prehashes[i] = Unsigned64.parse(pre.get(i).asText());
            }
        } else {
            prehashes = pre.isMissingNode() || pre.isNull() ? new long[0] : new long[] {Unsigned64.parse(pre.asText())};
        }
        return new Entry(r.path("id").asText(), Unsigned64.parse(r.path("seed").asText("0")), prehashes,
                tags.stream().mapToLong(Long::longValue).toArray());
    }

    private static void checkIds(Map<Long, Entry> log, Map<String, AckLedger.Ack> acked, List<Finding> findings) {
        Map<String, Long> lidOf = new HashMap<>();
        log.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            Long first = lidOf.putIfAbsent(e.getValue().id(), e.getKey());
            if (first != null) {
                findings.add(new Finding("twice", e.getKey(), "id " + e.getValue().id() + " appended twice: at LId " + first
                        + " and at LId " + e.getKey()));
            }
        });
        acked.forEach((id, ack) -> {
            Long at = lidOf.get(id);
            if (at == null) {
                findings.add(new Finding("lost", ack.lid(), "acknowledged lost: " + id + " was acknowledged at LId " + ack.lid()
                        + " (" + ack.path() + ") and is not in the log"));
            } else if (at != ack.lid()) {
                findings.add(new Finding("lost", ack.lid(), "acknowledged at the wrong LId: " + id + " was acknowledged at LId "
                        + ack.lid() + " (" + ack.path() + ") and is at LId " + at));
            }
        });
    }

    private static void checkCauses(Map<Long, Entry> log, List<Finding> findings) {
        Map<String, Long> lowest = new HashMap<>(); // "hash/seed" → lowest LId carrying that tag in that chain
        log.forEach((lid, e) -> {
            for (long h : e.tagHashes()) {
                lowest.merge(h + "/" + e.seed(), lid, Math::min);
            }
        });
        log.forEach((lid, e) -> {
            for (long h : e.prehashes()) {
                if (h == 0) {
                    continue;
                }
                Long cause = lowest.get(h + "/" + e.seed());
                if (cause == null || cause >= lid) {
                    findings.add(new Finding("cause", lid, "I3: " + e.id() + " at LId " + lid + " names prehash "
                            + Unsigned64.toString(h) + (cause == null ? ", which no record of its chain carries"
                            : ", first carried at LId " + cause + ", not before it")));
                }
            }
        });
    }

    /** The highest LId any running maintainer holds (records or holes). */
    private long maintainersMaxLid() {
        long max = 0;
        for (RoleProcess m : maintainers) {
            ManagedChannel ch = cluster.channel(m.host(), m.ports().grpc());
            try {
                max = Math.max(max, MaintainerGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .stats(ReadRequest.getDefaultInstance()).getMaxLid());
            } catch (RuntimeException e) {
                // not answering: its LIds cannot be read through the app either, which the read reports
            } finally {
                ch.shutdownNow();
            }
        }
        return max;
    }
}
