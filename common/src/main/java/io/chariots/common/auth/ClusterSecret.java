package io.chariots.common.auth;

import io.chariots.common.config.ConfigException;
import io.chariots.common.config.Settings;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;

/**
 * The secret every member of one cluster shares, from {@code cluster_secret}
 * (a value: config, {@code --set}, or the environment variable
 * {@code CHARIOTS_CLUSTER_SECRET}) or {@code cluster_secret_file} (a file
 * holding it, e.g. a Docker secret under {@code /run/secrets/}). It never
 * leaves the process: members prove they hold it with HMAC-SHA256
 * ({@link Proof}), and {@link #toString()} does not print it.
 */
public final class ClusterSecret {
    public static final String KEY = "cluster_secret";
    public static final String FILE_KEY = "cluster_secret_file";
    /** Shortest secret taken, in characters: a guessable secret is no secret. */
    public static final int MIN_LENGTH = 16;

    private final SecretKeySpec key;
    private final ThreadLocal<Mac> macs;

    private ClusterSecret(String text) {
        this.key = new SecretKeySpec(text.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
        this.macs = ThreadLocal.withInitial(this::newMac);
    }

    /**
     * The secret {@code s} configures, or empty when neither key is set (an
     * open cluster).
     *
     * @throws ConfigException when both keys are set, the file cannot be read,
     *                         or the secret is shorter than {@value #MIN_LENGTH} characters
     */
    public static Optional<ClusterSecret> from(Settings s) {
        boolean inline = s.has(KEY) && !s.getString(KEY, "").isBlank();
        boolean file = s.has(FILE_KEY) && !s.getString(FILE_KEY, "").isBlank();
        if (inline && file) {
            throw new ConfigException("set " + KEY + " (from " + s.sourceOf(KEY) + ") or " + FILE_KEY + " (from "
                    + s.sourceOf(FILE_KEY) + "), not both");
        }
        if (inline) {
            return Optional.of(of(s.getString(KEY, ""), KEY + " (from " + s.sourceOf(KEY) + ")"));
        }
        if (file) {
            Path p = Path.of(s.getString(FILE_KEY, "").trim());
            try {
                return Optional.of(of(Files.readString(p, StandardCharsets.UTF_8),
                        "the file " + p + " (" + FILE_KEY + " from " + s.sourceOf(FILE_KEY) + ")"));
            } catch (IOException e) {
                throw new ConfigException("cannot read the cluster secret from " + p + " (" + FILE_KEY + " from "
                        + s.sourceOf(FILE_KEY) + "): " + e);
            }
        }
        return Optional.empty();
    }

    /** A secret from its text (surrounding whitespace, such as a file's newline, is not part of it). */
    public static ClusterSecret of(String text, String where) {
        String t = text.strip();
        if (t.length() < MIN_LENGTH) {
            throw new ConfigException("the cluster secret in " + where + " is " + t.length()
                    + " characters long; it must be at least " + MIN_LENGTH + " (./chariots secret prints a new one)");
        }
        return new ClusterSecret(t);
    }

    /** A new random secret: 32 bytes, base64url (43 characters). */
    public static String generate() {
        byte[] b = new byte[32];
        new SecureRandom().nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /**
     * The answer to a challenge: HMAC-SHA256 of the challenge and
     * {@code context} (who answers), base64url. Proves the secret without
     * sending it; {@link #isAnswer} checks it.
     */
    public String answer(byte[] challenge, String context) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(
                mac("chariots-answer-v1\n" + Base64.getUrlEncoder().encodeToString(challenge) + "\n" + context));
    }

    /** Whether {@code answer} is {@link #answer}{@code (challenge, context)} (constant time). */
    public boolean isAnswer(String answer, byte[] challenge, String context) {
        return java.security.MessageDigest.isEqual(answer(challenge, context).getBytes(StandardCharsets.US_ASCII),
                answer == null ? new byte[0] : answer.getBytes(StandardCharsets.US_ASCII));
    }

    /** A new random challenge of 16 bytes. */
    public static byte[] challenge() {
        byte[] b = new byte[16];
        new SecureRandom().nextBytes(b);
        return b;
    }

    /** HMAC-SHA256 of {@code message} under this secret. */
    byte[] mac(String message) {
        Mac m = macs.get();
        return m.doFinal(message.getBytes(StandardCharsets.UTF_8));
    }

    private Mac newMac() {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(key);
            return m;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JVM", e);
        }
    }

    @Override
    public String toString() {
        return "ClusterSecret[not shown]";
    }
}
