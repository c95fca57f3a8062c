package io.chariots.app;

import io.chariots.common.record.Fnv1a64;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ReadRoutesParametersTest {
    @Test
    void lidsAreWholeNumbersFromOne() throws Exception {
        assertThat(ReadRoutes.lidParam("from", null, 1)).isEqualTo(1);
        assertThat(ReadRoutes.lidParam("from", "42", 1)).isEqualTo(42);
        assertThat(ReadRoutes.lidParam("from", "18446744073709551614", 1)).isEqualTo(-2L);
        for (String bad : new String[] {"0", "-1", "abc", "1.5", "", "18446744073709551616"}) {
            assertThatThrownBy(() -> ReadRoutes.lidParam("from", bad, 1))
                    .isInstanceOf(ReadRoutes.BadParameter.class)
                    .hasMessageStartingWith("from: ")
                    .satisfies(e -> assertThat(((ReadRoutes.BadParameter) e).name).isEqualTo("from"));
        }
    }

    @Test
    void limitsAreBounded() throws Exception {
        assertThat(ReadRoutes.number("limit", null, 100, 1, 1000)).isEqualTo(100);
        assertThat(ReadRoutes.number("limit", "1000", 100, 1, 1000)).isEqualTo(1000);
        assertThatThrownBy(() -> ReadRoutes.number("limit", "1001", 100, 1, 1000)).hasMessageContaining("between 1 and 1000");
        assertThatThrownBy(() -> ReadRoutes.number("limit", "ten", 100, 1, 1000)).hasMessageContaining("whole number");
    }

    @Test
    void tagsHashAsGoChariotsDoes() throws Exception {
        assertThat(ReadRoutes.tagHash("k1:v1")).isEqualTo(Fnv1a64.hashTag("k1", "v1"));
        assertThat(Long.toUnsignedString(ReadRoutes.tagHash("k1:v1"))).isEqualTo("9489172654252433228");
        // Only the first colon separates key from value.
        assertThat(ReadRoutes.tagHash("url:http://x")).isEqualTo(Fnv1a64.hashTag("url", "http://x"));
        for (String bad : new String[] {"novalue", ":v", ""}) {
            assertThatThrownBy(() -> ReadRoutes.tagHash(bad)).hasMessageStartingWith("tag: must be key:value");
        }
    }

    @Test
    void seedsAreUnsigned64() throws Exception {
        assertThat(ReadRoutes.unsigned("seed", "18446744073709551615")).isEqualTo(-1L);
        assertThatThrownBy(() -> ReadRoutes.unsigned("seed", "-5")).hasMessageStartingWith("seed: must be an unsigned 64-bit");
        assertThatThrownBy(() -> ReadRoutes.unsigned("seed", "18446744073709551616")).hasMessageStartingWith("seed:");
    }
}
