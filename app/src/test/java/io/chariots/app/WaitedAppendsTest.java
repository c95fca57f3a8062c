package io.chariots.app;

import io.chariots.common.acks.AppendWaiters.Appended;
import io.chariots.common.acks.AppendWaiters.Rejected;
import io.chariots.common.acks.AppendWaiters.TimedOut;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class WaitedAppendsTest {
    static final Duration CAP = Duration.ofSeconds(10);

    @Test
    void waitAndTimeoutParameters() {
        assertThat(WaitedAppends.parse(null, null, CAP).waits()).isFalse();
        assertThat(WaitedAppends.parse("false", null, CAP).waits()).isFalse();
        assertThat(WaitedAppends.parse("true", null, CAP).timeout()).isEqualTo(CAP);
        assertThat(WaitedAppends.parse("1", "250", CAP).timeout()).isEqualTo(Duration.ofMillis(250));
        assertThat(WaitedAppends.parse("TRUE", "60000", CAP).timeout()).as("capped").isEqualTo(CAP);
        assertThat(WaitedAppends.parse("yes", null, CAP).bad()).isEqualTo(new WaitedAppends.BadParameter("wait",
                "must be true or false, got \"yes\""));
        assertThat(WaitedAppends.parse("", null, CAP).bad().name()).isEqualTo("wait");
        for (String t : new String[] {"0", "-5", "1.5", "abc", "", "+7", "99999999999999999999"}) {
            assertThat(WaitedAppends.parse("true", t, CAP).bad().name()).as(t).isEqualTo("timeout_ms");
        }
        assertThat(WaitedAppends.parse(null, "100", CAP).bad().problem()).isEqualTo("applies only with wait=true");
    }

    @Test
    void answers() {
        var ok = WaitedAppends.answer(List.of("a"), List.of(new Appended(7, 0)), false, CAP);
        assertThat(ok.status()).isEqualTo(HttpResponseStatus.OK);
        assertThat(ok.body()).isEqualTo(Map.of("id", "a", "lid", 7L, "host", 0));

        var arr = WaitedAppends.answer(List.of("a", "b"), List.of(new Appended(7, 0), new Appended(9, 1)), true, CAP);
        assertThat(arr.status()).isEqualTo(HttpResponseStatus.OK);
        assertThat(arr.body()).isEqualTo(Map.of("records", List.of(Map.of("id", "a", "lid", 7L, "host", 0),
                Map.of("id", "b", "lid", 9L, "host", 1))));

        var rejected = WaitedAppends.answer(List.of("e"), List.of(new Rejected("cause never came")), false, CAP);
        assertThat(rejected.status()).isEqualTo(HttpResponseStatus.CONFLICT);
        assertThat(rejected.body()).containsEntry("id", "e").containsEntry("status", "rejected")
                .containsEntry("reason", "cause never came");

        var late = WaitedAppends.answer(List.of("a", "b", "c"),
                List.of(new Appended(1, 0), new TimedOut(), new Rejected("r")), true, Duration.ofMillis(5));
        assertThat(late.status()).as("a timeout wins: a retry is the advice").isEqualTo(HttpResponseStatus.GATEWAY_TIMEOUT);
        assertThat(late.body()).containsEntry("ids", List.of("b"));
        assertThat((String) late.body().get("error")).contains("within 5 ms").contains("may still complete")
                .contains("retry with the same id is safe");
    }
}
