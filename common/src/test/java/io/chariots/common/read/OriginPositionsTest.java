package io.chariots.common.read;

import io.chariots.proto.RecordEnvelope;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class OriginPositionsTest {
    static RecordEnvelope rec(long lid, int host, long toid) {
        return RecordEnvelope.newBuilder().setLid(lid).setHost(host).setToid(toid).build();
    }

    @Test
    void aReaderFromAnotherDatacenterGetsEveryRecordAfterItsPositionsAndNoneBefore() {
        OriginPositions p = OriginPositions.parse("0:3, 1:1,2:0", 3);
        assertThat(p.startLid()).as("nothing unseen below the lowest position plus one").isEqualTo(1);
        // This datacenter's order: 1/1 0/1 0/2 2/1 1/2 0/3 0/4
        List<RecordEnvelope> log = List.of(rec(1, 1, 1), rec(2, 0, 1), rec(3, 0, 2), rec(4, 2, 1), rec(5, 1, 2),
                rec(6, 0, 3), rec(7, 0, 4), rec(8, 0, 0));
        assertThat(p.unseen(log)).extracting(RecordEnvelope::getLid).containsExactly(4L, 5L, 7L, 8L);
        assertThat(OriginPositions.parse("0:5,1:9", 2).startLid()).isEqualTo(6);
        assertThat(OriginPositions.parse("1:9", 2).startLid()).as("origin 0 from its first record").isEqualTo(1);
    }

    @Test
    void refusesWhatIsNoPositionNamingIt() {
        assertThatThrownBy(() -> OriginPositions.parse("0-3", 2)).hasMessageContaining("is not origin:toid");
        assertThatThrownBy(() -> OriginPositions.parse("2:3", 2)).hasMessageContaining("does not exist (num_dc = 2)");
        assertThatThrownBy(() -> OriginPositions.parse("0:3,0:4", 2)).hasMessageContaining("given twice");
        assertThatThrownBy(() -> OriginPositions.parse("0:-1", 2)).hasMessageContaining("is not a TOId");
        assertThatThrownBy(() -> OriginPositions.parse("x:1", 2)).hasMessageContaining("not a datacenter id");
    }
}
