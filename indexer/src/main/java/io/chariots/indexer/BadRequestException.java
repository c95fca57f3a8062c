package io.chariots.indexer;

/**
 * A request that can never succeed as sent (an empty lookup, conflicting
 * selectors, an LId of 0). Its message names the problem; the gRPC adapter
 * answers {@code INVALID_ARGUMENT} with it.
 */
public final class BadRequestException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BadRequestException(String message) {
        super(message);
    }
}
