package io.chariots.common.record;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RecordJsonTest {
    static LogRecord read(String json) throws RecordFormatException {
        return RecordJson.readRecord(json.getBytes(StandardCharsets.UTF_8));
    }

    static RecordFormatException reject(String json) {
        try {
            read(json);
        } catch (RecordFormatException e) {
            return e;
        }
        throw new AssertionError("accepted: " + json);
    }

    @Test
    void readsHttpShape() throws Exception {
        LogRecord r = read("{\"tags\":{\"k1\":\"v1\",\"user\":\"alice\"},\"prehash\":9489172654252433228,"
                + "\"seed\":18446744073709551615,\"id\":\"req-1\"}");
        assertThat(r.tags()).containsExactly(Map.entry("k1", "v1"), Map.entry("user", "alice"));
        assertThat(r.prehashes()).containsExactly(Long.parseUnsignedLong("9489172654252433228"));
        assertThat(Unsigned64.toString(r.seed())).isEqualTo("18446744073709551615");
        assertThat(r.id()).isEqualTo("req-1");
        assertThat(r.host()).isEqualTo(LogRecord.NO_HOST);
    }

    @Test
    void readsGoChariotsShape() throws Exception {
        LogRecord r = read("{\"Tags\":{\"func\":\"A\"},\"Pre\":{\"Hash\":9489172654252433228},\"Seed\":9223372036854775808,"
                + "\"Host\":0,\"LId\":7,\"Timestamp\":1700000000000,\"Id\":\"x\"}");
        assertThat(r.tags()).containsEntry("func", "A");
        assertThat(Unsigned64.toString(r.prehashes()[0])).isEqualTo("9489172654252433228");
        assertThat(Unsigned64.toString(r.seed())).isEqualTo("9223372036854775808");
        assertThat(r.host()).isZero();
        assertThat(r.lid()).isEqualTo(7);
        assertThat(r.timestamp()).isEqualTo(1700000000000L);
        assertThat(r.id()).isEqualTo("x");
    }

    @Test
    void fieldNamesMatchCaseInsensitively() throws Exception {
        LogRecord a = read("{\"TAGS\":{\"a\":\"1\"},\"PreHash\":5,\"sEEd\":3}");
        assertThat(a.tags()).containsEntry("a", "1");
        assertThat(a.prehashes()).containsExactly(5);
        assertThat(a.seed()).isEqualTo(3);
        LogRecord b = read("{\"pre\":{\"hash\":6}}");
        assertThat(b.prehashes()).containsExactly(6);
    }

    @Test
    void acceptsDecimalStringsAndNodeNames() throws Exception {
        LogRecord r = read("{\"seed\":\"9489172654252433228\",\"prehash\":\"18446744073709551615\"}");
        assertThat(Unsigned64.toString(r.seed())).isEqualTo("9489172654252433228");
        assertThat(r.prehashes()).containsExactly(-1L);
        LogRecord n = read("{\"strseed\":\"9489172654252433228\",\"strhash\":\"12\"}");
        assertThat(Unsigned64.toString(n.seed())).isEqualTo("9489172654252433228");
        assertThat(n.prehashes()).containsExactly(12);
    }

    @Test
    void stringFormWinsOverAJavaScriptRoundedNumber() throws Exception {
        // 9489172654252433228 as a JavaScript number prints as 9489172654252433000.
        LogRecord r = read("{\"seed\":9489172654252433000,\"strseed\":\"9489172654252433228\","
                + "\"prehash\":9489172654252433000,\"strhash\":\"9489172654252433228\"}");
        assertThat(Unsigned64.toString(r.seed())).isEqualTo("9489172654252433228");
        assertThat(Unsigned64.toString(r.prehashes()[0])).isEqualTo("9489172654252433228");
    }

    @Test
    void severalCausesAsArrays() throws Exception {
        assertThat(read("{\"prehash\":[1,\"2\",3]}").prehashes()).containsExactly(1, 2, 3);
        assertThat(read("{\"Pre\":[{\"Hash\":4},{\"Hash\":5}]}").prehashes()).containsExactly(4, 5);
        assertThat(read("{\"Pre\":{\"Hash\":[6,7]}}").prehashes()).containsExactly(6, 7);
    }

    @Test
    void zeroEmptyOrMissingPrehashMeansNoCause() throws Exception {
        assertThat(read("{\"prehash\":0}").causeCount()).isZero();
        assertThat(read("{\"prehash\":[]}").causeCount()).isZero();
        assertThat(read("{}").causeCount()).isZero();
        assertThat(read("{\"prehash\":null,\"Pre\":null}").causeCount()).isZero();
        assertThat(read("{\"Pre\":{\"Hash\":0}}").causeCount()).isZero();
    }

    @Test
    void ignoresUnknownFields() throws Exception {
        LogRecord r = read("{\"seed\":1,\"extra\":{\"deep\":[1,2,{\"x\":null}]},\"more\":true}");
        assertThat(r.seed()).isEqualTo(1);
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', value = {
        "{\"seed\":-1}                            | seed       | negative",
        "{\"seed\":1.5}                           | seed       | whole number",
        "{\"seed\":1e3}                           | seed       | whole number",
        "{\"seed\":18446744073709551616}          | seed       | above 2^64-1",
        "{\"seed\":\"18446744073709551616\"}      | seed       | above 2^64-1",
        "{\"seed\":\"-5\"}                        | seed       | negative",
        "{\"seed\":\"12a\"}                       | seed       | not an unsigned decimal",
        "{\"seed\":\"\"}                          | seed       | empty string",
        "{\"seed\":true}                          | seed       | boolean",
        "{\"seed\":{}}                            | seed       | an object",
        "{\"prehash\":-3}                         | prehash    | negative",
        "{\"prehash\":[1,-2]}                     | prehash[1] | negative",
        "{\"prehash\":[1,2.5]}                    | prehash[1] | whole number",
        "{\"prehash\":99999999999999999999999}    | prehash    | above 2^64-1",
        "{\"prehash\":-99999999999999999999999}   | prehash    | negative",
        "{\"Pre\":{\"Hash\":-1}}                  | Pre.Hash   | negative",
        "{\"strseed\":\"x\"}                      | strseed    | not an unsigned decimal",
        "{\"tags\":[\"a\"]}                       | tags       | must be an object",
        "{\"tags\":\"a:b\"}                       | tags       | must be an object",
        "{\"tags\":{\"a\":1}}                     | tags.a     | must be strings",
        "{\"tags\":{\"a\":null}}                  | tags.a     | must be strings",
        "{\"tags\":{\"a\":{\"b\":\"c\"}}}         | tags.a     | must be strings",
        "{\"tags\":{\"a\":\"1\",\"a\":\"2\"}}     | tags.a     | duplicate",
        "{\"id\":5}                               | id         | must be a string",
        "{\"seed\":1,\"Seed\":2}                  | seed       | more than once",
        "{\"prehash\":1,\"Pre\":{\"Hash\":2}}     | prehash    | conflicts",
        "{\"host\":-1}                            | host       | negative",
        "{\"timestamp\":\"now\"}                  | timestamp  | integer",
        "[{\"seed\":1}]                           | record     | 's' frame",
        "42                                       | record     | JSON object",
        "{\"seed\":1                              | record     | malformed JSON",
        "{\"seed\":1} {\"seed\":2}                | record     | after the end",
        "''                                       | record     | empty input",
    })
    void rejectsWithFieldAndProblem(String json, String field, String problem) {
        RecordFormatException e = reject(json);
        assertThat(e.field()).isEqualTo(field);
        assertThat(e.problem()).contains(problem);
        assertThat(e.getMessage()).startsWith(field + ": ");
    }

    @Test
    void readsArraysKeepingGoodElementsAndNamingBadOnes() throws Exception {
        RecordJson.Parsed p = RecordJson.readRecords(("[{\"seed\":1},{\"seed\":-1,\"tags\":{\"a\":\"b\"}},"
                + "{\"tags\":{\"x\":[1,{\"y\":2}]},\"seed\":9},7,{\"seed\":3}]").getBytes(StandardCharsets.UTF_8));
        assertThat(p.records()).extracting(LogRecord::seed).containsExactly(1L, 3L);
        assertThat(p.rejected()).extracting(RecordFormatException::field).containsExactly("[1].seed", "[2].tags.x", "[3].record");
    }

    @Test
    void malformedArrayRejectsTheWholeInput() {
        assertThatThrownBy(() -> RecordJson.readRecords("[{\"seed\":1},{\"seed\":".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(RecordFormatException.class).hasMessageContaining("malformed JSON");
        assertThatThrownBy(() -> RecordJson.readRecords("\"x\"".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(RecordFormatException.class).hasMessageContaining("JSON array");
    }

    @Test
    void writesUnsignedDecimalsAndRoundTrips() throws Exception {
        LogRecord r = LogRecord.builder().id("a").tag("émoji", "✓").tag("k1", "v1")
                .seed(Long.parseUnsignedLong("18446744073709551615"))
                .prehashes(Long.parseUnsignedLong("9489172654252433228")).lid(12).host(0).timestamp(99).build();
        String json = new String(RecordJson.toJson(r), StandardCharsets.UTF_8);
        assertThat(json).contains("\"seed\":18446744073709551615").contains("\"prehash\":9489172654252433228")
                .contains("\"lid\":12");
        assertThat(read(json)).isEqualTo(r);
        LogRecord two = r.toBuilder().prehashes(1, 2).build();
        assertThat(new String(RecordJson.toJson(two), StandardCharsets.UTF_8)).contains("\"prehash\":[1,2]");
    }

    @Test
    void envelopeRoundTripsTagsAndHashes() throws Exception {
        LogRecord r = LogRecord.builder().id("e").tag("k1", "v1").tag("x", "y".repeat(100_000))
                .seed(-2).prehashes(-1, 5).lid(3).host(1).timestamp(7).build();
        var env = r.toEnvelope();
        assertThat(env.getTagHashList()).containsExactly(Fnv1a64.hashTag("k1", "v1"), Fnv1a64.hashTag("x", "y".repeat(100_000)));
        assertThat(LogRecord.fromEnvelope(io.chariots.proto.RecordEnvelope.parseFrom(env.toByteArray()))).isEqualTo(r);
    }

    @Test
    void anArrayOverTheRecordLimitIsRejectedWholeBeforeItIsRead() throws Exception {
        byte[] three = "[{\"id\":\"a\"},{},{\"seed\":\"x\"}]".getBytes(StandardCharsets.UTF_8);
        RecordJson.Parsed atLimit = RecordJson.readRecords(three, 0, three.length, 3);
        assertThat(atLimit.records()).hasSize(2);
        assertThat(atLimit.rejected()).hasSize(1);
        assertThatThrownBy(() -> RecordJson.readRecords(three, 0, three.length, 2))
                .isInstanceOfSatisfying(RecordFormatException.class, e -> {
                    assertThat(e.limit()).isEqualTo(2);
                    assertThat(e.field()).isEqualTo("records");
                    assertThat(e.problem()).isEqualTo("more than 2 records in one array; at most 2 are taken at once: split it");
                });
        // A single object is one record, whatever the limit; errors other than the limit carry none.
        assertThat(RecordJson.readRecords("{}".getBytes(StandardCharsets.UTF_8), 0, 2, 1).records()).hasSize(1);
        assertThatThrownBy(() -> RecordJson.readRecords("[{},".getBytes(StandardCharsets.UTF_8), 0, 4, 1))
                .isInstanceOfSatisfying(RecordFormatException.class, e -> assertThat(e.limit()).isZero());

        // 16 MiB of empty records (5.6 million): refused after the limit, without reading (or holding) the rest.
        byte[] huge = io.chariots.common.fuzz.Mutator.emptyRecords(16 << 20);
        assertThatThrownBy(() -> RecordJson.readRecords(huge, 0, huge.length, 10_000))
                .isInstanceOfSatisfying(RecordFormatException.class, e -> assertThat(e.limit()).isEqualTo(10_000));
    }

    /** A list of {@code n} causes 1..n in the field's JSON, with {@code zeros} zeros among them. */
    private static String causes(int n, int zeros) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 1; i <= n; i++) {
            b.append(i).append(',');
            if (i == 1) {
                b.append("0,".repeat(zeros));
            }
        }
        return b.append("0]").toString();
    }

    @Test
    void aRecordNamesAtMostMaxCausesAndZerosDoNotCount() throws Exception {
        int max = RecordJson.MAX_CAUSES;
        assertThat(read("{\"prehash\":" + causes(max, 0) + "}").causeCount()).isEqualTo(max);
        // Zeros mean "no cause": a million of them are neither held nor counted.
        assertThat(read("{\"prehash\":" + causes(max, 1_000_000) + "}").causeCount()).isEqualTo(max);

        RecordFormatException e = reject("{\"prehash\":" + causes(max + 1, 0) + "}");
        assertThat(e.field()).isEqualTo("prehash");
        assertThat(e.problem()).contains("more than " + max + " causes");
        assertThat(reject("{\"Pre\":{\"Hash\":" + causes(max + 1, 0) + "}}").field()).isEqualTo("Pre.Hash");
        // GoChariots' shape in an array of objects: counted together.
        String half = causes(max / 2 + 1, 0);
        assertThat(reject("{\"Pre\":[{\"Hash\":" + half + "},{\"Hash\":" + half + "}]}").field()).isEqualTo("Pre");

        // In an array (a POST of several, an 's' frame) that record alone is refused, and the next read whole.
        RecordJson.Parsed p = RecordJson.readRecords(("[{\"prehash\":" + causes(max + 1, 0) + ",\"id\":\"many\"},"
                + "{\"id\":\"ok\",\"prehash\":[1,2]}]").getBytes(StandardCharsets.UTF_8));
        assertThat(p.rejected()).hasSize(1);
        assertThat(p.rejected().get(0).field()).isEqualTo("[0].prehash");
        assertThat(p.records()).extracting(LogRecord::id).containsExactly("ok");
        assertThat(p.records().get(0).prehashes()).containsExactly(1, 2);
    }
}
