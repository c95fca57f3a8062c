package io.chariots.common.record;

/**
 * A record was rejected. {@link #field()} names the field ("seed",
 * "prehash[1]", "tags.user", or "record" for the whole value) and
 * {@link #problem()} says what is wrong with it, in words a client can act on.
 */
public final class RecordFormatException extends Exception {
    private static final long serialVersionUID = 1L;
    private final String field;
    private final String problem;
    private final int index;
    private final int limit;

    public RecordFormatException(String field, String problem) {
        this(field, problem, -1, 0);
    }

    private RecordFormatException(String field, String problem, int index, int limit) {
        super(field + ": " + problem, null, false, false);
        this.field = field;
        this.problem = problem;
        this.index = index;
        this.limit = limit;
    }

    /** An array with more than {@code limit} records: rejected whole, before more of it is read. */
    public static RecordFormatException tooMany(int limit) {
        return new RecordFormatException("records", "more than " + limit + " records in one array; at most " + limit
                + " are taken at once: split it", -1, limit);
    }

    /** For an array {@link #tooMany too long}: the limit it exceeded; otherwise 0. */
    public int limit() {
        return limit;
    }

    public String field() {
        return field;
    }

    public String problem() {
        return problem;
    }

    /** The same error for the record at {@code index} of an array. */
    public RecordFormatException atIndex(int index) {
        return new RecordFormatException("[" + index + "]." + field, problem, index, 0);
    }

    /** For an error made {@link #atIndex at an index}: that index in the array; otherwise -1. */
    public int index() {
        return index;
    }
}
