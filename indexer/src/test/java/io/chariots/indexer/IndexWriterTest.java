package io.chariots.indexer;

import io.chariots.proto.IndexBatch;
import io.chariots.proto.IndexEntry;
import io.chariots.proto.Rejection;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static io.chariots.indexer.TagIndexTest.batch;
import static io.chariots.indexer.TagIndexTest.entry;
import static org.assertj.core.api.Assertions.assertThat;

/** The single writer: acknowledgement after the write, bounded queue, failures reported. */
class IndexWriterTest {
    @TempDir
    Path dir;

    @Test
    void acknowledgesAfterTheWriteOnTheWriterThread() throws Exception {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        IndexerMetrics metrics = new IndexerMetrics(reg);
        try (TagIndex index = TagIndex.open(dir); IndexWriter writer = new IndexWriter(index, metrics, 1 << 20).start()) {
            CompletableFuture<Long> acked = new CompletableFuture<>();
            AtomicReference<String> thread = new AtomicReference<>();
            IndexBatch b = IndexBatch.newBuilder().addEntries(entry(1, 2, "a", 3)).addEntries(entry(2, 2, "b", 3))
                    .addRejections(Rejection.newBuilder().setId("r")).build();
            assertThat(writer.submit(b, (accepted, error) -> {
                thread.set(Thread.currentThread().getName());
                acked.complete(index.exists(3, 2) == 1 && error == null ? accepted : -1);
            })).isTrue();
            assertThat(acked.get(5, TimeUnit.SECONDS)).isEqualTo(3);
            assertThat(thread.get()).isEqualTo("indexer-writer");
            assertThat(reg.counter("chariots_indexer_entries_indexed_total").count()).isEqualTo(2);
            assertThat(reg.counter("chariots_indexer_batches_total").count()).isEqualTo(1);
            assertThat(reg.timer("chariots_indexer_batch_write").count()).isEqualTo(1);
            assertThat(writer.pendingBytes()).isZero();
        }
    }

    @Test
    void refusesWhenTheQueueIsFullButNeverALoneBatch() throws Exception {
        IndexerMetrics metrics = new IndexerMetrics(new SimpleMeterRegistry());
        IndexBatch b = batch(entry(1, 1, "a", 1));
        long size = b.getSerializedSize();
        try (TagIndex index = TagIndex.open(dir); IndexWriter writer = new IndexWriter(index, metrics, size + 1).start()) {
            CountDownLatch inCallback = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            IndexBatch huge = batch(entry(9, 9, "x".repeat(1000), 9));
            assertThat(writer.submit(huge, (a, e) -> {
                inCallback.countDown();
                await(release);
            })).as("larger than the bound, but nothing else waits").isTrue();
            assertThat(inCallback.await(5, TimeUnit.SECONDS)).isTrue();
            // The writer is parked in that callback: what we submit now waits.
            CompletableFuture<Long> second = new CompletableFuture<>();
            assertThat(writer.submit(b, (a, e) -> second.complete(a))).isTrue();
            assertThat(writer.pendingBytes()).isEqualTo(size);
            assertThat(writer.submit(b, (a, e) -> { })).as("queue full").isFalse();
            assertThat(metrics.busyRefusals.count()).isEqualTo(1);
            release.countDown();
            assertThat(second.get(5, TimeUnit.SECONDS)).isEqualTo(1);
        }
    }

    @Test
    void aFailedWriteIsReportedAndNotAcknowledged() throws Exception {
        IndexerMetrics metrics = new IndexerMetrics(new SimpleMeterRegistry());
        TagIndex index = TagIndex.open(dir);
        try (IndexWriter writer = new IndexWriter(index, metrics, 1 << 20).start()) {
            index.close();
            CompletableFuture<RuntimeException> failed = new CompletableFuture<>();
            writer.submit(batch(entry(1, 1, "a", 1)), (a, e) -> failed.complete(e));
            assertThat(failed.get(5, TimeUnit.SECONDS)).isInstanceOf(IllegalStateException.class);
            assertThat(writer.lastWriteError()).contains("closed");
            assertThat(metrics.writeFailures.count()).isEqualTo(1);
        }
    }

