package io.chariots.common.auth;

import java.security.MessageDigest;
import java.util.Base64;
import java.util.regex.Pattern;

/**
 * A one-time proof that its sender holds the cluster secret, sent with every
 * inter-role gRPC call (metadata {@value #GRPC_HEADER}) and every controller
 * change over HTTP ({@code Authorization: Chariots <proof>}):
 *
 * <pre>v1.SENDER.COUNTER.MILLIS.MAC</pre>
 *
 * SENDER is a random name the sender picks for itself (1–32 of
 * {@code [A-Za-z0-9_-]}), COUNTER a number it never uses twice under that
 * name, MILLIS its clock (Unix ms), and MAC the unpadded base64url
 * HMAC-SHA256, under the secret, of
 * {@code "chariots-proof-v1\n" + SENDER + "\n" + COUNTER + "\n" + MILLIS + "\n" + PURPOSE},
 * PURPOSE being what it is for: the gRPC method's full name, or
 * {@value #HTTP_PURPOSE} for a change to the controller. A receiver takes
 * each (SENDER, COUNTER) once and only while MILLIS is within its clock skew
 * ({@link ReplayWindow}), and only for the call it was made for. The secret
 * never crosses the wire; a proof seen on it serves no other call, and is
 * refused by the receiver it was meant for. (Another process of the cluster
 * has its own window: there, within the skew, the same call could be made
 * once with it — which is why TLS, which hides proofs, is for untrusted networks.)
 */
public record Proof(String sender, long counter, long millis, String mac) {
    public static final String GRPC_HEADER = "chariots-proof";
    public static final String HTTP_SCHEME = "Chariots";
    /** The purpose of a proof for a change to the controller over HTTP. */
    public static final String HTTP_PURPOSE = "controller-http";
    private static final Pattern SENDER = Pattern.compile("[A-Za-z0-9_-]{1,32}");
    private static final Pattern MAC = Pattern.compile("[A-Za-z0-9_-]{43}");

    /** Why a proof was not taken. */
    public enum Refusal {
        MISSING("no proof of the cluster secret"),
        MALFORMED("a malformed proof"),
        WRONG("a proof made with another secret, or for another call"),
        STALE("a proof whose clock is further off than the allowed skew"),
        REPLAYED("a proof already used");

        private final String what;

        Refusal(String what) {
            this.what = what;
        }

        /** A phrase for messages: "…refused: " + what(). */
        public String what() {
            return what;
        }

        /** The metric label. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** Thrown by {@link #parse} with the refusal. */
    public static final class Refused extends Exception {
        private final Refusal refusal;

        Refused(Refusal refusal) {
            super(refusal.what(), null, false, false);
            this.refusal = refusal;
        }

        public Refusal refusal() {
            return refusal;
        }
    }

    /** Makes the proof for (sender, counter, millis), for {@code purpose}, under {@code secret}. */
    public static Proof make(ClusterSecret secret, String sender, long counter, long millis, String purpose) {
        if (!SENDER.matcher(sender).matches() || counter < 0) {
            throw new IllegalArgumentException("sender must be 1-32 of [A-Za-z0-9_-] and counter >= 0");
        }
        return new Proof(sender, counter, millis, encode(secret.mac(signed(sender, counter, millis, purpose))));
    }

    /** Reads a proof's text; refuses MISSING (null or blank) and MALFORMED. */
    public static Proof parse(String text) throws Refused {
        if (text == null || text.isBlank()) {
            throw new Refused(Refusal.MISSING);
        }
        String[] p = text.strip().split("\\.", -1);
        if (p.length != 5 || !p[0].equals("v1") || !SENDER.matcher(p[1]).matches() || !MAC.matcher(p[4]).matches()) {
            throw new Refused(Refusal.MALFORMED);
        }
        try {
            long counter = Long.parseLong(p[2]);
            long millis = Long.parseLong(p[3]);
            if (counter < 0) {
                throw new Refused(Refusal.MALFORMED);
            }
            return new Proof(p[1], counter, millis, p[4]);
        } catch (NumberFormatException e) {
            throw new Refused(Refusal.MALFORMED);
        }
    }

    /** Whether this proof was made with {@code secret} for {@code purpose} (constant time). */
    public boolean madeWith(ClusterSecret secret, String purpose) {
        byte[] expected = secret.mac(signed(sender, counter, millis, purpose));
        byte[] got;
        try {
            got = Base64.getUrlDecoder().decode(mac);
        } catch (IllegalArgumentException e) {
            return false;
        }
        return MessageDigest.isEqual(expected, got);
    }

    /** The proof as sent. */
    public String text() {
        return "v1." + sender + "." + counter + "." + millis + "." + mac;
    }

    private static String signed(String sender, long counter, long millis, String purpose) {
        return "chariots-proof-v1\n" + sender + "\n" + counter + "\n" + millis + "\n" + purpose;
    }

    private static String encode(byte[] mac) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(mac);
    }
}
