package io.chariots.client;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClientBasicsTest {
    @Test
    void fnvPassesTheSharedTestVectors() throws Exception {
        // The repository's one copy of ../shared/test-vectors/fnv1a64.tsv.
        List<String> lines = Files.readAllLines(Path.of("../../common/src/test/resources/fnv1a64.tsv"));
        int checked = 0;
        for (String line : lines) {
            if (line.startsWith("#") || line.isBlank()) {
                continue;
            }
            String[] f = line.split("\t", -1);
            assertThat(Long.toUnsignedString(Fnv1a64.tagHash(f[0], f[1]))).as(line).isEqualTo(f[2]);
            checked++;
        }
        assertThat(checked).isGreaterThan(3);
        assertThat(Long.toUnsignedString(Fnv1a64.tagHash("k1", "v1"))).isEqualTo("9489172654252433228");
    }

    @Test
    void aCauseNamesATagOfItsEventAndJoinsItsChain() {
        Event a = new Event("a", -5L, Map.of("user", "Zoë", "step", "1"), 0, -1);
        Cause c = Cause.causedBy(a, "user");
        assertThat(c.hash()).isEqualTo(Fnv1a64.tagHash("user", "Zoë"));
        assertThat(c.seed()).isEqualTo(-5L);
        assertThatThrownBy(() -> Cause.causedBy(a, "nope")).hasMessageContaining("no tag \"nope\"");

        Event b = Draft.of(Map.of("x", "y")).causedBy(c).event();
        assertThat(b.seed()).as("an effect joins its cause's chain").isEqualTo(-5L);
        assertThat(b.seedText()).isEqualTo("18446744073709551611");
        assertThat(b.id()).hasSize(32);
    }

    @Test
    void causesFromTwoChainsOrAConflictingSeedAreRefusedBeforeSending() {
        Cause one = new Cause(1, 10);
        Cause other = new Cause(2, 11);
        assertThatThrownBy(() -> Draft.of(Map.of("k", "v")).causedBy(one, other).event()).hasMessageContaining("one chain");
        assertThatThrownBy(() -> Draft.of(Map.of("k", "v")).causedBy(one).seed(12).event()).hasMessageContaining("differs");
        assertThatThrownBy(() -> Draft.of(Map.of())).hasMessageContaining("at least one tag");
    }

    @Test
    void recordsAreWrittenWithUnsignedSeedsAndHashes() {
        Draft d = Draft.of(Map.of("q\"uote", "ü")).causedBy(new Cause(-1L, -2L)).id("x1");
        Event e = d.event();
        String json = d.json(e);
        assertThat(json).isEqualTo("{\"id\":\"x1\",\"tags\":{\"q\\\"uote\":\"ü\"},\"seed\":18446744073709551614,\"prehash\":[18446744073709551615]}");
        Map<String, Object> back = Json.object(json);
        assertThat(LogEntry.u64(back.get("seed"))).isEqualTo(-2L);
    }

    @Test
    void jsonReaderKeepsBigIntegersExactAndNamesSyntaxErrors() {
        Map<String, Object> m = Json.object("{\"a\":[1,2.5,\"s\\u00e9\",true,null],\"b\":{\"c\":18446744073709551615}}");
        assertThat((List<?>) m.get("a")).hasSize(5);
        assertThat(((List<?>) m.get("a")).get(2)).isEqualTo("sé");
        assertThat(LogEntry.u64(((Map<?, ?>) m.get("b")).get("c"))).isEqualTo(-1L);
        assertThatThrownBy(() -> Json.parse("{\"a\":}")).hasMessageContaining("invalid JSON at 5");
        assertThatThrownBy(() -> Json.parse("[1,2")).hasMessageContaining("invalid JSON");
    }
}