    @Test
    void batchesThatArriveWhileTheWriterIsBusyAreWrittenTogetherEachAcknowledgedAfterIt() throws Exception {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        IndexerMetrics metrics = new IndexerMetrics(reg);
        try (TagIndex index = TagIndex.open(dir); IndexWriter writer = new IndexWriter(index, metrics, 1 << 20).start()) {
            CountDownLatch release = parkWriter(writer);
            List<CompletableFuture<Long>> acks = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                CompletableFuture<Long> ack = new CompletableFuture<>();
                long lid = 2 + i;
                long hash = 1000 + i;
                // Every batch's entry is in the index when its callback runs.
                boolean throwing = i == 0;
                assertThat(writer.submit(IndexBatch.newBuilder().addEntries(entry(lid, 7, "id" + i, hash)).build(), (a, e) -> {
                    if (!ack.complete(e == null && index.exists(hash, 7) == lid ? a : -1)) {
                        ack.obtrudeValue(-2L); // answered twice
                    }
                    if (throwing) {
                        throw new IllegalStateException("a sender's callback fails; the others are answered all the same");
                    }
                })).isTrue();
                acks.add(ack);
            }
            release.countDown();
            for (CompletableFuture<Long> ack : acks) {
                assertThat(ack.get(5, TimeUnit.SECONDS)).isEqualTo(1);
            }
            CompletableFuture<Long> last = new CompletableFuture<>(); // a later write answers no earlier batch again
            writer.submit(batch(entry(100, 1, "last", 1)), (a, e) -> last.complete(a));
            assertThat(last.get(5, TimeUnit.SECONDS)).isEqualTo(1);
            assertThat(acks).allSatisfy(ack -> assertThat(ack.join()).as("answered once").isEqualTo(1));
            assertThat(reg.counter("chariots_indexer_batches_total").count()).isEqualTo(52);
            assertThat(reg.timer("chariots_indexer_batch_write").count()).as("the 50 that waited, in one write").isEqualTo(3);
            assertThat(writer.pendingBytes()).isZero();
        }
    }

    @Test
    void whenAGroupWriteFailsEachBatchIsWrittenAloneAndGetsItsOwnOutcome() throws Exception {
        IndexerMetrics metrics = new IndexerMetrics(new SimpleMeterRegistry());
        try (TagIndex index = TagIndex.open(dir)) {
            // The store refuses any write of several batches, and a batch with id "bad": a group fails, then each alone.
            List<Integer> writes = new ArrayList<>();
            IndexWriter writer = new IndexWriter(batches -> {
                writes.add(batches.size());
                if (batches.size() > 1 || batches.get(0).getEntries(0).getId().equals("bad")) {
                    throw new IndexStoreException("index write failed: no space", null);
                }
                index.index(batches);
            }, metrics, 1 << 20).start();
            try (writer) {
                CountDownLatch release = parkWriter(writer);
                List<CompletableFuture<Long>> outcomes = new ArrayList<>();
                for (String id : List.of("a", "bad", "c")) {
                    CompletableFuture<Long> outcome = new CompletableFuture<>();
                    writer.submit(batch(entry(outcomes.size() + 2, 1, id, 1)), (a, e) -> outcome.complete(e == null ? a : -1));
                    outcomes.add(outcome);
                }
                release.countDown();
                assertThat(outcomes.get(0).get(5, TimeUnit.SECONDS)).isEqualTo(1);
                assertThat(outcomes.get(1).get(5, TimeUnit.SECONDS)).as("only the batch that fails alone is refused").isEqualTo(-1);
                assertThat(outcomes.get(2).get(5, TimeUnit.SECONDS)).isEqualTo(1);
                assertThat(writes).containsExactly(1, 3, 1, 1, 1);
                assertThat(metrics.writeFailures.count()).as("one failure, the batch refused").isEqualTo(1);
                assertThat(index.exists(1, 1)).isEqualTo(1);
                assertThat(writer.pendingBytes()).isZero();
            }
        }
    }

    @Test
    void validatesLidsAndRejectionIds() {
        assertThat(IndexWriter.problemWith(batch(entry(1, 1, "a"), entry(0, 1, "b"))))
                .isEqualTo("entries[1] (id b) has lid 0; LIds start at 1");
        assertThat(IndexWriter.problemWith(IndexBatch.newBuilder().addRejections(Rejection.getDefaultInstance()).build()))
                .isEqualTo("rejections[0] has an empty id");
        assertThat(IndexWriter.problemWith(IndexBatch.newBuilder().addEntries(IndexEntry.newBuilder().setLid(-1)).build()))
                .as("2^64-1 is a valid unsigned LId").isNull();
    }

    @Test
    void everySubmitTakenWhileTheWriterClosesGetsItsAnswer() throws Exception {
        // Network threads keep submitting while the indexer stops: a batch the writer took (submit
        // returned true) is answered, written or refused, and one it did not take was refused at once.
        for (int round = 0; round < 30; round++) {
            IndexWriter writer = new IndexWriter(batches -> { }, new IndexerMetrics(new SimpleMeterRegistry()), 1L << 30).start();
            java.util.concurrent.atomic.AtomicInteger taken = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicInteger answered = new java.util.concurrent.atomic.AtomicInteger();
            CountDownLatch submitting = new CountDownLatch(2);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                Thread th = new Thread(() -> {
                    submitting.countDown();
                    for (int i = 0; i < 5_000; i++) {
                        if (writer.submit(batch(entry(i + 1, 1, "id" + i, 1)), (a, e) -> answered.incrementAndGet())) {
                            taken.incrementAndGet();
                        }
                    }
                });
                th.start();
                threads.add(th);
            }
            submitting.await();
            writer.close();
            for (Thread th : threads) {
                th.join(10_000);
            }
            assertThat(answered.get()).as("round %d: answers against batches taken", round).isEqualTo(taken.get());
            assertThat(writer.pendingBytes()).isZero();
        }
    }

    /**
     * Submits a first batch (LId 1, seed 1, id "first", tag hash 1) whose
     * callback parks the writer until the returned latch is counted down:
     * what is submitted meanwhile waits, and is written together.
     */
    static CountDownLatch parkWriter(IndexWriter writer) throws InterruptedException {
        CountDownLatch inCallback = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        writer.submit(batch(entry(1, 1, "first", 1)), (a, e) -> {
            inCallback.countDown();
            await(release);
        });
        assertThat(inCallback.await(5, TimeUnit.SECONDS)).isTrue();
        return release;
    }

    static void await(CountDownLatch latch) {
        try {
            latch.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
