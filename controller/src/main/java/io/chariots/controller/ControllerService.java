package io.chariots.controller;

import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;
import io.chariots.proto.BatchAck;
import io.chariots.proto.ControllerGrpc;
import io.chariots.proto.JoinRequest;
import io.chariots.proto.Layout;
import io.chariots.proto.Member;
import io.chariots.proto.MembershipView;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;

/**
 * gRPC adapter: turns Join stream events and reported layouts into registry
 * calls on the controller loop.
 */
final class ControllerService extends ControllerGrpc.ControllerImplBase {
    private final EventLoop loop;
    private final MemberRegistry registry;
    private final StateWriter state;
    private final NanoClock clock;
    private final Counter badRequests;
    private final MemberAdmission admission;

    ControllerService(EventLoop loop, MemberRegistry registry, StateWriter state, NanoClock clock, Counter badRequests,
                      MemberAdmission admission) {
        this.admission = admission;
        this.loop = loop;
        this.registry = registry;
        this.state = state;
        this.clock = clock;
        this.badRequests = badRequests;
    }

    /**
     * Answers {@code accepted: 1} if the layout was taken (newer than the one
     * kept), 0 if not; either way only once the controller's state, with a
     * layout at least as new, is durable. UNAVAILABLE if saving it failed.
     */
    @Override
    public void reportLayout(Layout layout, StreamObserver<BatchAck> responses) {
        if (layout.getEpoch() == 0) {
            badRequests.increment();
            responses.onError(Status.INVALID_ARGUMENT.withDescription("a layout's epoch starts at 1").asRuntimeException());
            return;
        }
        loop.execute(() -> {
            boolean taken = registry.reportLayout(layout);
            state.flush().whenComplete((saved, error) -> {
                if (error == null) {
                    responses.onNext(BatchAck.newBuilder().setAccepted(taken ? 1 : 0).build());
                    responses.onCompleted();
                } else {
                    responses.onError(Status.UNAVAILABLE.withDescription("layout " + layout.getEpoch() + "."
                            + layout.getVersion() + " is known but the controller cannot save it: " + error)
                            .asRuntimeException());
                }
            });
        });
    }

    @Override
    public StreamObserver<JoinRequest> join(StreamObserver<MembershipView> responses) {
        StreamSubscriber sub = new StreamSubscriber((ServerCallStreamObserver<MembershipView>) responses, badRequests);
        return new StreamObserver<>() {
            // gRPC serializes the callbacks of one call, so this needs no lock.
            private String instanceId;

            @Override
            public void onNext(JoinRequest req) {
                switch (req.getKindCase()) {
                    case REGISTER -> {
                        instanceId = req.getRegister().getInstanceId();
                        var member = req.getRegister();
                        String problem = MemberEntry.registrationProblem(member);
                        if (problem != null) {
                            loop.execute(() -> registry.register(member, sub, clock.nanoTime())); // rejects, naming it
                            return;
                        }
                        // Into the views only once its gRPC address answers as this role and instance.
                        admission.check(member, true, (refused, now) -> {
                            if (refused != null) {
                                sub.reject("registration refused: " + refused);
                            } else if (sub.open()) {
                                admitAt(member, sub, now);
                            }
                        });
                    }
                    case HEARTBEAT -> {
                        if (instanceId == null) {
                            loop.execute(() -> sub.reject("heartbeat before register"));
                        } else {
                            String id = instanceId;
                            String note = req.getHeartbeat().getNote();
                            loop.execute(() -> registry.heartbeat(id, note, clock.nanoTime()));
                        }
                    }
                    default -> loop.execute(() -> sub.reject("empty JoinRequest"));
                }
            }

            @Override
            public void onError(Throwable t) {
                closed();
            }

            @Override
            public void onCompleted() {
                closed();
                loop.execute(sub::complete);
            }

            private void closed() {
                if (instanceId != null) {
                    String id = instanceId;
                    loop.execute(() -> registry.streamClosed(id, sub, clock.nanoTime()));
                }
            }
        };
    }

    /**
     * Registers {@code member} (whose gRPC address answered as it). A live
     * member listed at the same address under another gRPC address gives way
     * only if it no longer answers there: a restart takes its place, a false
     * claim on a running member's address does not evict it. On the loop.
     */
    private void admitAt(Member member, StreamSubscriber sub, long now) {
        Member holder = registry.liveHolderOf(member);
        if (holder == null || holder.getGrpcAddress().equals(member.getGrpcAddress())) {
            registry.register(member, sub, now); // the same gRPC address answered as the newcomer: the old one is gone
            return;
        }
        admission.stillAnswers(holder, (gone, later) -> {
            if (gone == null) {
                badRequests.increment();
                sub.reject("registration refused: " + member.getAddress() + " is held by live instance "
                        + holder.getInstanceId() + ", which still answers at " + holder.getGrpcAddress());
            } else if (sub.open()) {
                registry.register(member, sub, later);
            }
        });
    }

    /** Pushes views on one stream; only the controller loop calls it. */
    private static final class StreamSubscriber implements MemberRegistry.Subscriber {
        private final ServerCallStreamObserver<MembershipView> out;
        private final Counter badRequests;
        private boolean done;

        StreamSubscriber(ServerCallStreamObserver<MembershipView> out, Counter badRequests) {
            this.out = out;
            this.badRequests = badRequests;
        }

        /** Whether the member is still there to be told anything. */
        boolean open() {
            return !done && !out.isCancelled();
        }

        @Override
        public void push(MembershipView view) {
            if (done || out.isCancelled()) {
                return;
            }
            try {
                out.onNext(view);
            } catch (RuntimeException e) {
                done = true; // the member went away; its closed callback updates the registry
            }
        }

        @Override
        public void reject(String reason) {
            if (done) {
                return;
            }
            done = true;
            badRequests.increment();
            try {
                out.onError(Status.INVALID_ARGUMENT.withDescription(reason).asRuntimeException());
            } catch (RuntimeException ignored) {
                // already cancelled
            }
        }

        void complete() {
            if (done) {
                return;
            }
            done = true;
            try {
                out.onCompleted();
            } catch (RuntimeException ignored) {
                // already cancelled
            }
        }
    }
}
