package io.chariots.batcher;

import io.chariots.common.record.RecordJson;
import io.chariots.proto.RecordEnvelope;

import java.util.List;

/**
 * What a batch from another datacenter's link must be. A record carrying a
 * TOId is that datacenter's (host), with its LId there (origin LId): never
 * this datacenter's own, nor one of a datacenter that does not exist. A
 * TOId hole (a TOId its origin gave with an LId that became a hole) has no
 * record to carry. Only members of the cluster reach {@code Ingest} when it
 * has a secret: a link proves this datacenter's. And no record, an app's or
 * a link's, names more causes than an edge takes
 * ({@link RecordJson#MAX_CAUSES}).
 */
final class LinkRecords {
    private LinkRecords() {
    }

    /** The first problem with {@code records} for datacenter {@code self} of {@code numDc}, or null. */
    static String problemWith(List<RecordEnvelope> records, int self, int numDc) {
        for (int i = 0; i < records.size(); i++) {
            RecordEnvelope r = records.get(i);
            if (r.getPrehashCount() > RecordJson.MAX_CAUSES) {
                return "record " + i + " names " + r.getPrehashCount() + " causes, more than " + RecordJson.MAX_CAUSES;
            }
            if (r.getToid() == 0) {
                if (r.getHole()) {
                    return "record " + i + ": a hole without a TOId";
                }
                continue;
            }
            if (r.getHost() == self) {
                return "record " + i + " (TOId " + Long.toUnsignedString(r.getToid()) + ") is of this datacenter ("
                        + self + "): a record never comes back to its origin";
            }
            if (r.getHost() >= numDc) {
                return "record " + i + ": datacenter " + r.getHost() + " does not exist (num_dc = " + numDc + ")";
            }
            if (!r.getHole() && r.getOriginLid() == 0) {
                return "record " + i + " of datacenter " + r.getHost() + " (TOId " + Long.toUnsignedString(r.getToid())
                        + ") has no origin LId";
            }
            if (r.getLid() != 0) {
                return "record " + i + " of datacenter " + r.getHost() + " has an LId here already";
            }
        }
        return null;
    }
}
