package io.chariots.common.read;

import com.google.common.util.concurrent.ListenableFuture;
import io.chariots.common.grpc.Calls;
import io.chariots.common.grpc.ChannelPool;
import io.chariots.common.grpc.MessageLimits;
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
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
 * <p>Where that prefix stops at an LId whose maintainer (by the layout the
 * controller pushes) did not answer or is not registered, the answer says so
 * ({@link UnavailableLids}: which maintainer, which LIds it holds), so readers
 * are told why instead of silently stalling.
 *
 * <p>Lookups that must be complete (LIds by tag or seed, causes) fail with
 * {@link Unavailable} when any indexer does not answer, rather than return a
 * silently partial answer. All methods are asynchronous and thread-safe.
 */
public final class LogReader {
    /** Most records read in one range or by one list of LIds (the maintainers' own cap). */
    public static final int MAX_PAGE = 10_000;

    /** A read that cannot be answered completely now; worth retrying. */
    public static final class Unavailable extends RuntimeException {
        public Unavailable(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * The dense prefix of a range.
     *
     * @param records     consecutive records from the range's start, in LId order, of at most the larger of
     *                    {@link MessageLimits#BATCH_BYTES} and one record
     * @param complete    whether the prefix is known to end where the log does: the maintainer of the first LId not
     *                    returned answered (or, with no layout to tell, every maintainer did); true too when the page
     *                    was cut by bytes, the rest being there for the next
     * @param unavailable when the prefix stops at an LId that was given out but whose maintainer did not answer:
     *                    that gap, for the reader to be told; null otherwise
     */
    public record Page(List<RecordEnvelope> records, boolean complete, UnavailableLids unavailable) {
        public Page(List<RecordEnvelope> records, boolean complete) {
            this(records, complete, null);
        }
    }

    /**
     * Records read by LId, and what the read could not see.
     *
     * @param byLid    every record (or hole) found, by LId; an LId nobody returned is absent
     * @param coverage which maintainers answered, to tell an absent LId from an unavailable one
     */
    public record Found(Map<Long, RecordEnvelope> byLid, ReadCoverage coverage) {
        /** Why {@code lid} is missing when its maintainer did not answer; null when found, absent, or unknown. */
        public UnavailableLids unavailableAt(long lid) {
            return byLid.containsKey(lid) ? null : coverage.unavailableAt(lid);
        }
    }

    /** How the reader asks one maintainer: gRPC in the app, a fake in tests. */
    public interface MaintainerClient {
        ListenableFuture<RecordBatch> read(String grpcAddress, ReadRequest request, Duration deadline);
    }

    private final ChannelPool channels;
    private final MaintainerClient maintainers;
    private final Supplier<Membership> view;
    private final Duration deadline;

    public LogReader(ChannelPool channels, Supplier<Membership> view, Duration deadline) {
        this(channels, (addr, req, within) -> MaintainerGrpc.newFutureStub(channels.get(addr))
                .withDeadlineAfter(within.toMillis(), TimeUnit.MILLISECONDS).read(req), view, deadline);
    }

    public LogReader(ChannelPool channels, MaintainerClient maintainers, Supplier<Membership> view, Duration deadline) {
        this.channels = channels;
        this.maintainers = maintainers;
        this.view = view;
        this.deadline = deadline;
    }

    /**
     * The dense prefix of {@code [from, from + limit)}; {@code limit} at most
     * {@link #MAX_PAGE}. Cut by bytes as well: a page holds at most the larger
     * of {@link MessageLimits#BATCH_BYTES} and one record, so that it fits one
     * gRPC message (a tail sends each page as one) whatever the records; the
     * records after it come with the page from the LId after its last.
     */
    public CompletableFuture<Page> range(long from, int limit) {
        ReadRequest req = ReadRequest.newBuilder().setFromLid(from).setLimit(limit).setMaxBytes(MessageLimits.BATCH_BYTES).build();
        Membership members = view.get();
        return askAll(members, Role.MAINTAINER, addr -> maintainers.read(addr, req, deadline))
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
                    long bytes = 0;
                    for (RecordEnvelope r : slots) {
                        if (r == null) {
                            break;
                        }
                        int size = r.getSerializedSize(); // memoized: sending the page reads it again
                        if (MessageLimits.closesBefore(bytes, size)) {
                            // Each maintainer's answer fits one message, but several of them together need not: the
                            // rest is there, and the next page, from the LId after this one's last, starts with it.
                            return new Page(dense, true);
                        }
                        bytes += size;
                        dense.add(r);
                    }
                    if (dense.size() == limit) {
                        return new Page(dense, true);
                    }
                    long gap = from + dense.size();
                    ReadCoverage coverage = answers.coverage(members);
                    if (coverage.ownerOf(gap) == null) {
                        return new Page(dense, answers.failures() == 0);
                    }
                    if (coverage.ownerAnswered(gap)) {
                        return new Page(dense, true);
                    }
                    // Only an LId known to exist is reported: past the log's end, a dead maintainer's next LIds
                    // are simply not given out (new ones go to live maintainers once the queue restripes).
                    boolean later = false;
                    for (int i = dense.size() + 1; i < limit && !later; i++) {
                        later = slots[i] != null;
                    }
                    if (later || coverage.givenOut(gap)) {
                        return new Page(dense, false, coverage.unavailableAt(gap));
                    }
                    return new Page(dense, answers.failures() == 0);
                });
    }

