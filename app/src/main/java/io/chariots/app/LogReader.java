package io.chariots.app;

import io.chariots.common.grpc.Calls;
import io.chariots.common.grpc.ChannelPool;
import io.chariots.common.membership.Membership;
import io.chariots.proto.CauseKey;
import io.chariots.proto.ExistsReply;
import io.chariots.proto.ExistsRequest;
import io.chariots.proto.IndexerGrpc;
import io.chariots.proto.LookupReply;
import io.chariots.proto.LookupRequest;
import io.chariots.proto.MaintainerGrpc;
import io.chariots.proto.Member;
import io.chariots.proto.ReadRequest;
import io.chariots.proto.RecordBatch;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Reads the log for the app's read API and tails: asks every maintainer and
 * indexer of the current membership view and merges their answers.
 *
 * <p>Why everyone is asked: a maintainer owns stripes of the LId space and
 * an indexer owns the entries of LId blocks, and the stripe map can change as
 * members join or leave, so only the union of all answers is the log. A
 * range is therefore answered as its <em>dense prefix</em>: the records from
 * {@code from} up to the first LId nobody returned (not yet stored, or held by
 * a maintainer that did not answer). A reader paging or tailing from the last
 * LId it got plus one thus never skips a record and never sees one twice.
 *
 * <p>Lookups that must be complete (LIds by tag or seed, causes) fail with
 * {@link Unavailable} when any indexer does not answer, rather than return a
 * silently partial answer. All methods are asynchronous and thread-safe.
 */
final class LogReader {
    /** Most records read in one range or by one list of LIds (the maintainers' own cap). */
    static final int MAX_PAGE = 10_000;

    /** A read that cannot be answered completely now; worth retrying. */
    static final class Unavailable extends RuntimeException {
        Unavailable(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * The dense prefix of a range.
     *
     * @param records  consecutive records from the range's start, in LId order
     * @param complete whether every maintainer answered: when false, the prefix may stop early at a record held by a
     *                 maintainer that did not answer
     */
    record Page(List<RecordEnvelope> records, boolean complete) {
    }

    private final ChannelPool channels;
    private final Supplier<Membership> view;
    private final Duration deadline;

    LogReader(ChannelPool channels, Supplier<Membership> view, Duration deadline) {
        this.channels = channels;
        this.view = view;
        this.deadline = deadline;
    }

    /** The dense prefix of {@code [from, from + limit)}; {@code limit} at most {@link #MAX_PAGE}. */
    CompletableFuture<Page> range(long from, int limit) {
        ReadRequest req = ReadRequest.newBuilder().setFromLid(from).setLimit(limit).build();
        return askAll(Role.MAINTAINER, addr -> MaintainerGrpc.newFutureStub(channels.get(addr))
                .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS).read(req))
                .thenApply(answers -> {
                    RecordEnvelope[] slots = new RecordEnvelope[limit];
                    for (RecordBatch b : answers.values()) {
                        for (RecordEnvelope r : b.getRecordsList()) {
                            long at = r.getLid() - from;
                            if (at >= 0 && at < limit) {
                                slots[(int) at] = r;
                            }
                        }
                    }
                    List<RecordEnvelope> dense = new ArrayList<>();
                    for (RecordEnvelope r : slots) {
                        if (r == null) {
                            break;
                        }
                        dense.add(r);
                    }
                    return new Page(dense, answers.failures() == 0);
                });
    }

    /**
     * The records at {@code lids} (at most {@link #MAX_PAGE}), by LId; an LId
     * nobody holds is absent from the map. Fails with {@link Unavailable} if
     * an LId is missing and some maintainer did not answer.
     */
    CompletableFuture<Map<Long, RecordEnvelope>> records(long[] lids) {
        if (lids.length == 0) {
            return CompletableFuture.completedFuture(Map.of());
        }
        ReadRequest.Builder b = ReadRequest.newBuilder();
        for (long lid : lids) {
            b.addLids(lid);
        }
        ReadRequest req = b.build();
        return askAll(Role.MAINTAINER, addr -> MaintainerGrpc.newFutureStub(channels.get(addr))
                .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS).read(req))
                .thenApply(answers -> {
                    Map<Long, RecordEnvelope> out = new HashMap<>();
                    for (RecordBatch batch : answers.values()) {
                        for (RecordEnvelope r : batch.getRecordsList()) {
                            out.put(r.getLid(), r);
                        }
                    }
                    if (out.size() < lids.length && answers.failures() > 0) {
                        throw new Unavailable(answers.failures() + " maintainer(s) did not answer: " + answers.firstFailure());
                    }
                    return out;
                });
    }

