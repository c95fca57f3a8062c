package io.chariots.batcher;

import io.chariots.common.auth.ClientToken;
import io.chariots.common.acks.AcksService;
import io.chariots.common.acks.AppendWaiters;
import io.chariots.common.acks.IndexerLookup;
import io.chariots.common.config.RoleConfig;
import io.chariots.common.frame.ByteBudget;
import io.chariots.common.frame.FrameDecoder;
import io.chariots.common.grpc.Calls;
import io.chariots.common.grpc.ChannelPool;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.common.metrics.IngestDelay;
import io.chariots.common.net.EdgeGuard;
import io.chariots.common.record.EdgeStamp;
import io.chariots.common.runtime.RoleRuntime;
import io.chariots.proto.BatchAck;
import io.chariots.proto.BatcherGrpc;
import io.chariots.proto.FilterGrpc;
import io.chariots.proto.RecordBatch;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.Role;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The batcher process: raw TCP frames on its main port (9000), gRPC ingest
 * for apps and other datacenters on port + 1000 (with the {@code Acks}
 * service for clients in acknowledged mode), batches to filters. Wiring only.
 */
public final class Batcher {
    private Batcher() {
    }

    public static RoleRuntime.Handle start(RoleConfig config) throws Exception {
        return RoleRuntime.launch(config, rt -> {
            BatcherConfig bc = BatcherConfig.from(config);
            NanoClock clock = NanoClock.SYSTEM;
            BatchAssembler[] assembler = new BatchAssembler[1];
            AppendWaiters[] waitersRef = new AppendWaiters[1];
            AtomicLong held = new AtomicLong();
            AtomicBoolean draining = new AtomicBoolean();
            EventLoop loop = new EventLoop("batcher", clock, now -> {
                long next = EventLoop.Ticker.earlier(
                        draining.get() ? Math.min(now + 5_000_000L, assembler[0].poll(now)) : assembler[0].poll(now),
                        waitersRef[0].poll(now));
                held.set(draining.get() ? assembler[0].drain(now) : assembler[0].buffered() + assembler[0].parked());
                return next;
            });
            ChannelPool channels = rt.manage(new ChannelPool(rt.transport()));
            var meters = rt.metrics().registry();
            DefaultChannelGroup clients = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
            FrameIngest[] ingest = new FrameIngest[1];
            IngestDelay sent = new IngestDelay(meters, "batcher_sent", config.datacenter());
            assembler[0] = new BatchAssembler(bc, (filter, id, records) -> {
                sent.batch(records);
                Calls.on(FilterGrpc.newFutureStub(channels.get(filter)).withDeadlineAfter(60, TimeUnit.SECONDS)
                                .forward(RecordBatch.newBuilder().addAllRecords(records).build()),
                        ack -> loop.execute(() -> assembler[0].onForwarded(id, ack.getParkedIdsList(), clock.nanoTime())),
                        t -> loop.execute(() -> assembler[0].onForwardFailed(id, Calls.describe(t), clock.nanoTime())));
            },
                    paused -> ingest[0].paused(paused), meters);
            AppendWaiters waiters = new AppendWaiters(new IndexerLookup(channels, loop, Duration.ofSeconds(2)),
                    AppendWaiters.Limits.defaults().withMaxWaiting(bc.maxWaiting()), config.datacenter());
            waitersRef[0] = waiters;
            EdgeStamp stamp = new EdgeStamp("b", config.datacenter(), config.numDc());
            ingest[0] = new FrameIngest(stamp, new FrameIngest.Pipeline() {
                @Override
                public void add(List<RecordEnvelope> records) {
                    loop.execute(() -> assembler[0].add(records, clock.nanoTime()));
                }

                @Override
                public void addAwaited(List<RecordEnvelope> records, List<String> ids, long timeoutMs,
                                       Consumer<List<AppendWaiters.Outcome>> done) {
                    loop.execute(() -> {
                        long now = clock.nanoTime();
                        // Waiting starts before the records leave, so no notice can arrive first.
                        if (waiters.await(ids, now + TimeUnit.MILLISECONDS.toNanos(timeoutMs), now, done::accept) == null) {
                            done.accept(null);
                            return;
                        }
                        assembler[0].add(records, now);
                    });
                }

                @Override
                public boolean behind() {
                    return loop.behind();
                }

                @Override
                public void whenCaughtUp(Runnable then) {
                    loop.whenCaughtUp(then);
                }
            }, new FrameIngest.AckMode(bc.ackMaxUnanswered(), bc.ackTimeout().toMillis()), bc.maxFrameRecords(),
                    clients, meters, ClientToken.from(config.settings(), meters));

            rt.manage(loop.start());

            java.util.concurrent.atomic.AtomicReference<io.chariots.common.membership.Membership> view =
                    new java.util.concurrent.atomic.AtomicReference<>();
            OriginMarksQuery marksQuery = new OriginMarksQuery(channels, view::get);
            // gRPC first: its address is the ack_to of records whose TCP client waits for answers.
            AtomicLong appBytesWaiting = new AtomicLong();
            Counter viaGrpc = Counter.builder("chariots_batcher_records_received_total").tag("via", "grpc").register(meters);
            Server grpc = rt.manage(rt.grpcServerBuilder(config.grpcPort()).addService(new BatcherGrpc.BatcherImplBase() {
                @Override
                public void ingest(RecordBatch batch, StreamObserver<BatchAck> reply) {
                    String bad = LinkRecords.problemWith(batch.getRecordsList(), config.datacenter(), config.numDc());
                    if (bad != null) {
                        reply.onError(Status.INVALID_ARGUMENT.withDescription(bad).asRuntimeException());
                        return;
                    }
                    // Apps' batches parsed and not yet decided by the loop hold the heap: a batch beyond half the
                    // byte mark of them is refused at once (a batch is let in whatever its size when none waits).
                    long bytes = batch.getSerializedSize();
                    long waiting = appBytesWaiting.addAndGet(bytes);
                    if (waiting > bytes && waiting > bc.highWaterBytes() / 2) {
                        appBytesWaiting.addAndGet(-bytes);
                        reply.onError(Status.RESOURCE_EXHAUSTED.withDescription("batcher buffer full").asRuntimeException());
                        return;
                    }
                    boolean queued = loop.offer(() -> {
                        appBytesWaiting.addAndGet(-bytes);
                        if (draining.get()) {
                            reply.onError(Status.UNAVAILABLE.withDescription("batcher stopping").asRuntimeException());
                            return;
                        }
                        if (assembler[0].full(batch.getRecordsList())) {
                            reply.onError(Status.RESOURCE_EXHAUSTED.withDescription("batcher buffer full").asRuntimeException());
                            return;
                        }
                        viaGrpc.increment(batch.getRecordsCount());
                        assembler[0].add(batch.getRecordsList(), clock.nanoTime());
                        reply.onNext(BatchAck.newBuilder().setAccepted(batch.getRecordsCount()).build());
                        reply.onCompleted();
                    });
                    if (!queued) {
                        appBytesWaiting.addAndGet(-bytes);
                        reply.onError(Status.RESOURCE_EXHAUSTED.withDescription(loop.behindMessage()).asRuntimeException());
                    }
                }

                @Override
                public void marks(io.chariots.proto.MarksRequest request, StreamObserver<io.chariots.proto.OriginMark> reply) {
                    marksQuery.answer(request.getOrigin(), reply);
                }
            }).addService(new AcksService(loop, waiters)).build().start());
            ingest[0].ackTo(rt.advertiseHost() + ":" + grpc.getPort()); // before the TCP port opens

            EdgeGuard tcpGuard = new EdgeGuard("tcp", "batcher", "frame", bc.tcp(), ingest[0]::serverHolds, meters);
            ByteBudget frameBytes = new ByteBudget(bc.maxBufferedBytes());
            Gauge.builder("chariots_batcher_frame_reserved_bytes", frameBytes, ByteBudget::used).baseUnit("bytes")
                    .description("Bytes reserved for raw TCP frames being received (batcher.max_buffered_bytes)")
                    .register(meters);
            FunctionCounter.builder("chariots_batcher_frame_budget_waits_total", frameBytes, ByteBudget::waits)
                    .description("Times a connection stopped being read until the frame byte budget had room")
                    .register(meters);
            // Parsing a frame of megabytes takes several times it on the heap: such frames are parsed a few at a time.
            ByteBudget parseBytes = new ByteBudget(bc.maxBufferedBytes());
            FunctionCounter.builder("chariots_batcher_parse_budget_waits_total", parseBytes, ByteBudget::waits)
                    .description("Times a whole frame of 1 MiB or more waited for its share of the parse budget (batcher.max_buffered_bytes)")
                    .register(meters);
            io.netty.handler.ssl.SslContext tls = rt.edgeTls();
            Channel tcp = new ServerBootstrap()
                    .group(rt.transport().boss(), rt.transport().workers())
                    .channel(rt.transport().serverChannelType())
                    .option(ChannelOption.SO_REUSEADDR, true)
                    // A client's close is its input's end: the frames it sent whole still wait their turn to be
                    // parsed (FrameDecoder), and the decoder closes the connection once none is left.
                    .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .childHandler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(tcpGuard.first());
                            if (tls != null) {
                                ch.pipeline().addLast(tls.newHandler(ch.alloc()));
                            }
                            ch.pipeline().addLast(new FrameDecoder(bc.maxFrameBytes(), frameBytes, parseBytes, ingest[0]::room), tcpGuard.completed(), ingest[0]);
                        }
                    })
                    .bind(config.bindHost(), config.port()).sync().channel();
            rt.manage(() -> {
                tcp.close().awaitUninterruptibly();
                clients.close().awaitUninterruptibly();
            });
            // A clean stop: no new connection, nothing more read, gRPC ingest refused (apps send elsewhere);
            // what is held goes to the filters, and acknowledged clients get their answers, before closing.
            rt.onDrain(new RoleRuntime.Drain() {
                @Override
                public void start() {
                    draining.set(true);
                    tcp.close().awaitUninterruptibly();
                    ingest[0].stopReading();
                    loop.execute(() -> held.set(assembler[0].drain(clock.nanoTime())));
                }

                @Override
                public boolean done() {
                    return held.get() == 0 && waiters.waitingIds() == 0;
                }

                @Override
                public String holding() {
                    return held.get() + " record(s) not yet durable, " + waiters.waitingIds() + " acknowledgement(s) owed";
                }
            });
            rt.startAdminServer();
            rt.roleHealth(() -> Map.of("buffered", assembler[0].buffered(), "parked", assembler[0].parked(), "connections", clients.size(),
                    "awaiting", waiters.waitingIds()));
            waiters.registerMeters(meters, "batcher");
            rt.join(grpc.getPort(), members -> {
                view.set(members);
                List<String> indexers = new ArrayList<>();
                members.members(Role.INDEXER).forEach(m -> indexers.add(m.getGrpcAddress()));
                loop.execute(() -> {
                    assembler[0].onMembership(members, clock.nanoTime());
                    waiters.onIndexers(indexers);
                });
            });
            return () -> rt;
        });
    }
}
