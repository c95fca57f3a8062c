package io.chariots.simulation;

import io.chariots.indexer.IndexQueries;
import io.chariots.indexer.TagIndex;
import io.chariots.proto.BatchAck;
import io.chariots.proto.ExistsReply;
import io.chariots.proto.ExistsRequest;
import io.chariots.proto.IndexBatch;
import io.chariots.proto.LookupReply;
import io.chariots.proto.LookupRequest;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A simulated indexer running the real index: a {@link TagIndex} (RocksDB in
 * memory; it survives the node's crashes) behind the real
 * {@link IndexQueries}. Writes are synchronous here, as if the indexer's
 * writer thread kept up; they are acknowledged once done, as the real one.
 */
final class SimIndexer {
    final SimNet.Node node;
    final TagIndex index;
    private final IndexQueries queries;

    SimIndexer(SimNet net, String address, Path dir) {
        this.node = net.node(address);
        try {
            this.index = TagIndex.openInMemory(dir.toString());
        } catch (IOException e) {
            throw new IllegalStateException("cannot open a simulated index in " + dir, e);
        }
        this.queries = new IndexQueries(index);
    }

    BatchAck index(IndexBatch batch) {
        index.index(batch);
        return BatchAck.newBuilder().setAccepted(batch.getEntriesCount() + batch.getRejectionsCount()).build();
    }

    ExistsReply exists(ExistsRequest r) {
        return queries.exists(r);
    }

    LookupReply lookup(LookupRequest r) {
        return queries.lookup(r);
    }
}
