package io.chariots.client;

/**
 * Where a record is ({@code GET /record?id=}).
 *
 * @param id     the record's id
 * @param state  appended, pending (waiting for a cause), rejected (a cause never came) or unknown (not seen, or still on its way)
 * @param lid    its LId when appended, else 0
 * @param detail why it was rejected, or what it waits for; else empty
 */
public record AppendStatus(String id, State state, long lid, String detail) {
    public enum State { APPENDED, PENDING, REJECTED, UNKNOWN }
}
