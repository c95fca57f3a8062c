package io.chariots.maintainer;

import com.google.protobuf.ByteString;
import io.chariots.proto.RecordEnvelope;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Records for tests: deterministic pseudo-random bodies, so every byte is checkable. */
final class TestRecords {
    private TestRecords() {
    }

    static RecordEnvelope record(long lid, int bodyBytes) {
        byte[] body = new byte[bodyBytes];
        new Random(lid * 31 + bodyBytes).nextBytes(body);
        return RecordEnvelope.newBuilder()
                .setId("id-" + lid)
                .setSeed(0x8000_0000_0000_0000L | lid) // above Long.MAX_VALUE: unsigned
                .addTagHash(lid * 7919)
                .addTagHash(-lid)
                .addPrehash(lid - 1)
                .setBody(ByteString.copyFrom(body))
                .setHost(0)
                .setTimestampMs(1_700_000_000_000L + lid)
                .setLid(lid)
                .build();
    }

    static RecordEnvelope record(long lid) {
        return record(lid, 40);
    }

    /** Records for LIds {@code from..to} inclusive. */
    static List<RecordEnvelope> records(long from, long to) {
        List<RecordEnvelope> out = new ArrayList<>();
        for (long lid = from; lid <= to; lid++) {
            out.add(record(lid));
        }
        return out;
    }

    /** A record as read back, without the stored_us stamp the maintainer adds when persisting it. */
    static RecordEnvelope unstamped(RecordEnvelope r) {
        return r.toBuilder().clearStoredUs().build();
    }

    static java.util.List<RecordEnvelope> unstamped(java.util.List<RecordEnvelope> rs) {
        return rs.stream().map(TestRecords::unstamped).toList();
    }

    static java.util.Optional<RecordEnvelope> unstamped(java.util.Optional<RecordEnvelope> r) {
        return r.map(TestRecords::unstamped);
    }

    static long storedUs(byte[] stored) {
        try {
            return RecordEnvelope.parseFrom(stored).getStoredUs();
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }
}
