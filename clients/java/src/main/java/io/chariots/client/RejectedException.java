package io.chariots.client;

/** The record will never be in the log: a cause it names never arrived (HTTP 409). */
public final class RejectedException extends ChariotsException {
    private final String id;

    public RejectedException(String message, String id) {
        super(message, 409, null);
        this.id = id;
    }

    public String id() {
        return id;
    }
}
