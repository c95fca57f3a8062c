package io.chariots.common.record;

import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class Fnv1a64Test {
    record Vector(String key, String value, String unsigned, String hex) {
    }

    static List<Vector> vectors() throws Exception {
        List<Vector> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                Fnv1a64Test.class.getResourceAsStream("/fnv1a64.tsv"), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("#")) {
                    continue;
                }
                String[] f = line.split("\t", -1);
                out.add(new Vector(f[0], f[1], f[2], f[3]));
            }
        }
        return out;
    }

    @Test
    void passesEverySharedVector() throws Exception {
        List<Vector> vs = vectors();
        assertThat(vs).hasSizeGreaterThanOrEqualTo(10);
        for (Vector v : vs) {
            long h = Fnv1a64.hashTag(v.key(), v.value());
            assertThat(Unsigned64.toString(h)).as("%s:%s", v.key(), v.value()).isEqualTo(v.unsigned());
            assertThat(String.format("%016x", h)).as("hex of %s:%s", v.key(), v.value()).isEqualTo(v.hex());
            assertThat(Fnv1a64.hash((v.key() + ":" + v.value()).getBytes(StandardCharsets.UTF_8))).isEqualTo(h);
        }
    }

    @Test
    void k1v1IsAboveSignedRange() {
        long h = Fnv1a64.hashTag("k1", "v1");
        assertThat(h).isNegative();
        assertThat(Unsigned64.toString(h)).isEqualTo("9489172654252433228");
    }
}
