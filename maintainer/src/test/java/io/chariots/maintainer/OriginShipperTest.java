package io.chariots.maintainer;

import io.chariots.common.read.LogReader;
import io.chariots.proto.OriginMark;
import io.chariots.proto.RecordEnvelope;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/** The shipper of datacenter 0's records to datacenter 1, over a log and a link held in memory. */
class OriginShipperTest {
    static final int HERE = 0;
    static final int THERE = 1;
    long now = 1_000_000_000L;
    final TreeMap<Long, RecordEnvelope> log = new TreeMap<>();
    final List<Long> readsFrom = new ArrayList<>();
    final List<List<RecordEnvelope>> sent = new ArrayList<>();
    final List<Runnable> pendingAcks = new ArrayList<>();
    OriginMark mark = OriginMark.newBuilder().setOrigin(HERE).build();
    int marksAsked;
    boolean failSends;

    final OriginShipper.Log memoryLog = new OriginShipper.Log() {
        @Override
        public void range(long from, int limit, Consumer<LogReader.Page> page, Consumer<Throwable> failed) {
            readsFrom.add(from);
            List<RecordEnvelope> out = new ArrayList<>();
            for (long l = from; l < from + limit && log.containsKey(l); l++) {
                out.add(log.get(l));
            }
            page.accept(new LogReader.Page(out, true));
        }

        @Override
        public void latest(int origin, Consumer<OriginMark> mark, Consumer<Throwable> failed) {
            long max = log.values().stream().filter(r -> r.getHost() == origin).mapToLong(RecordEnvelope::getToid).max()
                    .orElse(0);
            mark.accept(OriginMark.newBuilder().setOrigin(origin).setToid(max).build());
        }
    };
    final OriginShipper.Link memoryLink = new OriginShipper.Link() {
        @Override
        public void marks(int origin, Consumer<OriginMark> m, Consumer<Throwable> failed) {
            assertThat(origin).isEqualTo(HERE);
            marksAsked++;
            m.accept(mark);
        }

        @Override
        public void send(List<RecordEnvelope> batch, Runnable done, Consumer<Throwable> failed) {
            if (failSends) {
                failed.accept(new RuntimeException("UNAVAILABLE: connection refused"));
                return;
            }
            sent.add(batch);
            pendingAcks.add(done);
        }
    };
    final OriginShipper.Limits limits = new OriginShipper.Limits(3, 1 << 20, 2, 6, TimeUnit.MILLISECONDS.toNanos(20),
            TimeUnit.SECONDS.toNanos(1), TimeUnit.SECONDS.toNanos(10), TimeUnit.MILLISECONDS.toNanos(200),
            TimeUnit.SECONDS.toNanos(5));
    final OriginShipper shipper = new OriginShipper(HERE, THERE, memoryLog, memoryLink, limits, () -> now);

    void local(long lid, long toid) {
        log.put(lid, RecordEnvelope.newBuilder().setId("r" + toid).setHost(HERE).setLid(lid).setToid(toid)
                .setAckTo("10.0.0.1:10000").setTimestampMs(1000 + toid).build());
    }

    void fromThere(long lid) {
        log.put(lid, RecordEnvelope.newBuilder().setId("x" + lid).setHost(THERE).setLid(lid).setToid(lid).setOriginLid(lid)
                .build());
    }

    void hole(long lid) {
        log.put(lid, RecordEnvelope.newBuilder().setLid(lid).setHole(true).build());
    }

    static List<Long> toids(List<RecordEnvelope> batch) {
        return batch.stream().map(RecordEnvelope::getToid).toList();
    }

