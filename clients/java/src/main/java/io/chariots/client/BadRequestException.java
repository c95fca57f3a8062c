package io.chariots.client;

/** The server rejected the input (HTTP 400); {@link #field()} names what was wrong. Nothing was appended. */
public final class BadRequestException extends ChariotsException {
    private final String field;

    public BadRequestException(String message, String field) {
        super(message, 400, null);
        this.field = field;
    }

    /** The field or parameter the server named, or null. */
    public String field() {
        return field;
    }
}
