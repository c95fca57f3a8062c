package io.chariots.common.membership;

import io.chariots.common.config.HostPort;
import io.chariots.common.net.NettyTransport;
import io.chariots.proto.ControllerGrpc;
import io.chariots.proto.Heartbeat;
import io.chariots.proto.JoinRequest;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A role's link to the controller: registers over a gRPC {@code Join} stream,
 * heartbeats on it, and hands every newer {@link Membership} to the listener,
 * in version order. If the controller is unreachable or restarts, it
 * reconnects with backoff and registers again under the same instance id.
 * All callbacks run on one internal thread; the listener should only enqueue.
 */
public final class MembershipClient implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MembershipClient.class);

    /** Where the link stands. */
    public enum State {
        /** Not yet connected, or reconnecting after a failure. */
        CONNECTING,
        /** Registered: the controller has pushed at least one view on the current stream. */
        REGISTERED,
        /** Closed for good. */
        CLOSED
    }

    private final HostPort controller;
    private final Member self;
    private final Duration heartbeat;
    private final Consumer<Membership> listener;
    private final ScheduledExecutorService exec;
    private final ManagedChannel channel;
    private volatile Membership current = Membership.NONE;
    private volatile State state = State.CONNECTING;
    private ClientCallStreamObserver<JoinRequest> stream;
    private ScheduledFuture<?> heartbeatTask;
    private long backoffMs = 100;
    private volatile java.util.function.Supplier<String> note = () -> "";
    private volatile java.util.function.Supplier<String> withhold = () -> null;
    private String withheldFor;
    private String lastRefusal;
    private int generation;

    public MembershipClient(HostPort controllerGrpc, Member self, Duration heartbeat, NettyTransport transport,
                            Consumer<Membership> listener) {
        this.controller = controllerGrpc;
        this.self = self;
        this.heartbeat = heartbeat;
        this.listener = listener;
        this.exec = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "membership");
            t.setDaemon(true);
            return t;
        });
        this.channel = transport.grpcChannel(controllerGrpc.toString()).executor(exec).build();
    }

    /**
     * Heartbeats are sent only while {@code whyNot} answers null: a role
     * whose loop is stuck says so (the answer is logged once) and lets the
     * controller time it out, rather than heartbeat for work it cannot do.
     * Called on the membership thread: it must only read published state.
     */
    public MembershipClient heartbeatOnlyIf(java.util.function.Supplier<String> whyNot) {
        this.withhold = whyNot;
        return this;
    }

    public MembershipClient start() {
        exec.execute(this::connect);
        return this;
    }

    /** The newest view received ({@link Membership#NONE} before the first). */
    public Membership current() {
        return current;
    }

    public State state() {
        return state;
    }

    /**
     * What this member would have an operator know now, sent with every
     * heartbeat and shown by the controller's {@code /cluster} (empty: all is
     * well). Called on the membership thread: it must only read published state.
     */
    public void note(java.util.function.Supplier<String> note) {
        this.note = note;
    }

    public Member self() {
        return self;
    }

    private void connect() {
        if (state == State.CLOSED) {
            return;
        }
        final int gen = ++generation;
        ControllerGrpc.newStub(channel).join(new ClientResponseObserver<JoinRequest, MembershipView>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<JoinRequest> requestStream) {
                stream = requestStream;
            }

            @Override
            public void onNext(MembershipView view) {
                if (gen != generation) {
                    return;
                }
                if (state == State.CONNECTING) {
                    LOG.info("registered with controller {} as {} {}", controller, self.getRole(), self.getAddress());
                    backoffMs = 100;
                }
                state = State.REGISTERED;
                Membership m = new Membership(view);
                if (m.isNewerThan(current)) {
                    current = m;
                    listener.accept(m);
                }
            }

            @Override
            public void onError(Throwable t) {
                lost(gen, t.toString());
            }

            @Override
            public void onCompleted() {
                lost(gen, "stream closed by controller");
            }
        });
        // After a controller restart, ask for the join order we had so the ring keeps its shape.
        long joinSeq = current.self().getJoinSeq();
        Member reg = joinSeq != 0 ? self.toBuilder().setJoinSeq(joinSeq).build() : self;
        stream.onNext(JoinRequest.newBuilder().setRegister(reg).build());
        heartbeatTask = exec.scheduleAtFixedRate(() -> {
            if (gen == generation && stream != null) {
                if (withheld()) {
                    return;
                }
                String n;
                try {
                    n = note.get();
                } catch (RuntimeException e) {
                    n = "";
                }
                stream.onNext(JoinRequest.newBuilder().setHeartbeat(Heartbeat.newBuilder()
                        .setSentAtMs(System.currentTimeMillis()).setNote(n == null ? "" : n)).build());
            }
        }, heartbeat.toMillis(), heartbeat.toMillis(), TimeUnit.MILLISECONDS);
    }

    private boolean withheld() {
        String why;
        try {
            why = withhold.get();
        } catch (RuntimeException e) {
            why = e.toString();
        }
        if (why != null && withheldFor == null) {
            LOG.error("heartbeats withheld: {}; the controller will drop this {} from the views until it works again",
                    why, self.getRole());
        } else if (why == null && withheldFor != null) {
            LOG.info("heartbeats resume (they were withheld: {})", withheldFor);
        }
        withheldFor = why;
        return why != null;
    }

    private void lost(int gen, String why) {
        if (gen != generation || state == State.CLOSED) {
            return;
        }
        if (why.contains("INVALID_ARGUMENT") || why.contains("UNAUTHENTICATED")) {
            // The controller refused this registration: say why (once per reason), and keep trying, as the
            // cause (a gRPC port not yet answering, a stale member at this address, a secret being rolled) may pass.
            if (!why.equals(lastRefusal)) {
                LOG.warn("the controller at {} refused this {}: {}; retrying", controller,
                        io.chariots.common.config.RoleConfig.roleName(self.getRole()),
                        why.replace("io.grpc.StatusRuntimeException: ", ""));
                lastRefusal = why;
            }
        } else if (state == State.REGISTERED) {
            LOG.warn("lost the controller at {} ({}); reconnecting", controller, why);
        } else {
            LOG.debug("controller at {} not reachable ({}); retrying in {} ms", controller, why, backoffMs);
        }
        state = State.CONNECTING;
        heartbeatTask.cancel(false);
        generation++;
        exec.schedule(this::connect, backoffMs, TimeUnit.MILLISECONDS);
        backoffMs = Math.min(backoffMs * 2, 2000);
    }

    @Override
    public void close() {
        try {
            exec.submit(() -> {
                state = State.CLOSED;
                generation++;
                if (heartbeatTask != null) {
                    heartbeatTask.cancel(false);
                }
                if (stream != null) {
                    try {
                        stream.onCompleted();
                    } catch (RuntimeException ignored) {
                        // the stream may already be gone
                    }
                }
            }).get(2, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.debug("closing membership stream: {}", e.toString());
        }
        channel.shutdown();
        try {
            if (!channel.awaitTermination(2, TimeUnit.SECONDS)) {
                channel.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            channel.shutdownNow();
        }
        exec.shutdownNow();
    }
}
