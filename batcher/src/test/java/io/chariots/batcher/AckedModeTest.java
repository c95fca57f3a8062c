package io.chariots.batcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.chariots.common.acks.AppendWaiters.Appended;
import io.chariots.common.acks.AppendWaiters.Outcome;
import io.chariots.common.acks.AppendWaiters.Rejected;
import io.chariots.common.acks.AppendWaiters.TimedOut;
import io.chariots.common.frame.FrameDecoder;
import io.chariots.common.frame.FrameEncoder;
import io.chariots.common.record.EdgeStamp;
import io.chariots.proto.RecordEnvelope;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/** The acknowledged raw-TCP mode on an in-memory channel, the pipeline faked. */
class AckedModeTest {
    static final ObjectMapper JSON = new ObjectMapper();

    record Awaited(List<RecordEnvelope> records, List<String> ids, long timeoutMs, Consumer<List<Outcome>> done) {
    }

    final List<List<RecordEnvelope>> plain = new ArrayList<>();
    final List<Awaited> awaited = new ArrayList<>();

    EmbeddedChannel channel(int maxUnanswered) {
        return channel(maxUnanswered, null);
    }

    EmbeddedChannel channel(int maxUnanswered, io.chariots.common.auth.ClientToken token) {
        FrameIngest ingest = new FrameIngest(new EdgeStamp("b", 0, 1), new FrameIngest.Pipeline() {
            @Override
            public void add(List<RecordEnvelope> records) {
                plain.add(records);
            }

            @Override
            public void addAwaited(List<RecordEnvelope> records, List<String> ids, long timeoutMs, Consumer<List<Outcome>> done) {
                awaited.add(new Awaited(records, ids, timeoutMs, done));
            }
        }, new FrameIngest.AckMode(maxUnanswered, 1500), 10_000, new DefaultChannelGroup(GlobalEventExecutor.INSTANCE),
                new SimpleMeterRegistry(), token);
        ingest.ackTo("10.0.0.9:10000");
        return new EmbeddedChannel(new FrameDecoder(1 << 20), ingest);
    }

    static void send(EmbeddedChannel ch, char type, String payload) {
        ch.writeInbound(Unpooled.wrappedBuffer(FrameEncoder.encode((byte) type, payload.getBytes(StandardCharsets.UTF_8))));
    }

