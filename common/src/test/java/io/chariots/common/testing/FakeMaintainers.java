package io.chariots.common.testing;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import io.chariots.common.membership.Membership;
import io.chariots.common.read.LogReader;
import io.chariots.proto.Layout;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.chariots.proto.ReadRequest;
import io.chariots.proto.RecordBatch;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;
import io.chariots.proto.Stripe;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * Two maintainers in memory behind a {@link LogReader}: {@link #A} holds the
 * odd blocks of 1000 LIds from 1, {@link #B} the even ones. They answer a
 * range and a list of LIds alike, each answer stopping before a record that
 * would take it past the request's {@code max_bytes} or {@link #REPLY_BYTES}
 * (unless it is the first), as a maintainer's does. Records of one body size share their body, so a log of
 * gigabytes costs a test megabytes.
 */
public final class FakeMaintainers implements LogReader.MaintainerClient {
    public static final String A = "127.0.0.1:10030";
    public static final String B = "127.0.0.2:10030";
    public static final int MIB = 1 << 20;
    /** A maintainer's cap on one answer ({@code MaintainerService.MAX_REPLY_BYTES}, in a module that depends on this one). */
    public static final long REPLY_BYTES = 48L << 20;

    private final Map<String, NavigableMap<Long, RecordEnvelope>> stored = new HashMap<>();
    /** The largest answer given of more than one record, in bytes. */
    private long largestAnswer;
    private final Map<Integer, ByteString> bodies = new HashMap<>();

    /** Stores LId {@code lid} (id {@code "r" + lid}) with a body of {@code bodyBytes} on the maintainer of its block. */
    public void store(long lid, int bodyBytes) {
        String owner = (lid - 1) / 1000 % 2 == 0 ? A : B;
        ByteString body = bodies.computeIfAbsent(bodyBytes, n -> ByteString.copyFrom(new byte[n]));
        stored.computeIfAbsent(owner, k -> new TreeMap<>())
                .put(lid, RecordEnvelope.newBuilder().setLid(lid).setId("r" + lid).setBody(body).build());
    }

    /** A reader of a view whose one stripe, from LId 1, is A then B. */
    public LogReader reader() {
        Membership view = new Membership(MembershipView.newBuilder().setEpoch(1).setVersion(1)
                .addMembers(maintainer(A, 1)).addMembers(maintainer(B, 2))
                .setLayout(Layout.newBuilder().setEpoch(1).setVersion(1)
                        .addStripes(Stripe.newBuilder().setFromLid(1).addMaintainers(A).addMaintainers(B)))
                .build());
        return new LogReader(null, this, () -> view, Duration.ofSeconds(1));
    }

    @Override
    public ListenableFuture<RecordBatch> read(String grpcAddress, ReadRequest req, Duration deadline) {
        NavigableMap<Long, RecordEnvelope> mine = stored.getOrDefault(grpcAddress, new TreeMap<>());
        Iterable<RecordEnvelope> asked = req.getLidsCount() > 0
                ? req.getLidsList().stream().map(mine::get).filter(r -> r != null).toList()
                : mine.subMap(req.getFromLid(), true, req.getFromLid() + req.getLimit(), false).values();
        long cap = req.getMaxBytes() > 0 ? Math.min(req.getMaxBytes(), REPLY_BYTES) : REPLY_BYTES;
        RecordBatch.Builder out = RecordBatch.newBuilder();
        long bytes = 0;
        for (RecordEnvelope r : asked) {
            if (out.getRecordsCount() > 0 && bytes + r.getSerializedSize() > cap) {
                break;
            }
            bytes += r.getSerializedSize();
            out.addRecords(r);
        }
        if (out.getRecordsCount() > 1) {
            largestAnswer = Math.max(largestAnswer, bytes);
        }
        return Futures.immediateFuture(out.build());
    }

    /** The bytes of the largest answer given that held more than one record. */
    public long largestAnswer() {
        return largestAnswer;
    }

    /** The serialized size of the largest of {@code records}, 0 for none. */
    public static long largest(List<RecordEnvelope> records) {
        return records.stream().mapToLong(RecordEnvelope::getSerializedSize).max().orElse(0);
    }

    private static Member maintainer(String grpc, int seq) {
        return Member.newBuilder().setRole(Role.MAINTAINER).setInstanceId("m" + seq).setJoinSeq(seq)
                .setGrpcAddress(grpc).build();
    }
}
