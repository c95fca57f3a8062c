package io.chariots.maintainer;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeSet;

/**
 * Which indexers hold the index entries of this maintainer's records, by
 * block of 1000 LIds, durably: the share of the index each indexer has.
 *
 * <p>Why per block and not "the owner under the current view": the feeder
 * resolves a block's owner at send time, so as indexers come and go the
 * entries of one block may sit on several indexers, and nothing but a record
 * of who acknowledged what says where they are. A block is recorded for an
 * indexer <em>before</em> its records are marked indexed, so the record is a superset
 * of the truth (a crash between the two only re-sends), which is the safe
 * direction: when an indexer leaves for good, re-feeding every block it may
 * hold rebuilds its whole share. Blocks are few (one per 1000 LIds), so this
 * costs one small meta write per block per indexer.
 *
 * <p>Also keeps the durable progress of a re-feed ({@link Progress}).
 *
 * <p>Threads: written on the maintainer's loop; {@link #holders()} may be read
 * from any thread.
 */
public final class IndexShares {
    private static final String HELD = "shares/held/";
    private static final String REFEED_DEPARTED = "shares/refeed/departed";
    private static final String REFEED_THROUGH = "shares/refeed/through";
    private static final String REFEED = "shares/refeed/";

    /** Small durable key-value side state (the flstore's {@code meta} column family). */
    public interface Meta {
        /** Entries whose key starts with {@code prefix}, in key order. */
        SortedMap<String, byte[]> metaWithPrefix(String prefix);

        /** Puts and deletes (by key prefix) in one atomic write. */
        void writeMeta(Map<String, byte[]> puts, Collection<String> deletePrefixes);
    }

    /**
     * A re-feed under way: the share of {@code departed} indexers is being sent
     * again to the new owners; every LId up to {@code through} (unsigned) is done.
     */
    public record Progress(Set<String> departed, long through) {
        public Progress {
            departed = Set.copyOf(departed);
        }
    }

    private final Meta meta;
    private final Map<String, NavigableSet<Long>> held = new HashMap<>();
    private volatile Set<String> holders = Set.of();

    /** Loads what {@code meta} holds. */
    public IndexShares(Meta meta) {
        this.meta = meta;
        for (Map.Entry<String, byte[]> e : meta.metaWithPrefix(HELD).entrySet()) {
            String rest = e.getKey().substring(HELD.length());
            int bar = rest.lastIndexOf('|');
            if (bar > 0) {
                held.computeIfAbsent(rest.substring(0, bar), a -> new TreeSet<>(Long::compareUnsigned))
                        .add(Long.parseUnsignedLong(rest.substring(bar + 1), 16));
            }
        }
        publish();
    }

    /**
     * {@code indexer} acknowledged the entries of {@code lids}: records the
     * blocks it did not hold yet (durably, before the caller marks them indexed).
     */
    public void recordHeld(String indexer, List<Long> lids) {
        NavigableSet<Long> blocks = held.get(indexer);
        Set<Long> fresh = new HashSet<>();
        long last = -1; // no block is -1; LIds come in runs of one block: look each block up once
        for (long lid : lids) {
            long block = IndexFeeder.blockOf(lid);
            if (block != last) {
                last = block;
                if (blocks == null || !blocks.contains(block)) {
                    fresh.add(block);
                }
            }
        }
        if (fresh.isEmpty()) {
            return;
        }
        Map<String, byte[]> puts = new LinkedHashMap<>();
        for (long block : fresh) {
            puts.put(heldKey(indexer, block), new byte[0]);
        }
        meta.writeMeta(puts, List.of());
        held.computeIfAbsent(indexer, a -> new TreeSet<>(Long::compareUnsigned)).addAll(fresh);
        publish();
    }

    /**
     * {@code store} as the feeder's backlog, recording which indexer
     * acknowledged which blocks before their records are marked indexed.
     */
    public IndexFeeder.Backlog recording(IndexFeeder.Backlog store) {
        return new IndexFeeder.Backlog() {
            @Override
            public List<io.chariots.proto.IndexEntry> unindexed(long fromLid, int limit) {
                return store.unindexed(fromLid, limit);
            }

            @Override
            public void markIndexed(List<Long> lids) {
                store.markIndexed(lids);
            }

            @Override
            public void markIndexed(List<Long> lids, String indexer) {
                recordHeld(indexer, lids);
                store.markIndexed(lids);
            }
        };
    }

    /** Indexers that may hold entries of this maintainer's records (gRPC addresses). */
    public Set<String> holders() {
        return holders;
    }

    /**
     * The ownership change when {@code departed} indexers leave: the blocks
     * whose entries they may hold, which must be sent again to the blocks'
     * owners among the indexers that remain. Ascending (unsigned).
     */
    public NavigableSet<Long> blocksHeldBy(Collection<String> departed) {
        NavigableSet<Long> out = new TreeSet<>(Long::compareUnsigned);
        for (String d : departed) {
            NavigableSet<Long> b = held.get(d);
            if (b != null) {
                out.addAll(b);
            }
        }
        return out;
    }

    /** The re-feed under way, if any (as last saved). */
    public Optional<Progress> progress() {
        SortedMap<String, byte[]> m = meta.metaWithPrefix(REFEED);
        byte[] departed = m.get(REFEED_DEPARTED);
        if (departed == null) {
            return Optional.empty();
        }
        Set<String> names = new HashSet<>();
        for (String s : new String(departed, StandardCharsets.UTF_8).split("\n")) {
            if (!s.isEmpty()) {
                names.add(s);
            }
        }
        byte[] through = m.get(REFEED_THROUGH);
        return Optional.of(new Progress(names, through == null ? 0 : ByteBuffer.wrap(through).getLong()));
    }

    /** Saves how far a re-feed has come (resumed from there after a restart). */
    public void saveProgress(Progress p) {
        Map<String, byte[]> puts = new LinkedHashMap<>();
        puts.put(REFEED_DEPARTED, String.join("\n", new TreeSet<>(p.departed())).getBytes(StandardCharsets.UTF_8));
        puts.put(REFEED_THROUGH, ByteBuffer.allocate(8).putLong(p.through()).array());
        meta.writeMeta(puts, List.of());
    }

    /**
     * The share of {@code departed} is rebuilt elsewhere: forgets that they
     * hold anything and ends the re-feed, in one write.
     */
    public void finish(Collection<String> departed) {
        List<String> deletes = new ArrayList<>();
        for (String d : departed) {
            deletes.add(HELD + d + "|");
        }
        deletes.add(REFEED);
        meta.writeMeta(Map.of(), deletes);
        for (String d : departed) {
            held.remove(d);
        }
        publish();
    }

    private void publish() {
        Set<String> s = new HashSet<>();
        held.forEach((addr, blocks) -> {
            if (!blocks.isEmpty()) {
                s.add(addr);
            }
        });
        holders = Set.copyOf(s);
    }

    private static String heldKey(String indexer, long block) {
        return HELD + indexer + "|" + String.format("%016x", block);
    }
}
