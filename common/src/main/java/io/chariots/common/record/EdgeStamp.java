package io.chariots.common.record;

import io.chariots.common.grpc.MessageLimits;
import io.chariots.proto.RecordEnvelope;

import java.security.SecureRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Turns a record parsed at the edge (app or batcher) into the envelope that
 * travels between roles: gives it an id if the client sent none, stamps the
 * append time and the datacenter of origin, and validates the datacenter.
 * Parsing happens once, here; later stages never see JSON. Thread-safe.
 */
public final class EdgeStamp {
    private final String idPrefix;
    private final AtomicLong counter = new AtomicLong();
    private final int datacenter;
    private final int numDc;

    /**
     * @param role       short role tag for generated ids ("a" app, "b" batcher)
     * @param datacenter this datacenter's id
     * @param numDc      number of datacenters; a record naming a host outside [0, numDc) is rejected
     */
    public EdgeStamp(String role, int datacenter, int numDc) {
        byte[] r = new byte[6];
        new SecureRandom().nextBytes(r);
        StringBuilder sb = new StringBuilder(role);
        for (byte b : r) {
            sb.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
        }
        this.idPrefix = sb.append('-').toString();
        this.datacenter = datacenter;
        this.numDc = numDc;
    }

    /** A fresh id, unique across processes and restarts (random prefix, counter). */
    public String newId() {
        return idPrefix + Long.toString(counter.incrementAndGet(), 36);
    }

    /**
     * The envelope of {@code r}, ready for the pipeline.
     *
     * @throws RecordFormatException if {@code r} names a datacenter other than this one, or its envelope is larger
     *                               than {@link MessageLimits#MAX_RECORD_BYTES}
     */
    public RecordEnvelope stamp(LogRecord r, long nowMillis) throws RecordFormatException {
        return stamp(r, nowMillis, "");
    }

    /**
     * As {@link #stamp(LogRecord, long)}, for a record whose edge waits until
     * it is in the log: {@code ackTo} (the edge's gRPC address, or empty) is
     * where maintainers send the notice.
     */
    public RecordEnvelope stamp(LogRecord r, long nowMillis, String ackTo) throws RecordFormatException {
        int host = r.host();
        if (host != LogRecord.NO_HOST && host >= numDc) {
            throw new RecordFormatException("host", "datacenter " + host + " does not exist (num_dc = " + numDc + ")");
        }
        if (host != LogRecord.NO_HOST && host != datacenter) {
            // Taken from a client it would carry no TOId, never reach the other datacenters, and an effect naming it
            // would wait there for good.
            throw new RecordFormatException("host", "datacenter " + host + " is not this one (" + datacenter
                    + "): another datacenter's records arrive over its replication link; append to its own app or batcher");
        }
        java.time.Instant t = java.time.Instant.now();
        RecordEnvelope.Builder b = r.toEnvelopeBuilder()
                .setIngestUs(t.getEpochSecond() * 1_000_000L + t.getNano() / 1000);
        if (r.id() == null) {
            b.setId(newId()).setIdGenerated(true);
        }
        if (!ackTo.isEmpty()) {
            b.setAckTo(ackTo);
        }
        // Appended here: LId and time are ours to assign.
        RecordEnvelope e = b.setHost(datacenter).setLid(0).setTimestampMs(nowMillis).build();
        if (e.getSerializedSize() > MessageLimits.MAX_RECORD_BYTES) { // memoized: every call that carries it reads it
            throw new RecordFormatException("record", "the record takes " + e.getSerializedSize() + " bytes in the log, more than "
                    + MessageLimits.MAX_RECORD_BYTES + " (its tags' keys and values, and 8 bytes per tag): split it");
        }
        return e;
    }
}
