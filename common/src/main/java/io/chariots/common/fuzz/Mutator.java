package io.chariots.common.fuzz;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Makes inputs for the fuzz targets from a seeded {@link Random}: valid
 * records and frames in every shape, then mutated the way hostile or broken
 * clients do (bytes flipped, cut, repeated, spliced; deep nesting, huge
 * numbers and strings; lengths at and around the limits). The same seed
 * gives the same inputs, so a failure is replayed by its seed and index.
 */
public final class Mutator {
    /** Valid records in both JSON shapes and with every field, the seeds of the JSON mutations. */
    public static final List<String> RECORDS = List.of(
            "{\"id\":\"a-1\",\"tags\":{\"k\":\"v\"},\"prehash\":0,\"seed\":0}",
            "{\"id\":\"b\",\"tags\":{\"user\":\"u1\",\"n\":\"2\"},\"prehash\":\"12345\",\"seed\":\"9\",\"host\":0}",
            "{\"Tags\":{},\"Pre\":{\"Hash\":[1,2],\"Seed\":3}}",
            "{\"strhash\":[\"18446744073709551615\"],\"strseed\":\"7\",\"id\":\"c\"}",
            "{\"id\":\"d\",\"lid\":5,\"timestamp\":1700000000000,\"tags\":{\"\\u00e9\":\"\\ud83d\\ude00\"}}",
            "[{\"id\":\"e\"},{\"seed\":1},{}]",
            "[]",
            "{}");

    private static final String[] SPICE = {"[", "]", "{", "}", ",", ":", "\"", "\\", "\\u", "\\ud800", "null", "true",
            "-", "1e999999", "18446744073709551616", "-9223372036854775809", "0.5", "NaN", "\u0000", "\uffff",
            "\"id\":", "\"tags\":", "\"prehash\":", "\"seed\":", "\"pre\":", "\"host\":", "\"lid\":"};

    private final Random random;

    public Mutator(long seed) {
        this.random = new Random(seed);
    }

    public Random random() {
        return random;
    }

    /**
     * {@code [{},{},…,{}]} of at most {@code bytes} bytes: the most records a
     * byte budget can carry (5.6 million in 16 MiB), what an edge's record
     * limit must refuse before it holds them.
     */
    public static byte[] emptyRecords(int bytes) {
        int n = (bytes - 2) / 3;
        byte[] b = new byte[n * 3 + 1];
        b[0] = '[';
        for (int i = 0; i < n; i++) {
            b[1 + 3 * i] = '{';
            b[2 + 3 * i] = '}';
            b[3 + 3 * i] = ',';
        }
        b[b.length - 1] = ']';
        return b;
    }

    /** A JSON input: a valid record or array, mutated a few times (or not at all). */
    public byte[] json() {
        String base = RECORDS.get(random.nextInt(RECORDS.size()));
        switch (random.nextInt(8)) {
            case 0:
                return base.getBytes(StandardCharsets.UTF_8);
            case 1:
                return nested(random.nextInt(5000));
            case 2:
                return ("{\"id\":\"" + "x".repeat(random.nextInt(4000)) + "\",\"tags\":{\"k\":\""
                        + "v".repeat(random.nextInt(100_000)) + "\"}}").getBytes(StandardCharsets.UTF_8);
            case 3:
                return ("{\"seed\":" + "9".repeat(1 + random.nextInt(3000)) + "}").getBytes(StandardCharsets.UTF_8);
            default:
                byte[] b = base.getBytes(StandardCharsets.UTF_8);
                int n = 1 + random.nextInt(6);
                for (int i = 0; i < n; i++) {
                    b = mutate(b);
                }
                return b;
        }
    }

    private byte[] nested(int depth) {
        String open = random.nextBoolean() ? "[" : "{\"tags\":";
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < depth; i++) {
            sb.append(open);
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** One random change to {@code b}. */
    public byte[] mutate(byte[] b) {
        int at = b.length == 0 ? 0 : random.nextInt(b.length + 1);
        switch (random.nextInt(7)) {
            case 0: { // flip a byte
                if (b.length == 0) {
                    return new byte[] {(byte) random.nextInt(256)};
                }
                byte[] c = b.clone();
                c[Math.min(at, c.length - 1)] = (byte) random.nextInt(256);
                return c;
            }
            case 1: { // cut
                return Arrays.copyOf(b, at);
            }
            case 2: { // delete a span
                int end = Math.min(b.length, at + 1 + random.nextInt(8));
                byte[] c = new byte[b.length - (end - at)];
                System.arraycopy(b, 0, c, 0, at);
                System.arraycopy(b, end, c, at, b.length - end);
                return c;
            }
            case 3: { // repeat a span
                int end = Math.min(b.length, at + random.nextInt(16));
                int times = 1 + random.nextInt(50);
                byte[] span = Arrays.copyOfRange(b, at, end);
                byte[] c = new byte[b.length + span.length * times];
                System.arraycopy(b, 0, c, 0, end);
                for (int i = 0; i < times; i++) {
                    System.arraycopy(span, 0, c, end + i * span.length, span.length);
                }
                System.arraycopy(b, end, c, end + span.length * times, b.length - end);
                return c;
            }
            default: { // insert something that parsers stumble on
                byte[] s = SPICE[random.nextInt(SPICE.length)].getBytes(StandardCharsets.UTF_8);
                byte[] c = new byte[b.length + s.length];
                System.arraycopy(b, 0, c, 0, at);
                System.arraycopy(s, 0, c, at, s.length);
                System.arraycopy(b, at, c, at + s.length, b.length - at);
                return c;
            }
        }
    }

    /** A byte stream of frames for a decoder of {@code maxFrame}: valid ones, lengths around the limits, garbage. */
    public byte[] frames(int maxFrame) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        int n = 1 + random.nextInt(6);
        for (int i = 0; i < n; i++) {
            int kind = random.nextInt(10);
            long len;
            if (kind == 0) {
                len = 0;
            } else if (kind == 1) {
                len = maxFrame + random.nextInt(3);
            } else if (kind == 2) {
                len = Math.max(1, maxFrame - random.nextInt(3));
            } else if (kind == 3) {
                len = random.nextLong() & 0xffffffffL;
            } else {
                len = 1 + random.nextInt(Math.min(maxFrame, 300));
            }
            out.write((int) (len >>> 24));
            out.write((int) (len >>> 16));
            out.write((int) (len >>> 8));
            out.write((int) len);
            int body = (int) Math.min(len, maxFrame + 2L);
            if (random.nextInt(8) == 0) {
                body = random.nextInt(body + 1); // the stream ends inside this frame
            }
            byte[] p = new byte[body];
            random.nextBytes(p);
            if (body > 0) {
                p[0] = (byte) "rsAax".charAt(random.nextInt(5));
            }
            out.write(p, 0, p.length);
        }
        return out.toByteArray();
    }

    /** Where reads end in a stream of {@code length} bytes: ascending offsets inside it. */
    public int[] splits(int length) {
        if (length < 2) {
            return new int[0];
        }
        int n = random.nextInt(Math.min(length - 1, 12) + 1);
        return random.ints(n, 1, length).sorted().distinct().toArray();
    }
}
