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

    public RecordFormatException(String field, String problem) {
        super(field + ": " + problem, null, false, false);
        this.field = field;
        this.problem = problem;
    }

    public String field() {
        return field;
    }

    public String problem() {
        return problem;
    }

    /** The same error for the record at {@code index} of an array. */
    public RecordFormatException atIndex(int index) {
        return new RecordFormatException("[" + index + "]." + field, problem);
    }
}
