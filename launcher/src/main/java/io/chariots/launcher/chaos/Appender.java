package io.chariots.launcher.chaos;

import java.io.IOException;
import java.util.List;

/** One path into the log that answers only once records are durable: HTTP {@code wait=true}, or acknowledged raw TCP. */
interface Appender extends AutoCloseable {
    /** What the cluster said of one record. */
    record Outcome(long lid, String rejection) {
        static final Outcome RETRY = new Outcome(0, null);

        boolean acked() {
            return lid > 0;
        }
    }

    /**
     * Appends {@code records}, waiting until each is durable or not confirmed.
     *
     * @return one outcome per record, in order: its LId, a final rejection, or {@link Outcome#RETRY}
     * @throws IOException when the path broke: nothing is known, everything is to be sent again
     */
    List<Outcome> append(List<ChaosRecord> records) throws IOException, InterruptedException;

    /** Where the records go now, e.g. {@code tcp:batcher#2}. */
    String path();

    /** Records per request or frame. */
    int batch();

    @Override
    void close();
}
