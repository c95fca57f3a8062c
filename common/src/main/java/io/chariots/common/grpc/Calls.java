package io.chariots.common.grpc;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;

import java.util.function.Consumer;

/** Wiring for async gRPC calls whose outcome is handed to a role's event loop. */
public final class Calls {
    private Calls() {
    }

    /** Runs {@code onSuccess} or {@code onFailure} when {@code call} completes (on a Netty thread: only enqueue). */
    public static <T> void on(ListenableFuture<T> call, Consumer<T> onSuccess, Consumer<Throwable> onFailure) {
        Futures.addCallback(call, new FutureCallback<T>() {
            @Override
            public void onSuccess(T result) {
                onSuccess.accept(result);
            }

            @Override
            public void onFailure(Throwable t) {
                onFailure.accept(t);
            }
        }, MoreExecutors.directExecutor());
    }

    /** A short description of a failed call for logs and error messages. */
    public static String describe(Throwable t) {
        if (t instanceof io.grpc.StatusRuntimeException s) {
            return s.getStatus().getCode() + (s.getStatus().getDescription() == null ? "" : ": " + s.getStatus().getDescription());
        }
        return t.toString();
    }
}
