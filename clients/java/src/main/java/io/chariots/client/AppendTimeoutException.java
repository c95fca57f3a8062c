package io.chariots.client;

import java.util.List;

/**
 * A durable append did not become durable within the server's wait (HTTP
 * 504). It may still complete; appending the same records again (same ids)
 * is safe and appends each at most once.
 */
public final class AppendTimeoutException extends ChariotsException {
    private final List<String> ids;

    public AppendTimeoutException(String message, List<String> ids) {
        super(message, 504, null);
        this.ids = List.copyOf(ids);
    }

    public List<String> ids() {
        return ids;
    }
}
