package io.chariots.app;

import io.chariots.common.read.LogReader;
import io.chariots.proto.ReaderGrpc;
import io.chariots.proto.RecordBatch;
import io.chariots.proto.RecordEnvelope;
import io.chariots.proto.TailRequest;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

import java.util.List;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The gRPC {@code Reader} service: an adapter from {@code Tail} calls to
 * {@link LogTail}s. Flow control is gRPC's: the next page is read only once
 * the call is ready for more, so a slow reader holds at most one page here.
 */
final class ReaderService extends ReaderGrpc.ReaderImplBase {
    static final int DEFAULT_BATCH = 1000;
    static final int MAX_BATCH = LogReader.MAX_PAGE;

    private final LogReader reader;
    private final ScheduledExecutorService timer;
    private final int numDc;

    ReaderService(LogReader reader, ScheduledExecutorService timer, int numDc) {
        this.numDc = numDc;
        this.reader = reader;
        this.timer = timer;
    }

    @Override
    public void tail(TailRequest request, StreamObserver<RecordBatch> responses) {
        int batch = request.getMaxBatch() == 0 ? DEFAULT_BATCH : request.getMaxBatch();
        if (batch < 0 || batch > MAX_BATCH) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription("max_batch must be 1.." + MAX_BATCH + ", got "
                    + Integer.toUnsignedString(request.getMaxBatch())).asRuntimeException());
            return;
        }
        if (request.getFromLid() == -1L) {
            responses.onError(Status.INVALID_ARGUMENT.withDescription("from_lid is past the last possible LId").asRuntimeException());
            return;
        }
        io.chariots.common.read.OriginPositions positions = null;
        if (request.getFromToidsCount() > 0) {
            try {
                positions = io.chariots.common.read.OriginPositions.of(request.getFromToidsList(), numDc);
            } catch (IllegalArgumentException e) {
                responses.onError(Status.INVALID_ARGUMENT.withDescription("from_toids: " + e.getMessage()).asRuntimeException());
                return;
            }
        }
        long from = request.getFromLid() != 0 ? request.getFromLid() : positions != null ? positions.startLid() : 1;
        ServerCallStreamObserver<RecordBatch> call = (ServerCallStreamObserver<RecordBatch>) responses;
        ReadinessGate gate = new ReadinessGate(call::isReady);
        LogTail tail = new LogTail(reader::range, timer, from, batch, new LogTail.Sink() {
            @Override
            public void deliver(List<RecordEnvelope> page, Runnable ready) {
                synchronized (call) {
                    if (call.isCancelled()) {
                        return;
                    }
                    call.onNext(RecordBatch.newBuilder().addAllRecords(page).build());
                }
                gate.park(ready);
            }

            @Override
            public void failed(RuntimeException e) {
                synchronized (call) {
                    if (!call.isCancelled()) {
                        call.onError(Status.INTERNAL.withDescription("tail stopped: " + e.getMessage()).asRuntimeException());
                    }
                }
            }
        }, positions);
        call.setOnReadyHandler(gate::onReady);
        call.setOnCancelHandler(tail::stop);
        tail.start();
    }
}
