package io.chariots.systemtests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.RoleProcess;
import io.chariots.proto.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A maintainer SIGKILLed and not restarted (2 maintainers, 3000 records
 * appended durably): reads of its LIds are answered 503 naming it and the
 * LIds it holds, a page across them stops there with {@code unavailable},
 * an SSE tail says why it waits; once it is restarted the same reads succeed
 * and the tail goes on.
 */
class MaintainerGoneReadsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int RECORDS = 3000;

    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();

    @TempDir
    Path dir;

    @Test
    void readsNameAGoneMaintainerAndSucceedOnceItIsBack() throws Exception {
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).maintainers(2).start());
        c.awaitRegistered(Duration.ofSeconds(120)); // generous: CI machines are shared
        String app = c.appUrl(0);
        appendDurably(app);

        RoleProcess victim = c.get(Role.MAINTAINER, 1);
        String victimGrpc = victim.host() + ":" + victim.ports().grpc();
        c.expectDown(victim, true);
        victim.kill();

        // Blocks of 1000 alternate between the two maintainers: one of blocks 1 and 2 is the victim's.
        long held = 0;
        HttpResponse<String> gone = null;
        for (long lid : new long[] {1500, 2500}) {
            HttpResponse<String> r = LogProbe.get(app + "/record/" + lid);
            if (r.statusCode() == 503) {
                held = lid;
                gone = r;
            } else {
                assertThat(r.statusCode()).as("LId %d on the live maintainer: %s", lid, r.body()).isEqualTo(200);
            }
        }
        assertThat(held).as("one of LIds 1500 and 2500 is on the killed maintainer").isNotZero();
        long blockStart = held - 499;
        JsonNode err = JSON.readTree(gone.body());
        assertThat(gone.headers().firstValue("Retry-After")).hasValue("1");
        assertThat(err.get("lid").asLong()).isEqualTo(held);
        assertThat(err.get("maintainer").asText()).isEqualTo(victimGrpc);
        // Which blocks it holds depends on the join order: every other block, with this one among them.
        assertThat(err.get("holds").asText()).contains(blockStart + "–" + (blockStart + 999));
        assertThat(err.get("error").asText()).startsWith("LId " + held + " is on maintainer " + victimGrpc)
                .contains("which is not available").contains("it holds LIds " + err.get("holds").asText());

        // A page across its first LId stops there and says why; a page from it has nothing and is a 503. A page
        // reports a gap once the LIds are known to exist: here once the queue has given new LIds to the live
        // maintainer (a stripe from 3001), which it does within seconds of the controller declaring the kill.
        String acrossUrl = app + "/records?from=" + (blockStart - 100) + "&limit=200";
        HttpResponse<String> across = LogProbe.get(acrossUrl);
        for (long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
             !across.body().contains("\"unavailable\"") && System.nanoTime() < until; ) {
            Thread.sleep(200);
            across = LogProbe.get(acrossUrl);
        }
        assertThat(across.statusCode()).as(across.body()).isEqualTo(200);
        JsonNode page = JSON.readTree(across.body());
        assertThat(page.get("records")).hasSize(100);
        assertThat(page.get("next").asLong()).isEqualTo(blockStart);
        assertThat(page.get("unavailable")).hasSize(1);
        JsonNode gap = page.get("unavailable").get(0);
        assertThat(gap.get("from").asLong()).isEqualTo(blockStart);
        assertThat(gap.get("to").asLong()).isEqualTo(blockStart + 999);
        assertThat(gap.get("maintainer").asText()).isEqualTo(victimGrpc);
        HttpResponse<String> from = LogProbe.get(app + "/records?from=" + blockStart + "&limit=10");
        assertThat(from.statusCode()).as(from.body()).isEqualTo(503);
        assertThat(JSON.readTree(from.body()).get("unavailable").get(0).get("maintainer").asText()).isEqualTo(victimGrpc);

        // An SSE tail from just before the gap gets its records, then says why it waits, then goes on.
        SseTail tail = new SseTail(app + "/records/stream?format=sse&from=" + (blockStart - 5), blockStart + 994);
        tail.start();
        assertThat(tail.unavailable.await(20, TimeUnit.SECONDS)).as("the tail said why it waits").isTrue();
        assertThat(tail.lids).containsExactly(blockStart - 5, blockStart - 4, blockStart - 3, blockStart - 2, blockStart - 1);
        assertThat(tail.unavailableEvent).contains("\"maintainer\":\"" + victimGrpc + "\"");

        victim.start();
        c.expectDown(victim, false);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        HttpResponse<String> back = LogProbe.get(app + "/record/" + held);
        while (back.statusCode() != 200 && System.nanoTime() < deadline) {
            Thread.sleep(200);
            back = LogProbe.get(app + "/record/" + held);
        }
        assertThat(back.statusCode()).as(back.body()).isEqualTo(200);
        assertThat(JSON.readTree(back.body()).get("lid").asLong()).isEqualTo(held);
        HttpResponse<String> whole = LogProbe.get(app + "/records?from=" + (blockStart - 100) + "&limit=200");
        JsonNode full = JSON.readTree(whole.body());
        assertThat(full.get("records")).hasSize(200);
        assertThat(full.has("unavailable")).isFalse();
        assertThat(tail.done.await(30, TimeUnit.SECONDS)).as("the tail went on once the maintainer was back").isTrue();
        assertThat(tail.lids).hasSize(1000);
        for (int i = 0; i < tail.lids.size(); i++) {
            assertThat(tail.lids.get(i)).isEqualTo(blockStart - 5 + i);
        }
        assertThat(tail.failure).isNull();
    }

    /** Appends RECORDS records with wait=true, 500 per request, so they are all stored before the kill. */
    private static void appendDurably(String app) throws Exception {
        for (int base = 0; base < RECORDS; base += 500) {
            StringBuilder sb = new StringBuilder("[");
            for (int i = base; i < base + 500; i++) {
                sb.append(i == base ? "" : ",").append("{\"id\":\"g").append(i).append("\",\"tags\":{\"n\":\"").append(i).append("\"}}");
            }
            HttpResponse<String> r = LogProbe.post(app + "/record?wait=true", sb.append(']').toString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        }
    }

    /** An SSE tail that records the LIds of its records up to {@code last}, and its first {@code unavailable} event. */
    static final class SseTail extends Thread {
        final String url;
        final long last;
        final List<Long> lids = Collections.synchronizedList(new ArrayList<>());
        final CountDownLatch unavailable = new CountDownLatch(1);
        final CountDownLatch done = new CountDownLatch(1);
        volatile String unavailableEvent;
        volatile Throwable failure;

        SseTail(String url, long last) {
            super("sse-tail");
            setDaemon(true);
            this.url = url;
            this.last = last;
        }

        @Override
        public void run() {
            try {
                HttpResponse<Stream<String>> r = LogProbe.HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(),
                        HttpResponse.BodyHandlers.ofLines());
                try (Stream<String> lines = r.body()) {
                    Iterator<String> it = lines.iterator();
                    String event = "message";
                    while (it.hasNext()) {
                        String line = it.next();
                        if (line.startsWith("event: ")) {
                            event = line.substring(7);
                        } else if (line.startsWith("data: ")) {
                            if (event.equals("unavailable")) {
                                if (unavailableEvent == null) {
                                    unavailableEvent = line.substring(6);
                                }
                                unavailable.countDown();
                            } else {
                                long lid = JSON.readTree(line.substring(6)).get("lid").asLong();
                                lids.add(lid);
                                if (lid == last) {
                                    done.countDown();
                                    return;
                                }
                            }
                        } else if (line.isEmpty()) {
                            event = "message";
                        }
                    }
                }
            } catch (Throwable t) {
                failure = t;
            }
        }
    }
}
