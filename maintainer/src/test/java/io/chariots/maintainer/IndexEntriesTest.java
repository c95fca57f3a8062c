package io.chariots.maintainer;

import com.google.protobuf.CodedOutputStream;
import io.chariots.proto.IndexEntry;
import io.chariots.proto.RecordEnvelope;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

class IndexEntriesTest {
    @Test
    void anEntryCarriesLidSeedTagHashesAndIdOnly() {
        RecordEnvelope r = TestRecords.record(1234, 100);
        IndexEntry e = IndexEntries.of(r);
        assertThat(e.getLid()).isEqualTo(1234);
        assertThat(e.getSeed()).isEqualTo(r.getSeed());
        assertThat(e.getTagHashList()).containsExactlyElementsOf(r.getTagHashList());
        assertThat(e.getId()).isEqualTo("id-1234");
    }

    @Test
    void parsingStoredBytesSkipsTheBodyAndMatchesTheFullDecode() throws Exception {
        for (RecordEnvelope r : new RecordEnvelope[]{TestRecords.record(7, 0), TestRecords.record(8, 2 << 20),
                RecordEnvelope.newBuilder().setLid(9).build()}) {
            assertThat(IndexEntries.parse(r.toByteArray())).isEqualTo(IndexEntries.of(r));
        }
    }

    @Test
    void acceptsUnpackedTagHashes() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        out.writeString(RecordEnvelope.ID_FIELD_NUMBER, "x");
        out.writeFixed64(RecordEnvelope.TAG_HASH_FIELD_NUMBER, 11);
        out.writeBytes(RecordEnvelope.BODY_FIELD_NUMBER, com.google.protobuf.ByteString.copyFromUtf8("body"));
        out.writeFixed64(RecordEnvelope.TAG_HASH_FIELD_NUMBER, -12);
        out.writeUInt64(RecordEnvelope.LID_FIELD_NUMBER, 5);
        out.writeFixed64(RecordEnvelope.SEED_FIELD_NUMBER, 99);
        out.flush();
        assertThat(IndexEntries.parse(bytes.toByteArray())).isEqualTo(IndexEntry.newBuilder()
                .setId("x").addTagHash(11).addTagHash(-12).setLid(5).setSeed(99).build());
    }

    @Test
    void aRecordSomeEdgeWaitsForCarriesItsAckToAndHostAlsoWhenReadBackFromDisk() throws Exception {
        RecordEnvelope r = TestRecords.record(12, 100).toBuilder().setHost(2).setAckTo("10.0.0.5:9080").build();
        IndexEntry e = IndexEntries.of(r);
        assertThat(e.getAckTo()).isEqualTo("10.0.0.5:9080");
        assertThat(e.getHost()).isEqualTo(2);
        assertThat(IndexEntries.parse(r.toByteArray())).isEqualTo(e);
        // Without ack_to, the entry stays what indexers always got: no host either.
        RecordEnvelope plain = TestRecords.record(13, 10).toBuilder().setHost(2).build();
        assertThat(IndexEntries.of(plain).getHost()).isZero();
        assertThat(IndexEntries.parse(plain.toByteArray())).isEqualTo(IndexEntries.of(plain));
    }
}
