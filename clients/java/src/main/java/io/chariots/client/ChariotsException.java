package io.chariots.client;

/**
 * Something the cluster or the network said no to. Subclasses say what:
 * {@link BadRequestException} (fix the input), {@link UnavailableException}
 * (retry later — appends are retry-safe, ids are kept),
 * {@link NotFoundException}, {@link AppendTimeoutException},
 * {@link RejectedException}.
 */
public class ChariotsException extends RuntimeException {
    private final int status;

    public ChariotsException(String message, int status, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    /** The HTTP status the server answered, or 0 if it did not answer. */
    public int status() {
        return status;
    }
}
