package io.chariots.common.grpc;

import io.chariots.common.net.NettyTransport;
import io.grpc.ManagedChannel;

import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One gRPC channel per peer address, on the process's Netty event loops.
 * Channels are created on first use and closed when the peer leaves the
 * membership ({@link #retainOnly}). Callbacks run directly on Netty threads,
 * so whoever receives them must only enqueue work. Thread-safe.
 */
public final class ChannelPool implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ChannelPool.class);
    private final NettyTransport transport;
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

    public ChannelPool(NettyTransport transport) {
        this.transport = transport;
    }

    /** The channel to {@code address} (host:port). */
    public ManagedChannel get(String address) {
        return channels.computeIfAbsent(address, a -> transport.grpcChannel(a)
                .directExecutor()
                .maxInboundMessageSize(MessageLimits.MAX_MESSAGE_BYTES)
                // A peer that stops answering (paused, cut off) fails its calls within about
                // 4 s instead of at their deadlines: the keepalive is what lets a caller give up
                // on a call that waits legitimately long (a filter's batch until it is durable).
                .keepAliveTime(2, TimeUnit.SECONDS)
                .keepAliveTimeout(2, TimeUnit.SECONDS)
                .keepAliveWithoutCalls(false)
                .build());
    }

    /** Number of open channels. */
    public int size() {
        return channels.size();
    }

    /** Closes the channels of peers not in {@code live}. */
    public void retainOnly(Collection<String> live) {
        channels.entrySet().removeIf(e -> {
            if (live.contains(e.getKey())) {
                return false;
            }
            LOG.info("{} left; closing its channel", e.getKey());
            e.getValue().shutdown();
            return true;
        });
    }

    @Override
    public void close() {
        channels.values().forEach(ManagedChannel::shutdownNow);
        for (ManagedChannel c : channels.values()) {
            try {
                c.awaitTermination(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        channels.clear();
    }
}