    /**
     * The records at {@code lids} (at most {@link #MAX_PAGE}). An LId whose
     * maintainer did not answer is reported by {@link Found#unavailableAt};
     * fails with {@link Unavailable} only when an LId is missing whose
     * maintainer the layout does not name and some maintainer did not answer.
     */
    public CompletableFuture<Found> records(long[] lids) {
        Membership members = view.get();
        if (lids.length == 0) {
            return CompletableFuture.completedFuture(new Found(Map.of(), new ReadCoverage(members, Set.of(), Map.of())));
        }
        // Each maintainer's answer no larger than a page: a page gathers them all before it is cut.
        ReadRequest.Builder b = ReadRequest.newBuilder().setMaxBytes(MessageLimits.BATCH_BYTES);
        for (long lid : lids) {
            b.addLids(lid);
        }
        ReadRequest req = b.build();
        return askAll(members, Role.MAINTAINER, addr -> maintainers.read(addr, req, deadline))
                .thenApply(answers -> {
                    Map<Long, RecordEnvelope> out = new HashMap<>();
                    for (RecordBatch batch : answers.values()) {
                        for (RecordEnvelope r : batch.getRecordsList()) {
                            out.put(r.getLid(), r);
                        }
                    }
                    ReadCoverage coverage = answers.coverage(members);
                    if (out.size() < lids.length && answers.failures() > 0) {
                        for (long lid : lids) {
                            if (!out.containsKey(lid) && coverage.ownerOf(lid) == null) {
                                throw new Unavailable(answers.failures() + " maintainer(s) did not answer: " + answers.firstFailure());
                            }
                        }
                    }
                    return new Found(out, coverage);
                });
    }

    /** LIds ≥ {@code from} carrying the tag hashing to {@code hash} (and seed {@code seed} when {@code bySeed}), increasing, at most {@code limit}. */
    public CompletableFuture<long[]> lidsByTag(long hash, Long seed, long from, int limit) {
        LookupRequest.Builder req = LookupRequest.newBuilder().setTagHash(hash).setAfterLid(from - 1).setLimit(limit);
        if (seed != null) {
            req.setSeed(seed).setBySeed(true);
        }
        return lids(req.build(), limit);
    }

    /** LIds ≥ {@code from} of the chain {@code seed}, increasing, at most {@code limit}. */
    public CompletableFuture<long[]> lidsBySeed(long seed, long from, int limit) {
        return lids(LookupRequest.newBuilder().setSeed(seed).setBySeed(true).setAfterLid(from - 1).setLimit(limit).build(), limit);
    }

    private CompletableFuture<long[]> lids(LookupRequest req, int limit) {
        return askAll(view.get(), Role.INDEXER, addr -> IndexerGrpc.newFutureStub(channels.get(addr))
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
    public CompletableFuture<long[]> lowestLids(List<CauseKey> keys) {
        if (keys.isEmpty()) {
            return CompletableFuture.completedFuture(new long[0]);
        }
        ExistsRequest req = ExistsRequest.newBuilder().addAllKeys(keys).build();
        return askAll(view.get(), Role.INDEXER, addr -> IndexerGrpc.newFutureStub(channels.get(addr))
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

    /** The answers of every member of a role, and which failed (and why). */
    private static final class Answers<T> {
        private final List<T> values = new ArrayList<>();
        private final Set<String> answered = new HashSet<>();
        private final Map<String, String> failed = new HashMap<>();
        private int failures;
        private String firstFailure;

        /** Which LIds of a maintainer read were seen, from who answered. */
        ReadCoverage coverage(Membership members) {
            return new ReadCoverage(members, answered, failed);
        }

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

    private interface Answer<T> {
        void accept(String address, T value, Throwable failure);
    }

    private <T> CompletableFuture<Answers<T>> askAll(Membership members, Role role, Function<String, ListenableFuture<T>> call) {
        List<String> addresses = new ArrayList<>();
        for (Member m : members.members(role)) {
            addresses.add(m.getGrpcAddress());
        }
        CompletableFuture<Answers<T>> done = new CompletableFuture<>();
        if (addresses.isEmpty()) {
            done.completeExceptionally(new Unavailable("no " + role.name().toLowerCase() + " is registered"));
            return done;
        }
        Answers<T> answers = new Answers<>();
        AtomicInteger left = new AtomicInteger(addresses.size());
        Answer<T> one = (addr, value, failure) -> {
            synchronized (answers) {
                if (failure == null) {
                    answers.values.add(value);
                    answers.answered.add(addr);
                } else {
                    answers.failed.put(addr, Calls.describe(failure));
                    if (answers.failures++ == 0) {
                        answers.firstFailure = Calls.describe(failure);
                    }
                }
            }
            if (left.decrementAndGet() == 0) {
                done.complete(answers);
            }
        };
        for (String addr : addresses) {
            try {
                Calls.on(call.apply(addr), v -> one.accept(addr, v, null), t -> one.accept(addr, null, t));
            } catch (RuntimeException e) {
                one.accept(addr, null, e);
            }
        }
        return done;
    }
}
