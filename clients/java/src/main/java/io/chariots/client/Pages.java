package io.chariots.client;

import java.util.Iterator;
import java.util.NoSuchElementException;

/** Iterates over every record of a paged query, fetching the next page (from its {@code next}) when needed. */
final class Pages implements Iterator<LogEntry> {
    private final Chariots client;
    private final String query;
    private Iterator<LogEntry> current;
    private long next = 1;
    private boolean last;

    Pages(Chariots client, String query) {
        this.client = client;
        this.query = query;
    }

    @Override
    public boolean hasNext() {
        while ((current == null || !current.hasNext()) && !last) {
            Chariots.Page page = client.page(query + "&from=" + Long.toUnsignedString(next));
            current = page.records().iterator();
            last = page.records().isEmpty() || page.next() == next;
            next = page.next();
        }
        return current != null && current.hasNext();
    }

    @Override
    public LogEntry next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return current.next();
    }
}
