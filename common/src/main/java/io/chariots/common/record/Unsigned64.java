package io.chariots.common.record;

import java.math.BigInteger;

/**
 * Unsigned 64-bit values kept in a {@code long}. Seeds and hashes are unsigned
 * (FNV-1a-64 of {@code k1:v1} is 9489172654252433228, above {@code Long.MAX_VALUE}),
 * so they are parsed, compared and printed with these methods, never with the
 * signed defaults.
 */
public final class Unsigned64 {
    /** 2^64 − 1, the largest accepted value, as text. */
    public static final String MAX_TEXT = "18446744073709551615";
    private static final BigInteger MAX = new BigInteger(MAX_TEXT);

    private Unsigned64() {
    }

    /** Unsigned decimal text of {@code value}. */
    public static String toString(long value) {
        return Long.toUnsignedString(value);
    }

    /**
     * Parses unsigned decimal text: digits only, 0 … 2^64−1.
     *
     * @throws NumberFormatException naming what is wrong
     */
    public static long parse(String text) {
        if (text.isEmpty()) {
            throw new NumberFormatException("empty string, expected an unsigned decimal number");
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                if (i == 0 && c == '-') {
                    throw new NumberFormatException("negative number \"" + abbreviate(text) + "\"");
                }
                throw new NumberFormatException("\"" + abbreviate(text) + "\" is not an unsigned decimal number");
            }
        }
        try {
            return Long.parseUnsignedLong(text);
        } catch (NumberFormatException e) {
            throw new NumberFormatException(abbreviate(text) + " is above 2^64-1 (" + MAX_TEXT + ")");
        }
    }

    /**
     * The value of a JSON integer's text (an optional minus and digits), with
     * the same errors as {@link #fromBigInteger}.
     *
     * @throws NumberFormatException if negative or above 2^64−1
     */
    public static long fromDigits(String text) {
        if (text.startsWith("-")) {
            throw new NumberFormatException("negative number " + abbreviate(text));
        }
        try {
            return Long.parseUnsignedLong(text);
        } catch (NumberFormatException e) {
            throw new NumberFormatException(abbreviate(text) + " is above 2^64-1 (" + MAX_TEXT + ")");
        }
    }

    /**
     * Converts an exact integer to an unsigned 64-bit value.
     *
     * @throws NumberFormatException if negative or above 2^64−1
     */
    public static long fromBigInteger(BigInteger value) {
        if (value.signum() < 0) {
            throw new NumberFormatException("negative number " + abbreviate(value.toString()));
        }
        if (value.compareTo(MAX) > 0) {
            throw new NumberFormatException(abbreviate(value.toString()) + " is above 2^64-1 (" + MAX_TEXT + ")");
        }
        return value.longValue();
    }

    static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 37) + "...";
    }
}
