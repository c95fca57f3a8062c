package io.chariots.common.record;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.chariots.proto.RecordBody;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Tag;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One record of the log, decoded: what a client sends and a reader gets back.
 * Immutable. {@code seed} and each prehash are unsigned 64-bit values kept in
 * a {@code long} (see {@link Unsigned64}); an empty prehash array means "no
 * cause". Between roles a record travels as a {@link RecordEnvelope}, whose
 * tags stay encoded; convert with {@link #toEnvelope()} / {@link #fromEnvelope}.
 */
public final class LogRecord {
    /** {@link #host()} when the sender did not name a datacenter. */
    public static final int NO_HOST = -1;

    private static final long[] NO_CAUSE = new long[0];
    /**
     * Up to this many causes a record checks each against those kept so far:
     * nearly every record has 0 to 2, and the scan allocates nothing.
     */
    private static final int SCAN_MAX_CAUSES = 16;

    private final String id;
    private final Map<String, String> tags;
    private final long[] prehashes;
    private final long seed;
    private final int host;
    private final long lid;
    private final long toid;
    private final long timestamp;

    private LogRecord(Builder b) {
        this.id = b.id;
        this.tags = Collections.unmodifiableMap(new LinkedHashMap<>(b.tags));
        this.prehashes = normalize(b.prehashes);
        this.seed = b.seed;
        this.host = b.host;
        this.lid = b.lid;
        this.toid = b.toid;
        this.timestamp = b.timestamp;
    }

    /**
     * Drops zeros (0 means "no cause") and repeated hashes, keeping order: the
     * first occurrence of each hash stays where it was.
     */
    private static long[] normalize(long[] in) {
        if (in == null || in.length == 0) {
            return NO_CAUSE;
        }
        long[] out = new long[in.length];
        int n = in.length <= SCAN_MAX_CAUSES ? firstsByScan(in, out) : firstsBySort(in, out);
        return n == 0 ? NO_CAUSE : Arrays.copyOf(out, n);
    }

    /** Writes the first occurrence of each non-zero hash of {@code in} to {@code out}; returns how many. */
    private static int firstsByScan(long[] in, long[] out) {
        int n = 0;
        outer:
        for (long h : in) {
            if (h == 0) {
                continue;
            }
            for (int i = 0; i < n; i++) {
                if (out[i] == h) {
                    continue outer;
                }
            }
            out[n++] = h;
        }
        return n;
    }

    /**
     * As {@link #firstsByScan}, in O(n log n) whatever the hashes: a record
     * parsed at an edge has at most {@link RecordJson#MAX_CAUSES}, but a scan
     * over those kept for each cause is quadratic, and records built inside
     * (from envelopes) are not limited; two million causes take about 0.6 s.
     */
    static int firstsBySort(long[] in, long[] out) {
        long[] distinct = in.clone();
        Arrays.sort(distinct);
        int d = 0;
        for (long h : distinct) {
            if (d == 0 || distinct[d - 1] != h) {
                distinct[d++] = h;
            }
        }
        boolean[] kept = new boolean[d]; // by index in distinct
        int n = 0;
        for (long h : in) {
            if (h == 0) {
                continue;
            }
            int i = Arrays.binarySearch(distinct, 0, d, h);
            if (!kept[i]) {
                kept[i] = true;
                out[n++] = h;
            }
        }
        return n;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The idempotency key, or null if none was given yet. */
    public String id() {
        return id;
    }

    /** Tags in the order they were given. */
    public Map<String, String> tags() {
        return tags;
    }

    /** The causes' tag hashes (unsigned); empty when the record has no cause. */
    public long[] prehashes() {
        return prehashes.clone();
    }

    public int causeCount() {
        return prehashes.length;
    }

    /** Unsigned 64-bit chain seed. */
    public long seed() {
        return seed;
    }

    /** Datacenter of origin, or {@link #NO_HOST}. */
    public int host() {
        return host;
    }

    /** Log position from 1; 0 while not yet appended. */
    public long lid() {
        return lid;
    }

    /** Its sequence number among the records of its datacenter of origin (from 1); 0 when it has none. */
    public long toid() {
        return toid;
    }

    /** Epoch milliseconds of the append; 0 when not set. */
    public long timestamp() {
        return timestamp;
    }

    /** FNV-1a-64 of each tag, in tag order. */
    public long[] tagHashes() {
        long[] out = new long[tags.size()];
        int i = 0;
        for (Map.Entry<String, String> e : tags.entrySet()) {
            out[i++] = Fnv1a64.hashTag(e.getKey(), e.getValue());
        }
        return out;
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.id = id;
        b.tags.putAll(tags);
        b.prehashes = prehashes;
        b.seed = seed;
        b.host = host;
        b.lid = lid;
        b.toid = toid;
        b.timestamp = timestamp;
        return b;
    }

    /**
     * The wire form: ids and hashes in the clear, tags encoded once in
     * {@code body} so that routing stages never decode them.
     */
    public RecordEnvelope toEnvelope() {
        return toEnvelopeBuilder().build();
    }

    /** {@link #toEnvelope()} as a builder, for an edge that adds its stamps before building once. */
    public RecordEnvelope.Builder toEnvelopeBuilder() {
        RecordBody.Builder body = RecordBody.newBuilder();
        RecordEnvelope.Builder env = RecordEnvelope.newBuilder();
        for (Map.Entry<String, String> e : tags.entrySet()) {
            body.addTags(Tag.newBuilder().setKey(e.getKey()).setValue(e.getValue()));
            env.addTagHash(Fnv1a64.hashTag(e.getKey(), e.getValue()));
        }
        if (id != null) {
            env.setId(id);
        }
        for (long h : prehashes) {
            env.addPrehash(h);
        }
        return env.setSeed(seed)
                .setBody(body.build().toByteString())
                .setHost(host == NO_HOST ? 0 : host)
                .setTimestampMs(timestamp)
                .setLid(lid)
                .setToid(toid);
    }

    /** Decodes a wire record, tags included. */
    public static LogRecord fromEnvelope(RecordEnvelope env) throws InvalidProtocolBufferException {
        Builder b = builder().seed(env.getSeed()).host((int) env.getHost()).lid(env.getLid()).toid(env.getToid())
                .timestamp(env.getTimestampMs());
        if (!env.getId().isEmpty()) {
            b.id(env.getId());
        }
        long[] pre = new long[env.getPrehashCount()];
        for (int i = 0; i < pre.length; i++) {
            pre[i] = env.getPrehash(i);
        }
        b.prehashes(pre);
        ByteString body = env.getBody();
        for (Tag t : RecordBody.parseFrom(body).getTagsList()) {
            b.tag(t.getKey(), t.getValue());
        }
        return b.build();
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof LogRecord r)) {
            return false;
        }
        return seed == r.seed && host == r.host && lid == r.lid && toid == r.toid && timestamp == r.timestamp
                && Objects.equals(id, r.id) && tags.equals(r.tags) && Arrays.equals(prehashes, r.prehashes);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, tags, Arrays.hashCode(prehashes), seed, host, lid, toid, timestamp);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("LogRecord{");
        if (lid != 0) {
            sb.append("lid=").append(lid).append(", ");
        }
        sb.append("id=").append(id).append(", tags=").append(tags).append(", seed=")
                .append(Unsigned64.toString(seed)).append(", prehash=[");
        for (int i = 0; i < prehashes.length; i++) {
            sb.append(i == 0 ? "" : ",").append(Unsigned64.toString(prehashes[i]));
        }
        return sb.append("], host=").append(host).append('}').toString();
    }

    /** Mutable builder; {@link #build()} copies. */
    public static final class Builder {
        private String id;
        private final LinkedHashMap<String, String> tags = new LinkedHashMap<>();
        private long[] prehashes = NO_CAUSE;
        private long seed;
        private int host = NO_HOST;
        private long lid;
        private long toid;
        private long timestamp;

        private Builder() {
        }

        public Builder id(String id) {
            this.id = id;
            return this;
        }

        public Builder tag(String key, String value) {
            tags.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
            return this;
        }

        public Builder tags(Map<String, String> all) {
            all.forEach(this::tag);
            return this;
        }

        /** Unsigned hashes of the causes; zeros mean "no cause" and are dropped. */
        public Builder prehashes(long... hashes) {
            this.prehashes = hashes.clone();
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder host(int host) {
            this.host = host;
            return this;
        }

        public Builder lid(long lid) {
            this.lid = lid;
            return this;
        }

        public Builder toid(long toid) {
            this.toid = toid;
            return this;
        }

        public Builder timestamp(long epochMillis) {
            this.timestamp = epochMillis;
            return this;
        }

        public LogRecord build() {
            return new LogRecord(this);
        }
    }
}
