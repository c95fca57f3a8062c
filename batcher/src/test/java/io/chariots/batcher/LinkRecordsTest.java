package io.chariots.batcher;

import io.chariots.common.record.RecordJson;
import io.chariots.proto.RecordEnvelope;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

class LinkRecordsTest {
    private static RecordEnvelope withCauses(int n) {
        return RecordEnvelope.newBuilder().setId("r").addAllPrehash(() -> LongStream.rangeClosed(1, n).iterator()).build();
    }

    @Test
    void aRecordSentToIngestNamesNoMoreCausesThanAnEdgeTakes() {
        int max = RecordJson.MAX_CAUSES;
        assertThat(LinkRecords.problemWith(List.of(withCauses(max)), 0, 1)).isNull();
        assertThat(LinkRecords.problemWith(List.of(withCauses(1), withCauses(max + 1)), 0, 1))
                .isEqualTo("record 1 names " + (max + 1) + " causes, more than " + max);
    }
}