    /** Every frame written back, as (type, JSON). */
    static List<String> written(EmbeddedChannel ch) {
        ch.runPendingTasks();
        List<String> out = new ArrayList<>();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            while (b.readableBytes() > 0) {
                int len = b.readInt();
                char type = (char) b.readByte();
                byte[] payload = new byte[len - 1];
                b.readBytes(payload);
                out.add(type + new String(payload, StandardCharsets.UTF_8));
            }
            b.release();
        }
        return out;
    }

    @Test
    void aClientThatNeverAskedGetsNothingWritten() {
        EmbeddedChannel ch = channel(100);
        send(ch, 'r', "{\"id\":\"x\"}");
        send(ch, 'r', "{\"id\":");
        send(ch, 's', "[{\"id\":\"y\"},{\"seed\":-1}]");
        assertThat(written(ch)).isEmpty();
        assertThat(plain).hasSize(2);
        assertThat(plain.get(0).get(0).getAckTo()).isEmpty();
        assertThat(awaited).isEmpty();
    }

    @Test
    void afterTheHandshakeEveryFrameGetsOneAnswerInFrameOrderWithOneResultPerRecord() throws Exception {
        EmbeddedChannel ch = channel(100);
        send(ch, 'A', "{\"acks\":1,\"future\":true}");
        assertThat(written(ch)).containsExactly("A{\"acks\":1,\"timeout_ms\":1500}");
        send(ch, 'r', "{\"id\":\"r1\",\"seed\":1}");
        send(ch, 's', "[{\"id\":\"s1\"},{\"id\":\"bad\",\"seed\":1.5},{\"Id\":\"s2\",\"Host\":9},{\"id\":\"s3\"}]");
        send(ch, 'r', "{\"id\":");      // does not parse: answered at once, but after the frames before it
        send(ch, 's', "[{\"id\":");     // unparsable 's' frame: one result
        send(ch, 'r', "{\"seed\":2}");  // no id: the edge generates one
        assertThat(awaited).hasSize(3);
        assertThat(awaited.get(0).records().get(0).getAckTo()).isEqualTo("10.0.0.9:10000");
        assertThat(awaited.get(1).ids()).containsExactly("s1", "s3");
        assertThat(written(ch)).as("frame 1 is not answered yet, so nothing after it either").isEmpty();

        awaited.get(1).done().accept(List.of(new Appended(2, 0), new Rejected("cause never came")));
        assertThat(written(ch)).isEmpty();
        awaited.get(0).done().accept(List.of(new Appended(1, 0)));
        List<String> out = written(ch);
        assertThat(out).hasSize(4);
        assertThat(out.get(0)).isEqualTo("a{\"frame\":1,\"results\":[{\"id\":\"r1\",\"lid\":1,\"host\":0}]}");
        JsonNode f2 = JSON.readTree(out.get(1).substring(1));
        assertThat(f2.get("frame").asInt()).isEqualTo(2);
        assertThat(f2.get("results")).hasSize(4);
        assertThat(f2.get("results").get(0).toString()).isEqualTo("{\"id\":\"s1\",\"lid\":2,\"host\":0}");
        assertThat(f2.get("results").get(1).get("index").asInt()).isEqualTo(1);
        assertThat(f2.get("results").get(1).get("error").asText()).contains("seed");
        assertThat(f2.get("results").get(2).get("index").asInt()).isEqualTo(2);
        assertThat(f2.get("results").get(2).get("error").asText()).contains("host");
        assertThat(f2.get("results").get(3).toString()).isEqualTo("{\"id\":\"s3\",\"error\":\"rejected: cause never came\"}");
        JsonNode f3 = JSON.readTree(out.get(2).substring(1));
        assertThat(f3.get("results").get(0).get("index").asInt()).isZero();
        JsonNode f4 = JSON.readTree(out.get(3).substring(1));
        assertThat(f4.get("frame").asInt()).isEqualTo(4);
        assertThat(f4.get("results")).hasSize(1);
        assertThat(f4.get("results").get(0).has("error")).isTrue();

        String generated = awaited.get(2).ids().get(0);
        assertThat(generated).isNotEmpty();
        awaited.get(2).done().accept(List.of(new TimedOut()));
        JsonNode f5 = JSON.readTree(written(ch).get(0).substring(1));
        assertThat(f5.get("results").get(0).get("id").asText()).isEqualTo(generated);
        assertThat(f5.get("results").get(0).get("error").asText()).contains("1500 ms").contains("same id is safe");
    }

    @Test
    void withClientTokensRequiredAConnectionShowsOneFirstOrIsClosedWithNothingTaken() {
        io.chariots.common.auth.ClientToken tokens = io.chariots.common.auth.ClientToken.from(
                io.chariots.common.config.Settings.of(java.util.Map.of("client_token", "the-client-token-1234"), "test"),
                new SimpleMeterRegistry());
        EmbeddedChannel old = channel(100, tokens);
        send(old, 'r', "{\"id\":\"sneaky\"}");
        assertThat(old.isActive()).as("a frame before the token closes the connection").isFalse();
        assertThat(plain).isEmpty();
        assertThat(tokens.refusals("tcp", "missing")).isEqualTo(1);

        EmbeddedChannel wrong = channel(100, tokens);
        send(wrong, 'A', "{\"acks\":1,\"token\":\"the-client-token-1235\"}");
        assertThat(written(wrong)).singleElement().asString().startsWith("A{\"error\":\"refused: a wrong client token");
        assertThat(wrong.isActive()).isFalse();

        EmbeddedChannel quiet = channel(100, tokens);
        send(quiet, 'A', "{\"acks\":0,\"token\":\"the-client-token-1234\"}");
        send(quiet, 'r', "{\"id\":\"shown\"}");
        assertThat(written(quiet)).as("acks:0 — nothing written back").isEmpty();
        assertThat(quiet.isActive()).isTrue();
        assertThat(plain).hasSize(1);
        assertThat(plain.get(0).get(0).getId()).isEqualTo("shown");

        EmbeddedChannel acked = channel(100, tokens);
        send(acked, 'A', "{\"acks\":1,\"token\":\"the-client-token-1234\"}");
        assertThat(written(acked)).containsExactly("A{\"acks\":1,\"timeout_ms\":1500}");
    }

    @Test
    void aClientMayAskForAShorterWaitButNotALongerOne() throws Exception {
        EmbeddedChannel ch = channel(100);
        send(ch, 'A', "{\"acks\":1,\"timeout_ms\":400}");
        assertThat(written(ch)).containsExactly("A{\"acks\":1,\"timeout_ms\":400}");
        send(ch, 'r', "{\"id\":\"short\"}");
        assertThat(awaited.get(0).timeoutMs()).isEqualTo(400);
        awaited.get(0).done().accept(List.of(new TimedOut()));
        assertThat(JSON.readTree(written(ch).get(0).substring(1)).get("results").get(0).get("error").asText())
                .contains("within 400 ms");

        EmbeddedChannel longer = channel(100);
        send(longer, 'A', "{\"acks\":1,\"timeout_ms\":600000}");
        assertThat(written(longer)).as("capped at batcher.ack_timeout_ms").containsExactly("A{\"acks\":1,\"timeout_ms\":1500}");
        send(longer, 'r', "{\"id\":\"long\"}");
        assertThat(awaited.get(1).timeoutMs()).isEqualTo(1500);

        for (String bad : List.of("0", "-5", "2.5", "\"fast\"", "null")) {
            EmbeddedChannel b = channel(100);
            send(b, 'A', "{\"acks\":1,\"timeout_ms\":" + bad + "}");
            assertThat(written(b)).as("timeout_ms " + bad + " is not used").containsExactly("A{\"acks\":1,\"timeout_ms\":1500}");
        }
    }

    @Test
    void refusedRecordsAreAnsweredNotAppended() throws Exception {
        EmbeddedChannel ch = channel(100);
        send(ch, 'A', "{}");
        send(ch, 'r', "{\"id\":\"r1\"}");
        awaited.get(0).done().accept(null);
        List<String> out = written(ch);
        assertThat(JSON.readTree(out.get(1).substring(1)).get("results").get(0).get("error").asText()).contains("not appended");
    }

    @Test
    void tooManyUnansweredRecordsStopReadingThatConnectionUntilAnswersDrain() {
        EmbeddedChannel ch = channel(4);
        send(ch, 'A', "{\"acks\":1}");
        send(ch, 's', "[{\"id\":\"a\"},{\"id\":\"b\"},{\"id\":\"c\"}]");
        assertThat(ch.config().isAutoRead()).isTrue();
        send(ch, 's', "[{\"id\":\"d\"},{\"id\":\"e\"}]");
        assertThat(ch.config().isAutoRead()).as("5 unanswered > 4").isFalse();
        awaited.get(0).done().accept(List.of(new Appended(1, 0), new Appended(2, 0), new Appended(3, 0)));
        written(ch);
        assertThat(ch.config().isAutoRead()).as("2 unanswered <= 4 / 2").isTrue();
    }

    @Test
    void aHandshakeThatIsNotAJsonObjectIsIgnored() {
        EmbeddedChannel ch = channel(100);
        send(ch, 'A', "[1]");
        send(ch, 'r', "{\"id\":\"x\"}");
        assertThat(written(ch)).isEmpty();
        assertThat(plain).hasSize(1);
    }
}
