package io.chariots.systemtests;

import io.chariots.client.AppendStatus;
import io.chariots.client.BadRequestException;
import io.chariots.client.Cause;
import io.chariots.client.Chariots;
import io.chariots.client.Draft;
import io.chariots.client.Event;
import io.chariots.client.LogEntry;
import io.chariots.client.RawBatcher;
import io.chariots.client.Tail;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.proto.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The Java client against a real local cluster: what an application developer would do and check. */
class JavaClientTest {
    @RegisterExtension
    final ClusterExtension clusters = new ClusterExtension();

    @TempDir
    Path dir;

    @Test
    void chainsAppendedOverHttpAndRawTcpComeBackInCausalOrder() throws Exception {
        LocalCluster c = clusters.track(LocalCluster.spec().workDir(dir).start());
        c.awaitRegistered(Duration.ofSeconds(90));
        int batcherPort = c.get(Role.BATCHER, 0).ports().main();
        try (Chariots log = Chariots.connect(c.appUrl(0));
             Tail tail = log.tail(1)) {
            // A chain with a seed above 2^63 and non-ASCII tags; its middle link goes over raw TCP,
            // and the effects are sent before their causes.
            long seed = 0xF00D_0000_0000_0001L;
            Draft orderDraft = Draft.of(Map.of("order", "Bestellung-42", "kunde", "Zoë")).seed(seed);
            Event order = orderDraft.event();
            Draft paid = Draft.of(Map.of("zahlung", "bezahlt ✓")).causedBy(Cause.causedBy(order, "order"));
            Event paidEvent = paid.event();
            Draft shipped = Draft.of(Map.of("versand", "DHL")).causedBy(Cause.causedBy(paidEvent, "zahlung"), Cause.causedBy(order, "kunde"));
            log.append(shipped);
            try (RawBatcher raw = RawBatcher.connect("127.0.0.1", batcherPort)) {
                raw.send(paid);
            }
            log.append(orderDraft);

            List<LogEntry> chain = awaitTrace(log, seed, 3);
            assertThat(chain).extracting(LogEntry::id).containsExactly(order.id(), paidEvent.id(), chain.get(2).id());
            assertThat(chain.get(0).tags()).containsEntry("kunde", "Zoë");
            assertThat(chain.get(1).causes()).containsExactly(chain.get(0).lid());
            assertThat(chain.get(2).causes()).containsExactly(chain.get(1).lid(), chain.get(0).lid());
            assertThat(chain).allSatisfy(e -> assertThat(e.seed()).isEqualTo(seed));
            assertThat(chain.get(0).seedText()).isEqualTo(Long.toUnsignedString(seed));

            // Durable appends come back with their LId, readable at once.
            Event durable = log.appendDurable(Map.of("durable", "ja"), Cause.causedBy(order, "order"));
            assertThat(durable.lid()).isEqualTo(4);
            assertThat(log.get(durable.lid())).hasValueSatisfying(e -> assertThat(e.id()).isEqualTo(durable.id()));
            assertThat(log.status(durable.id()).state()).isEqualTo(AppendStatus.State.APPENDED);
            assertThat(log.get(1000)).isEmpty();

            // Many async appends, batched; the tail sees the whole log in order.
            List<CompletableFuture<Event>> many = new ArrayList<>();
            for (int i = 0; i < 2000; i++) {
                many.add(log.appendAsync(Map.of("bulk", "b" + (i % 10))));
            }
            log.flush();
            assertThat(many).allSatisfy(f -> assertThat(f).isCompleted());
            List<Long> seen = new ArrayList<>();
            while (seen.size() < 2004) {
                seen.add(tail.next().lid());
            }
            for (int i = 0; i < seen.size(); i++) {
                assertThat(seen.get(i)).isEqualTo(i + 1L);
            }
            // Indexers index after maintainers persist, so the tag index may trail the tail a little.
            assertThat(awaitTagged(log, "bulk", "b3", 200)).isEqualTo(200);
            assertThat(log.records(2000, 10).records()).hasSize(5);

            assertThatThrownBy(() -> log.records(0, 10)).isInstanceOfSatisfying(BadRequestException.class,
                    e -> assertThat(e.field()).isEqualTo("from"));
        }
    }

    /** Counts the records found by tag until there are {@code n} (or 30 s pass); every one must carry the tag. */
    private static int awaitTagged(Chariots log, String key, String value, int n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            int tagged = 0;
            for (LogEntry e : log.byTag(key, value)) {
                assertThat(e.tags()).containsEntry(key, value);
                tagged++;
            }
            if (tagged >= n || System.nanoTime() > deadline) {
                return tagged;
            }
            Thread.sleep(50);
        }
    }

    private static List<LogEntry> awaitTrace(Chariots log, long seed, int n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        List<LogEntry> chain = log.trace(seed);
        while (chain.size() < n && System.nanoTime() < deadline) {
            Thread.sleep(50);
            chain = log.trace(seed);
        }
        assertThat(chain).hasSize(n);
        return chain;
    }
}
