package io.chariots.common.record;

import io.chariots.common.grpc.MessageLimits;
import io.chariots.proto.RecordEnvelope;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EdgeStampTest {
    private static LogRecord parsed(String json) throws RecordFormatException {
        return RecordJson.readRecord(json.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The envelope is what is bounded, not the JSON: a record of millions of
     * small tags takes up to about twice its JSON in the log (8 bytes of hash a
     * tag), so a 32 MiB body could make a record no call carries. Shown here
     * with three large values (a JSON string is at most 20 MB), which cost
     * about their JSON.
     */
    @Test
    void aRecordWhoseEnvelopeIsLargerThanOneCallCarriesIsRefusedNamingItsSize() throws Exception {
        EdgeStamp stamp = new EdgeStamp("b", 0, 1);
        String pad = "p".repeat(17 << 20);
        LogRecord tooLarge = parsed("{\"tags\":{\"a\":\"" + pad + "\",\"b\":\"" + pad + "\",\"c\":\"" + pad + "\"}}");
        assertThatThrownBy(() -> stamp.stamp(tooLarge, 1))
                .isInstanceOf(RecordFormatException.class)
                .hasMessageContaining("record")
                .hasMessageContaining("more than " + MessageLimits.MAX_RECORD_BYTES);

        LogRecord large = parsed("{\"tags\":{\"a\":\"" + pad + "\",\"b\":\"" + pad + "\"}}");
        RecordEnvelope e = stamp.stamp(large, 1);
        assertThat(e.getSerializedSize()).isBetween(34 << 20, MessageLimits.MAX_RECORD_BYTES);
    }
}