    @Test
    void shipsFromTheOtherSidesMarkInOriginOrderWithHolesForLostTOIdsAndNothingOfOthers() {
        local(1, 1);
        local(2, 2);
        local(6, 3);      // LIds 3..5 are not read: the other side has TOId 2, at LId 2 here
        fromThere(7);     // never shipped back
        hole(8);          // an LId hole here
        local(9, 5);      // TOId 4 was given with an LId that became a hole
        for (long l = 3; l <= 5; l++) {
            fromThere(l);
        }
        mark = OriginMark.newBuilder().setOrigin(HERE).setToid(2).setOriginLid(2).build();
        shipper.poll(now);
        assertThat(shipper.state()).isEqualTo(OriginShipper.State.SHIPPING);
        shipper.poll(now);
        assertThat(readsFrom.get(0)).as("from the LId after the mark's").isEqualTo(3);
        assertThat(sent).hasSize(1);
        assertThat(toids(sent.get(0))).containsExactly(3L, 4L, 5L);
        RecordEnvelope three = sent.get(0).get(0);
        assertThat(three.getLid()).as("no LId of ours").isZero();
        assertThat(three.getOriginLid()).isEqualTo(6);
        assertThat(three.getAckTo()).isEmpty();
        assertThat(sent.get(0).get(1).getHole()).as("TOId 4 as a hole").isTrue();
        assertThat(sent.get(0).get(1).getHost()).isEqualTo(HERE);
        assertThat(sent.get(0).get(2).getHole()).isFalse();
        assertThat(shipper.lagRecords()).isEqualTo(3);
    }

    @Test
    void aMarkThatDoesNotMoveWhileRecordsAreOutMakesItSendAgainFromTheMark() {
        for (long t = 1; t <= 5; t++) {
            local(t, t);
        }
        shipper.poll(now);
        shipper.poll(now);
        shipper.poll(now);
        assertThat(sent).extracting(OriginShipperTest::toids).containsExactly(List.of(1L, 2L, 3L), List.of(4L, 5L));
        pendingAcks.forEach(Runnable::run); // the batcher there took them — and crashed before passing them on
        now += TimeUnit.SECONDS.toNanos(5);
        shipper.poll(now);
        assertThat(sent).hasSize(2);
        now += TimeUnit.SECONDS.toNanos(6);
        shipper.poll(now);
        assertThat(shipper.restarts()).isEqualTo(1);
        shipper.poll(now);
        shipper.poll(now);
        assertThat(sent).hasSize(4);
        assertThat(toids(sent.get(2))).as("again from the mark").containsExactly(1L, 2L, 3L);
        // Once the mark moves, nothing more is sent twice.
        mark = OriginMark.newBuilder().setOrigin(HERE).setToid(5).setOriginLid(5).build();
        now += TimeUnit.SECONDS.toNanos(1);
        shipper.poll(now);
        assertThat(shipper.remoteMark()).isEqualTo(5);
        assertThat(shipper.lagRecords()).isZero();
        now += TimeUnit.SECONDS.toNanos(20);
        shipper.poll(now);
        assertThat(sent).hasSize(4);
    }

    @Test
    void aFailedSendBacksOffAndResumesFromTheMarkNeverBeyondMaxAhead() {
        for (long t = 1; t <= 20; t++) {
            local(t, t);
        }
        failSends = true;
        shipper.poll(now);
        shipper.poll(now);
        assertThat(shipper.state()).isEqualTo(OriginShipper.State.BACKING_OFF);
        assertThat(shipper.lastError()).contains("connection refused");
        assertThat(shipper.lagRecords()).as("the lag is the log's, also while the link is down").isEqualTo(20);
        failSends = false;
        now += TimeUnit.MILLISECONDS.toNanos(199);
        shipper.poll(now);
        assertThat(shipper.state()).isEqualTo(OriginShipper.State.BACKING_OFF);
        now += TimeUnit.MILLISECONDS.toNanos(2);
        shipper.poll(now);
        shipper.poll(now);
        assertThat(shipper.state()).isEqualTo(OriginShipper.State.SHIPPING);
        pendingAcks.forEach(Runnable::run);
        pendingAcks.clear();
        shipper.poll(now);
        // Mark 0, at most 6 ahead: TOIds 1..6 out, 7.. wait for the other side.
        assertThat(sent.stream().flatMap(b -> b.stream()).mapToLong(RecordEnvelope::getToid).max().orElse(0)).isEqualTo(6);
        mark = OriginMark.newBuilder().setOrigin(HERE).setToid(6).setOriginLid(6).build();
        now += TimeUnit.SECONDS.toNanos(1);
        shipper.poll(now);
        pendingAcks.forEach(Runnable::run);
        shipper.poll(now);
        assertThat(sent.stream().flatMap(b -> b.stream()).mapToLong(RecordEnvelope::getToid).max().orElse(0)).isEqualTo(12);
    }
}
