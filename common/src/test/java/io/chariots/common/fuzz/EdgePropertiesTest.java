package io.chariots.common.fuzz;

import io.chariots.common.record.RecordFormatException;
import io.chariots.common.record.RecordJson;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Properties of the edges' parsers over generated inputs: the frame decoder
 * under any split of any stream (lengths at and around every limit), and the
 * JSON record reader under every field with every kind of value, deep
 * nesting, huge numbers and strings, both shapes, and random mutations.
 * {@code chariots fuzz} runs the same oracles for as long as asked.
 */
class EdgePropertiesTest {
    static final int MAX_FRAME = 64;

    /** One frame's header length and how much of its body the stream has. */
    record FrameSpec(long length, int bodyBytes, int type) {
    }

    @Provide
    Arbitrary<FrameSpec> frame() {
        Arbitrary<Long> length = Arbitraries.oneOf(
                Arbitraries.just(0L), Arbitraries.just(1L), Arbitraries.longs().between(MAX_FRAME - 2, MAX_FRAME + 2),
                Arbitraries.longs().between(1, MAX_FRAME), Arbitraries.longs().between(0, 0xffffffffL));
        return Combinators.combine(length, Arbitraries.integers().between(0, 100), Arbitraries.integers().between(0, 255))
                .as((len, cut, type) -> new FrameSpec(len, (int) Math.min(len, MAX_FRAME + 2L) * Math.min(cut, 100) / 100 , type));
    }

    @Provide
    Arbitrary<List<FrameSpec>> frames() {
        return frame().list().ofMaxSize(6);
    }

    static byte[] stream(List<FrameSpec> frames, long fill) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (FrameSpec f : frames) {
            out.write((int) (f.length() >>> 24));
            out.write((int) (f.length() >>> 16));
            out.write((int) (f.length() >>> 8));
            out.write((int) f.length());
            for (int i = 0; i < f.bodyBytes(); i++) {
                out.write(i == 0 ? f.type() : (int) (fill + i));
            }
        }
        return out.toByteArray();
    }

    @Property(tries = 2000)
    void anyStreamSplitAnyWayDecodesAsReadPlainly(@ForAll("frames") List<FrameSpec> frames, @ForAll long fill,
                                                   @ForAll List<@IntRange(min = 0, max = 10_000) Integer> cuts) {
        byte[] s = stream(frames, fill);
        int[] splits = cuts.stream().mapToInt(c -> s.length == 0 ? 0 : c % s.length).filter(c -> c > 0).sorted().distinct()
                .toArray();
        assertThat(FrameOracle.check(s, splits, MAX_FRAME)).isNull();
    }

    static final List<String> FIELDS = List.of("id", "tags", "seed", "strseed", "prehash", "strhash", "pre", "host", "lid",
            "timestamp", "Tags", "PREHASH", "other");

    @Provide
    Arbitrary<String> value() {
        return Arbitraries.oneOf(
                Arbitraries.of("null", "true", "false", "0", "-1", "1.5", "1e309", "-0", "\"\"", "[]", "{}", "[null]",
                        "18446744073709551615", "18446744073709551616", "-9223372036854775809", "\"18446744073709551615\"",
                        "\"x\"", "{\"k\":\"v\"}", "{\"k\":1}", "{\"Hash\":[1],\"Seed\":2}", "[1,\"2\",3]", "[[1]]"),
                Arbitraries.strings().numeric().ofMinLength(1).ofMaxLength(3000),
                Arbitraries.strings().ofMaxLength(2000).map(EdgePropertiesTest::quoted),
                Arbitraries.integers().between(1, 3000).map(d -> "[".repeat(d) + "]".repeat(d)),
                Arbitraries.integers().between(1, 3000).map(d -> "{\"k\":".repeat(d) + "1" + "}".repeat(d)));
    }

    static String quoted(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\' || c < 0x20) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    @Property(tries = 3000)
    void everyFieldWithEveryKindOfValueGivesARecordOrAnErrorNamingThatField(
            @ForAll("fields") String field, @ForAll("value") String value, @ForAll boolean inArray) {
        String one = "{\"" + field + "\":" + value + "}";
        byte[] json = (inArray ? "[" + one + "]" : one).getBytes(StandardCharsets.UTF_8);
        assertThat(RecordJsonOracle.check(json)).isNull();
        try {
            RecordJson.Parsed p = RecordJson.readRecords(json, 0, json.length, 10);
            for (RecordFormatException e : p.rejected()) {
                assertNamesField(e, field, inArray);
            }
        } catch (RecordFormatException e) {
            // A lone object's error is the input's; otherwise only malformed JSON (deep nesting, a number too long
            // to read) fails the whole input.
            if (!inArray && !e.field().equals("record")) {
                assertNamesField(e, field, false);
            } else {
                assertThat(e.field()).as(e.getMessage()).isIn("records", "record");
            }
        }
    }

    @Provide
    Arbitrary<String> fields() {
        return Arbitraries.of(FIELDS);
    }

    private static void assertNamesField(RecordFormatException e, String field, boolean inArray) {
        String f = e.field().toLowerCase();
        if (inArray) {
            assertThat(f).startsWith("[0].");
            f = f.substring(4);
        }
        assertThat(f).as(e.getMessage()).startsWith(field.toLowerCase());
    }

    @Property(tries = 3000)
    void mutatedRecordsGiveRecordsOrNamedErrorsAndNothingElse(@ForAll long seed) {
        byte[] json = new Mutator(seed).json();
        assertThat(RecordJsonOracle.check(json)).as(new String(json, 0, Math.min(json.length, 300), StandardCharsets.UTF_8))
                .isNull();
    }
}