    /** LIds ≥ {@code from} carrying the tag hashing to {@code hash} (and seed {@code seed} when {@code bySeed}), increasing, at most {@code limit}. */
    CompletableFuture<long[]> lidsByTag(long hash, Long seed, long from, int limit) {
        LookupRequest.Builder req = LookupRequest.newBuilder().setTagHash(hash).setAfterLid(from - 1).setLimit(limit);
        if (seed != null) {
            req.setSeed(seed).setBySeed(true);
        }
        return lids(req.build(), limit);
    }

    /** LIds ≥ {@code from} of the chain {@code seed}, increasing, at most {@code limit}. */
    CompletableFuture<long[]> lidsBySeed(long seed, long from, int limit) {
        return lids(LookupRequest.newBuilder().setSeed(seed).setBySeed(true).setAfterLid(from - 1).setLimit(limit).build(), limit);
    }

    private CompletableFuture<long[]> lids(LookupRequest req, int limit) {
        return askAll(Role.INDEXER, addr -> IndexerGrpc.newFutureStub(channels.get(addr))
                .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS).lookup(req))
                .thenApply(answers -> {
                    answers.requireAll("indexer");
                    // Each indexer pages its own blocks: the first `limit` of the union is the page.
                    long[] all = answers.values().stream().flatMapToLong(r -> r.getLidsList().stream().mapToLong(Long::longValue))
                            .sorted().distinct().toArray();
                    return all.length > limit ? Arrays.copyOf(all, limit) : all;
                });
    }

    /** For each (hash, seed) pair, the lowest LId of a record carrying it, or 0: the LId of a cause. */
    CompletableFuture<long[]> lowestLids(List<CauseKey> keys) {
        if (keys.isEmpty()) {
            return CompletableFuture.completedFuture(new long[0]);
        }
        ExistsRequest req = ExistsRequest.newBuilder().addAllKeys(keys).build();
        return askAll(Role.INDEXER, addr -> IndexerGrpc.newFutureStub(channels.get(addr))
                .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS).exists(req))
                .thenApply(answers -> {
                    answers.requireAll("indexer");
                    long[] lowest = new long[keys.size()];
                    for (ExistsReply r : answers.values()) {
                        for (int i = 0; i < lowest.length && i < r.getLidsCount(); i++) {
                            long lid = r.getLids(i);
                            if (lid != 0 && (lowest[i] == 0 || Long.compareUnsigned(lid, lowest[i]) < 0)) {
                                lowest[i] = lid;
                            }
                        }
                    }
                    return lowest;
                });
    }

    /** The answers of every member of a role, and how many failed. */
    private static final class Answers<T> {
        private final List<T> values = new ArrayList<>();
        private int failures;
        private String firstFailure;

        List<T> values() {
            return values;
        }

        int failures() {
            return failures;
        }

        String firstFailure() {
            return firstFailure;
        }

        void requireAll(String what) {
            if (failures > 0) {
                throw new Unavailable(failures + " " + what + "(s) did not answer (" + firstFailure + "); the answer would be incomplete");
            }
        }
    }

    private <T> CompletableFuture<Answers<T>> askAll(Role role, Function<String, com.google.common.util.concurrent.ListenableFuture<T>> call) {
        List<String> addresses = new ArrayList<>();
        for (Member m : view.get().members(role)) {
            addresses.add(m.getGrpcAddress());
        }
        CompletableFuture<Answers<T>> done = new CompletableFuture<>();
        if (addresses.isEmpty()) {
            done.completeExceptionally(new Unavailable("no " + role.name().toLowerCase() + " is registered"));
            return done;
        }
        Answers<T> answers = new Answers<>();
        AtomicInteger left = new AtomicInteger(addresses.size());
        BiConsumer<T, Throwable> one = (value, failure) -> {
            synchronized (answers) {
                if (failure == null) {
                    answers.values.add(value);
                } else if (answers.failures++ == 0) {
                    answers.firstFailure = Calls.describe(failure);
                }
            }
            if (left.decrementAndGet() == 0) {
                done.complete(answers);
            }
        };
        for (String addr : addresses) {
            try {
                Calls.on(call.apply(addr), v -> one.accept(v, null), t -> one.accept(null, t));
            } catch (RuntimeException e) {
                one.accept(null, e);
            }
        }
        return done;
    }
}
