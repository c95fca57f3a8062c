package io.chariots.common.http;

import io.chariots.common.net.NettyTransport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * A small HTTP/1.1 server on Netty with exact and prefix routes. One request
 * per connection is answered at a time, so responses keep request order: a
 * request that arrives while another is answered (a pipelining client) waits
 * until then, and the connection is not read further meanwhile, so a slow
 * handler pushes back on its client. A client that sends its next request only
 * after the answer costs no pausing at all.
 */
public final class HttpServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HttpServer.class);
    /** Set on a connection while a {@link ChunkedResponse} streams on it. */
    static final io.netty.util.AttributeKey<Boolean> STREAMING = io.netty.util.AttributeKey.valueOf("chariots.streaming");

    private record Route(HttpMethod method, String path, boolean prefix, HttpHandler handler) {
        boolean matchesPath(String p) {
            return prefix ? p.startsWith(path) : p.equals(path);
        }
    }

    private final Channel channel;
    private final ChannelGroup connections;

    private HttpServer(Channel channel, ChannelGroup connections) {
        this.channel = channel;
        this.connections = connections;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The port actually bound (useful with port 0). */
    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly();
        // Open keep-alive connections too: a client must see this server gone, not wait on a socket nobody reads
        // (a role restarted in the same JVM, or stopped while its event loops serve others).
        connections.close().awaitUninterruptibly();
    }

    /** Collects routes; {@code path} ending in {@code /*} matches every path under it. */
    public static final class Builder {
        private final List<Route> routes = new ArrayList<>();
        private int maxRequestBytes = 16 << 20;
        private io.chariots.common.net.EdgeGuard guard;
        private io.chariots.common.frame.ByteBudget budget;
        private io.netty.handler.ssl.SslContext tls;

        private java.util.function.UnaryOperator<HttpHandler> through = h -> h;

        public Builder route(HttpMethod method, String path, HttpHandler handler) {
            boolean prefix = path.endsWith("/*");
            routes.add(new Route(method, prefix ? path.substring(0, path.length() - 1) : path, prefix, through.apply(handler)));
            return this;
        }

        /** Routes added after this call are served through {@code gate} (e.g. a token check); earlier ones are not. */
        public Builder through(java.util.function.UnaryOperator<HttpHandler> gate) {
            this.through = gate;
            return this;
        }

        public Builder get(String path, HttpHandler handler) {
            return route(HttpMethod.GET, path, handler);
        }

        public Builder post(String path, HttpHandler handler) {
            return route(HttpMethod.POST, path, handler);
        }

        public Builder delete(String path, HttpHandler handler) {
            return route(HttpMethod.DELETE, path, handler);
        }

        /** Requests with a larger body get 413. */
        public Builder maxRequestBytes(int bytes) {
            this.maxRequestBytes = bytes;
            return this;
        }

        /** Bounds the connections (count, idle, slow requests): see {@link io.chariots.common.net.EdgeGuard}. */
        public Builder guard(io.chariots.common.net.EdgeGuard g) {
            this.guard = g;
            return this;
        }

        /** Serves HTTPS with {@code ctx} (null: plain HTTP). */
        public Builder tls(io.netty.handler.ssl.SslContext ctx) {
            this.tls = ctx;
            return this;
        }

        /**
         * Bounds the request bodies all connections hold at once: see
         * {@link BodyBudget}. Must hold at least the largest body.
         */
        public Builder budget(io.chariots.common.frame.ByteBudget b) {
            this.budget = b;
            return this;
        }

        /**
         * Whether this server keeps a connection waiting now: a request being
         * answered, reading paused (requests waiting for their turn or for the
         * body budget) or a stream being sent.
         */
        public static boolean serverHolds(Channel c) {
            return c.attr(AnswerOrder.ANSWERING).get() != null || !c.config().isAutoRead() || c.attr(STREAMING).get() != null;
        }

        /** Binds and starts serving; throws if the port is taken. */
        public HttpServer start(NettyTransport transport, String bindHost, int port) throws InterruptedException {
            List<Route> table = List.copyOf(routes);
            int max = maxRequestBytes;
            io.chariots.common.net.EdgeGuard g = guard;
            io.chariots.common.frame.ByteBudget b = budget;
            io.netty.handler.ssl.SslContext ssl = tls;
            if (b != null && b.capacity() < max) {
                throw new io.chariots.common.config.ConfigException("http.max_buffered_bytes (" + b.capacity()
                        + ") must hold at least the largest request body this port takes (" + max + " bytes; for an app, app.max_body_bytes)");
            }
            ChannelGroup connections =
                    new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
            Channel ch = new ServerBootstrap()
                    .group(transport.boss(), transport.workers())
                    .channel(transport.serverChannelType())
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel c) {
                            connections.add(c);
                            if (g != null) {
                                c.pipeline().addLast(g.first());
                            }
                            if (ssl != null) {
                                c.pipeline().addLast(ssl.newHandler(c.alloc()));
                            }
                            c.pipeline().addLast(new HttpServerCodec(), new AnswerOrder());
                            if (b != null) {
                                c.pipeline().addLast(new BodyBudget(b, max));
                            }
                            c.pipeline().addLast(new HttpServerExpectContinueHandler(), new HttpObjectAggregator(max));
                            if (g != null) {
                                c.pipeline().addLast(g.completed());
                            }
                            c.pipeline().addLast(new Dispatcher(table, b));
                        }
                    })
                    .bind(bindHost, port).sync().channel();
            return new HttpServer(ch, connections);
        }
    }

    /** Routes each request to its handler; {@link AnswerOrder} lets them through one at a time. */
    private static final class Dispatcher extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final List<Route> routes;
        private final io.chariots.common.frame.ByteBudget budget;

        Dispatcher(List<Route> routes, io.chariots.common.frame.ByteBudget budget) {
            this.routes = routes;
            this.budget = budget;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            // Without a budget nothing was reserved (a client's own header stays a header).
            long reserved = budget == null ? 0 : BodyBudget.takeReservation(req.headers());
            HttpExchange ex = new HttpExchange(ctx, req, () -> {
                if (reserved > 0) {
                    budget.release(reserved);
                }
            });
            if (!req.decoderResult().isSuccess()) {
                ex.closeAfterAnswer();
                ex.error(HttpResponseStatus.BAD_REQUEST, "malformed HTTP request: " + req.decoderResult().cause());
                return;
            }
            String badTarget = ex.targetProblem();
            if (badTarget != null) {
                ex.error(HttpResponseStatus.BAD_REQUEST, "malformed request target: " + badTarget);
                return;
            }
            String path = ex.path();
            Route match = null;
            boolean pathKnown = false;
            for (Route r : routes) {
                if (r.matchesPath(path)) {
                    pathKnown = true;
                    if (r.method().equals(req.method())) {
                        match = r;
                        break;
                    }
                }
            }
            if (match == null) {
                if (pathKnown) {
                    ex.error(HttpResponseStatus.METHOD_NOT_ALLOWED, req.method() + " is not allowed on " + path);
                } else {
                    ex.error(HttpResponseStatus.NOT_FOUND, "no such endpoint: " + path);
                }
                return;
            }
            ex.routePath(match.path());
            try {
                match.handler().handle(ex);
            } catch (Exception e) {
                LOG.warn("handler for {} {} failed", req.method(), path, e);
                ex.error(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error: " + e);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("HTTP connection from {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }
}
