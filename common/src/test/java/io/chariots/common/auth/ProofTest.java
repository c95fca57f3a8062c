package io.chariots.common.auth;

import io.chariots.common.config.ConfigException;
import io.chariots.common.config.Settings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ProofTest {
    private static final ClusterSecret SECRET = ClusterSecret.of("a-secret-of-this-cluster", "test");
    private static final ClusterSecret OTHER = ClusterSecret.of("a-secret-of-another-one!", "test");

    @Test
    void aProofReadsBackAndIsMadeWithItsSecretOnly() throws Exception {
        Proof p = Proof.make(SECRET, "sender_1", 42, 1_700_000_000_000L, "test");
        assertThat(p.text()).startsWith("v1.sender_1.42.1700000000000.").doesNotContain("a-secret");
        Proof back = Proof.parse(p.text());
        assertThat(back).isEqualTo(p);
        assertThat(back.madeWith(SECRET, "test")).isTrue();
        assertThat(back.madeWith(OTHER, "test")).isFalse();
        assertThat(back.madeWith(SECRET, "chariots.v1.Maintainer/Store")).as("made for another call").isFalse();
    }

    @Test
    void anyChangeToAProofBreaksIt() throws Exception {
        String t = Proof.make(SECRET, "s", 7, 1_700_000_000_000L, "test").text();
        for (String forged : new String[] {t.replace(".7.", ".8."), t.replace(".1700000000000.", ".1700000000001."),
                t.replace("v1.s.", "v1.t.")}) {
            assertThat(Proof.parse(forged).madeWith(SECRET, "test")).as(forged).isFalse();
        }
    }

    @Test
    void malformedAndMissingProofsAreNamed() {
        for (String bad : new String[] {"v2.s.1.2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "v1.s.1.2", "v1.s.x.2.mac",
                "v1.s.-1.2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "Bearer abc", "v1.s p.1.2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}) {
            assertThatThrownBy(() -> Proof.parse(bad)).as(bad).isInstanceOfSatisfying(Proof.Refused.class,
                    r -> assertThat(r.refusal()).isEqualTo(Proof.Refusal.MALFORMED));
        }
        for (String none : new String[] {null, "", "  "}) {
            assertThatThrownBy(() -> Proof.parse(none)).isInstanceOfSatisfying(Proof.Refused.class,
                    r -> assertThat(r.refusal()).isEqualTo(Proof.Refusal.MISSING));
        }
    }

    @Test
    void eachCounterOfASenderIsTakenOnceEvenOutOfOrder() {
        ReplayWindow w = new ReplayWindow(60_000);
        long now = 1_000_000;
        assertThat(w.admit(proof("a", 5, now), now)).isNull();
        assertThat(w.admit(proof("a", 3, now), now)).as("late but new").isNull();
        assertThat(w.admit(proof("a", 4, now), now)).isNull();
        assertThat(w.admit(proof("a", 5, now), now)).isEqualTo(Proof.Refusal.REPLAYED);
        assertThat(w.admit(proof("a", 3, now), now)).isEqualTo(Proof.Refusal.REPLAYED);
        assertThat(w.admit(proof("b", 5, now), now)).as("another sender's counters are its own").isNull();
        assertThat(w.admit(proof("a", 5 + ReplayWindow.WINDOW, now), now)).isNull();
        assertThat(w.admit(proof("a", 4, now), now)).as("fell out of the window: cannot be told from a replay")
                .isEqualTo(Proof.Refusal.REPLAYED);
        assertThat(w.admit(proof("a", 6, now), now)).as("the window's oldest, never seen").isNull();
        assertThat(w.admit(proof("a", 10 * ReplayWindow.WINDOW, now), now)).isNull();
        assertThat(w.admit(proof("a", 10 * ReplayWindow.WINDOW - 1, now), now)).as("a jump clears the window").isNull();
    }

    @Test
    void aProofOutsideTheClockSkewIsStaleAndQuietSendersAreForgotten() {
        ReplayWindow w = new ReplayWindow(60_000);
        long now = 10_000_000;
        assertThat(w.admit(proof("a", 1, now - 61_000), now)).isEqualTo(Proof.Refusal.STALE);
        assertThat(w.admit(proof("a", 1, now + 61_000), now)).isEqualTo(Proof.Refusal.STALE);
        for (int i = 0; i < 3000; i++) {
            assertThat(w.admit(proof("s" + i, 1, now), now)).isNull();
        }
        assertThat(w.senders()).isEqualTo(3000);
        long later = now + 120_000;
        assertThat(w.admit(proof("s1", 1, now), later)).as("its replay is stale by now").isEqualTo(Proof.Refusal.STALE);
        for (int i = 0; i < 2000; i++) {
            w.admit(proof("late" + i, 1, later), later);
        }
        assertThat(w.senders()).as("the quiet senders were swept").isLessThanOrEqualTo(2000);
    }

    @Test
    void theSecretComesFromOneKeyOrAFileAndIsNeverShown(@TempDir Path dir) throws Exception {
        assertThat(ClusterSecret.from(Settings.empty())).isEmpty();
        Path f = dir.resolve("secret");
        Files.writeString(f, "from-a-file-0123456789\n");
        ClusterSecret fromFile = ClusterSecret.from(Settings.of(Map.of("cluster_secret_file", f.toString()), "test")).orElseThrow();
        ClusterSecret inline = ClusterSecret.from(Settings.of(Map.of("cluster_secret", "from-a-file-0123456789"), "test")).orElseThrow();
        Proof p = Proof.make(fromFile, "s", 1, 1, "test");
        assertThat(p.madeWith(inline, "test")).as("the file's newline is not part of the secret").isTrue();
        assertThat(fromFile.toString()).doesNotContain("from-a-file");
        assertThatThrownBy(() -> ClusterSecret.from(Settings.of(Map.of("cluster_secret", "short"), "the test")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("at least 16").hasMessageNotContaining("short\"");
        assertThatThrownBy(() -> ClusterSecret.from(Settings.of(Map.of("cluster_secret", "x".repeat(20),
                "cluster_secret_file", f.toString()), "test"))).isInstanceOf(ConfigException.class).hasMessageContaining("not both");
        assertThatThrownBy(() -> ClusterSecret.from(Settings.of(Map.of("cluster_secret_file", dir.resolve("none").toString()), "test")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("cannot read");
        ClusterSecret fromEnv = ClusterSecret.from(Settings.fromEnvironment(Map.of("CHARIOTS_CLUSTER_SECRET_FILE", f.toString())))
                .orElseThrow(); // as Docker gives it: a secret file named in the environment
        assertThat(p.madeWith(fromEnv, "test")).isTrue();
        Settings s = Settings.of(Map.of("cluster_secret", "do-not-print-this-secret"), "test");
        assertThat(s.toString()).doesNotContain("do-not-print").contains("cluster_secret=(not shown)");
        assertThat(ClusterSecret.generate()).hasSize(43).isNotEqualTo(ClusterSecret.generate());
    }

    @Test
    void aChallengeIsAnsweredOnlyWithTheSecret() {
        byte[] c = ClusterSecret.challenge();
        String a = SECRET.answer(c, "queue-1");
        assertThat(SECRET.isAnswer(a, c, "queue-1")).isTrue();
        assertThat(SECRET.isAnswer(a, c, "queue-2")).isFalse();
        assertThat(SECRET.isAnswer(OTHER.answer(c, "queue-1"), c, "queue-1")).isFalse();
        assertThat(SECRET.isAnswer(a, ClusterSecret.challenge(), "queue-1")).isFalse();
        assertThat(SECRET.isAnswer("", c, "queue-1")).isFalse();
    }

    private static Proof proof(String sender, long counter, long millis) {
        return Proof.make(SECRET, sender, counter, millis, "test");
    }
}
