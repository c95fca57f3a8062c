package io.chariots.common.read;

import io.chariots.common.record.Unsigned64;

import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LIds a read needed but could not see, because the maintainer that stores
 * them is not available: it is not registered with the controller (stopped,
 * crashed and declared dead, or gone for good) or did not answer within the
 * read deadline. Readers are told this instead of being left waiting.
 *
 * @param from       the first such LId the read needed
 * @param to         the last LId of the run from {@code from} that this maintainer stores (its block, or where its
 *                   stripe ends): all of them are unavailable with it
 * @param maintainer the maintainer's gRPC address, as the layout names it
 * @param address    its main address as the controller lists it, or null when the controller lists it no longer
 * @param reason     why it is not available, e.g. "is not registered with the controller"
 * @param holds      every LId range it stores, for people ({@code StripeMap.describeShare})
 */
public record UnavailableLids(long from, long to, String maintainer, String address, String reason, String holds) {

    /** "LId 1234 is on maintainer 127.0.0.3:10030, which is not available (…); it holds LIds 1001–2000, …". */
    public String message() {
        return "LId " + Unsigned64.toString(from) + " is on maintainer " + maintainer
                + (address == null || address.equals(maintainer) ? "" : " (" + address + ")")
                + ", which is not available (it " + reason + "); it holds LIds " + holds;
    }

    /** The same gap as met from {@code lid} on (a later LId of the same run). */
    public UnavailableLids withFrom(long lid) {
        return new UnavailableLids(lid, to, maintainer, address, reason, holds);
    }

    /** The fields of this gap in a JSON answer: from, to, maintainer, [address], reason, holds. */
    public Map<String, Object> fields() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("from", unsigned(from));
        m.put("to", unsigned(to));
        m.put("maintainer", maintainer);
        if (address != null) {
            m.put("address", address);
        }
        m.put("reason", reason);
        m.put("holds", holds);
        return m;
    }

    /** The 503 answer to a read of {@code lid}: error, lid, maintainer, [address], holds, and the gap's range. */
    public Map<String, Object> errorFor(long lid) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", withFrom(lid).message());
        m.put("lid", unsigned(lid));
        m.putAll(fields());
        return m;
    }

    /** Jackson prints a BigInteger as a plain number, so LIds above 2^63 stay unsigned. */
    private static Object unsigned(long v) {
        return v >= 0 ? (Object) v : new BigInteger(Long.toUnsignedString(v));
    }
}
