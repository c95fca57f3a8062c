package io.chariots.common.http;

/**
 * Serves one route. May answer at once or later from any thread through
 * {@link HttpExchange#respond}; a handler that throws gets a 500.
 */
@FunctionalInterface
public interface HttpHandler {
    void handle(HttpExchange exchange) throws Exception;
}
