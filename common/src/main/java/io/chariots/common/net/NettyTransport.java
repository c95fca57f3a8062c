package io.chariots.common.net;

import io.chariots.common.auth.ClusterSecret;
import io.chariots.common.auth.Prover;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

import java.util.concurrent.TimeUnit;

/**
 * The Netty event loops of one process, shared by its HTTP, raw TCP and gRPC
 * servers and clients: epoll on Linux, NIO elsewhere. Few threads: a machine
 * runs many role processes. Every gRPC channel to a peer is opened here
 * ({@link #grpcChannel}), so that each carries the cluster's proof.
 */
public final class NettyTransport implements AutoCloseable {
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final boolean epoll;
    private final ClusterSecret secret;
    private final ClusterTls tls;

    /** Event loops for a process of an open cluster (no secret). */
    public NettyTransport(String name, int workerThreads) {
        this(name, workerThreads, null, null);
    }

    /** Event loops whose gRPC channels prove {@code secret} (null: an open cluster). */
    public NettyTransport(String name, int workerThreads, ClusterSecret secret) {
        this(name, workerThreads, secret, null);
    }

    /**
     * Event loops whose gRPC channels prove {@code secret} (null: none) and
     * run over mutual TLS with {@code tls} (null: plaintext).
     */
    public NettyTransport(String name, int workerThreads, ClusterSecret secret, ClusterTls tls) {
        this.secret = secret;
        this.tls = tls;
        this.epoll = Epoll.isAvailable();
        IoHandlerFactory factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        this.boss = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory(name + "-accept", true), factory);
        this.workers = new MultiThreadIoEventLoopGroup(workerThreads, new DefaultThreadFactory(name + "-io", true), factory);
    }

    public EventLoopGroup boss() {
        return boss;
    }

    public EventLoopGroup workers() {
        return workers;
    }

    public Class<? extends ServerChannel> serverChannelType() {
        return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    public Class<? extends Channel> channelType() {
        return epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /** This process's TLS, or null for plaintext. */
    public ClusterTls tls() {
        return tls;
    }

    /** The cluster secret this process proves, or null. */
    public ClusterSecret secret() {
        return secret;
    }

    /**
     * A gRPC channel builder to {@code target} (host:port) on these event
     * loops, whose every call carries a new proof of the cluster secret
     * (when there is one), over mutual TLS (when configured). Callers add their own keepalive and executor.
     */
    public NettyChannelBuilder grpcChannel(String target) {
        NettyChannelBuilder b = NettyChannelBuilder.forTarget(target)
                .eventLoopGroup(workers)
                .channelType(channelType());
        if (tls == null) {
            b.usePlaintext();
        } else {
            b.sslContext(tls.grpcClient()).overrideAuthority(tls.authority());
        }
        if (secret != null) {
            b.intercept(new Prover(secret).interceptor());
        }
        return b;
    }

    /**
     * A gRPC channel builder to another datacenter's {@code target}: on these
     * event loops, each call proving {@code secret} (that datacenter's, or
     * null for an open one), in clear — this cluster's TLS certificates are
     * not that datacenter's.
     */
    public NettyChannelBuilder linkChannel(String target, ClusterSecret secret) {
        NettyChannelBuilder b = NettyChannelBuilder.forTarget(target)
                .eventLoopGroup(workers)
                .channelType(channelType())
                .usePlaintext();
        if (secret != null) {
            b.intercept(new Prover(secret).interceptor());
        }
        return b;
    }

    @Override
    public void close() {
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        boss.terminationFuture().awaitUninterruptibly(3, TimeUnit.SECONDS);
        workers.terminationFuture().awaitUninterruptibly(3, TimeUnit.SECONDS);
    }
}
