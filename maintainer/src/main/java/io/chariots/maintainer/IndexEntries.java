package io.chariots.maintainer;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import io.chariots.proto.IndexEntry;
import io.chariots.proto.RecordEnvelope;

import java.io.IOException;

/**
 * What an indexer needs of a record: its LId, seed, tag hashes and id (for a
 * record from another datacenter, its id with its origin: see
 * {@code RecordKeys}). The
 * body (tags as text, possibly MiBs) never goes to indexers: they work on the
 * hashes computed once at the edge. A record some edge waits for also carries
 * that edge's address ({@code ack_to}) and its datacenter, so the maintainer
 * can notify the edge once the entry is indexed, also after a restart.
 */
public final class IndexEntries {
    private IndexEntries() {
    }

    /** The index entry of a record that has its LId. */
    public static IndexEntry of(RecordEnvelope r) {
        IndexEntry.Builder b = IndexEntry.newBuilder()
                .setLid(r.getLid())
                .setSeed(r.getSeed())
                .addAllTagHash(r.getTagHashList())
                .setId(io.chariots.common.record.RecordKeys.idKey(r));
        if (!r.getAckTo().isEmpty()) {
            b.setAckTo(r.getAckTo()).setHost(r.getHost());
        }
        return b.build();
    }

    /**
     * The entries of the records {@code store} holds in {@code [fromLid, toLid)}
     * (holes skipped), without {@code ack_to}: what a re-feed sends again.
     */
    public static ShareRefeed.Source storedIn(FlStore store) {
        return (fromLid, toLid, limit) -> {
            java.util.List<IndexEntry> out = new java.util.ArrayList<>();
            long next = fromLid;
            while (out.size() < limit && Long.compareUnsigned(next, toLid) < 0) {
                java.util.List<RecordEnvelope> rs;
                try {
                    rs = store.range(next, (int) Math.min(Integer.MAX_VALUE, toLid - next), 4L << 20);
                } catch (org.rocksdb.RocksDBException e) {
                    throw new IllegalStateException("cannot read records to re-feed: " + e, e);
                }
                if (rs.isEmpty()) {
                    break;
                }
                for (RecordEnvelope r : rs) {
                    if (out.size() >= limit) {
                        break;
                    }
                    if (!r.getHole()) {
                        out.add(of(r).toBuilder().clearAckTo().clearHost().build());
                    }
                    next = r.getLid() + 1;
                }
            }
            return out;
        };
    }

    /**
     * The index entry of a record as stored (a serialized RecordEnvelope),
     * decoding only the fields it needs and skipping the body without copying
     * it: recovery reads the backlog of a long indexer outage this way.
     * Accepts repeated hashes packed (what protobuf writes) or not.
     */
    public static IndexEntry parse(byte[] storedEnvelope) throws InvalidProtocolBufferException {
        CodedInputStream in = CodedInputStream.newInstance(storedEnvelope);
        IndexEntry.Builder b = IndexEntry.newBuilder();
        int host = 0;
        long originLid = 0;
        try {
            for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
                int field = WireFormat.getTagFieldNumber(tag);
                int wire = WireFormat.getTagWireType(tag);
                if (field == RecordEnvelope.ID_FIELD_NUMBER && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    b.setId(in.readStringRequireUtf8());
                } else if (field == RecordEnvelope.SEED_FIELD_NUMBER && wire == WireFormat.WIRETYPE_FIXED64) {
                    b.setSeed(in.readFixed64());
                } else if (field == RecordEnvelope.LID_FIELD_NUMBER && wire == WireFormat.WIRETYPE_VARINT) {
                    b.setLid(in.readUInt64());
                } else if (field == RecordEnvelope.TAG_HASH_FIELD_NUMBER && wire == WireFormat.WIRETYPE_FIXED64) {
                    b.addTagHash(in.readFixed64());
                } else if (field == RecordEnvelope.TAG_HASH_FIELD_NUMBER && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    int limit = in.pushLimit(in.readRawVarint32());
                    while (in.getBytesUntilLimit() > 0) {
                        b.addTagHash(in.readFixed64());
                    }
                    in.popLimit(limit);
                } else if (field == RecordEnvelope.ACK_TO_FIELD_NUMBER && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    b.setAckTo(in.readStringRequireUtf8());
                } else if (field == RecordEnvelope.HOST_FIELD_NUMBER && wire == WireFormat.WIRETYPE_VARINT) {
                    host = in.readUInt32();
                } else if (field == RecordEnvelope.ORIGIN_LID_FIELD_NUMBER && wire == WireFormat.WIRETYPE_VARINT) {
                    originLid = in.readUInt64();
                } else if (!in.skipField(tag)) {
                    break;
                }
            }
        } catch (InvalidProtocolBufferException e) {
            throw e;
        } catch (IOException e) {
            throw new InvalidProtocolBufferException(e);
        }
        if (!b.getAckTo().isEmpty()) {
            b.setHost(host);
        }
        if (originLid != 0) {
            b.setId(io.chariots.common.record.RecordKeys.remoteId(host, b.getId()));
        }
        return b.build();
    }
}
