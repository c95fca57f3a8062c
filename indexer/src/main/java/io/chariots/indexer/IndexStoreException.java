package io.chariots.indexer;

/**
 * RocksDB refused a read or write (I/O error, corruption, disk full). Unchecked
 * because callers cannot repair it: the gRPC adapter answers {@code INTERNAL}
 * and the sender retries; a failing write also turns {@code /health} red.
 */
public final class IndexStoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public IndexStoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
