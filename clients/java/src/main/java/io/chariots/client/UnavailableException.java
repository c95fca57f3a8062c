package io.chariots.client;

/**
 * The cluster could not take or answer the request, after the client's
 * retries (HTTP 503, or no connection). An append that failed this way may
 * be retried as it is: its id makes a second append of it a no-op.
 */
public final class UnavailableException extends ChariotsException {
    public UnavailableException(String message, int status, Throwable cause) {
        super(message, status, cause);
    }
}
