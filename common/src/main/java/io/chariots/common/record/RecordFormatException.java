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

    public RecordFormatException(String field, String problem) {
        this(field, problem, -1);
    }

    private RecordFormatException(String field, String problem, int index) {
        super(field + ": " + problem, null, false, false);
        this.field = field;
        this.problem = problem;
        this.index = index;
    }

    public String field() {
        return field;
    }

    public String problem() {
        return problem;
    }

    /** The same error for the record at {@code index} of an array. */
    public RecordFormatException atIndex(int index) {
        return new RecordFormatException("[" + index + "]." + field, problem, index);
    }

    /** For an error made {@link #atIndex at an index}: that index in the array; otherwise -1. */
    public int index() {
        return index;
    }
}
