package io.chariots.client;

/** No such record (HTTP 404). */
public final class NotFoundException extends ChariotsException {
    public NotFoundException(String message) {
        super(message, 404, null);
    }
}
