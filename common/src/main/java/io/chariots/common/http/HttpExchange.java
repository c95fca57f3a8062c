package io.chariots.common.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;

import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One HTTP request and its pending response. The body is copied out of Netty's
 * buffers, so the exchange may be answered from any thread, exactly once.
 */
public final class HttpExchange {
    /** Shared JSON mapper for responses. */
    public static final ObjectMapper JSON = new ObjectMapper();

    private final ChannelHandlerContext ctx;
    private final HttpMethod method;
    private final String uri;
    private final QueryStringDecoder query;
    private final io.netty.handler.codec.http.HttpHeaders headers;
    private static final byte[] NO_BODY = new byte[0];

    private byte[] body;
    private boolean keepAlive;
    private final AtomicBoolean answered = new AtomicBoolean();
    private final Runnable releaseBody;
    private String routePath;

    /**
     * @param releaseBody run once the request is answered at all, by a response or a stream (its body is done with)
     */
    HttpExchange(ChannelHandlerContext ctx, FullHttpRequest request, Runnable releaseBody) {
        this.releaseBody = releaseBody;
        this.ctx = ctx;
        this.method = request.method();
        this.uri = request.uri();
        this.query = new QueryStringDecoder(request.uri());
        this.headers = request.headers().copy();
        this.body = new byte[request.content().readableBytes()];
        request.content().getBytes(request.content().readerIndex(), body);
        this.keepAlive = HttpUtil.isKeepAlive(request);
    }

    /** Answers with {@code Connection: close} and closes after: for a request the decoder could not read, after which it reads nothing more. */
    void closeAfterAnswer() {
        keepAlive = false;
    }

    void routePath(String routePath) {
        this.routePath = routePath;
    }

    public HttpMethod method() {
        return method;
    }

    public String uri() {
        return uri;
    }

    /**
     * Why the request target cannot be decoded (a bad percent-escape such as
     * {@code %zz}), or null if its path and query decode.
     */
    String targetProblem() {
        try {
            query.path();
            query.parameters();
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    /** The decoded path, without the query. */
    public String path() {
        return query.path();
    }

    /** For a prefix route {@code /record/*}: what follows the prefix ({@code 42} in {@code /record/42}). */
    public String pathRest() {
        String p = path();
        return routePath != null && p.length() >= routePath.length() ? p.substring(routePath.length()) : "";
    }

    /** The first value of query parameter {@code name}, or null. */
    public String queryParam(String name) {
        List<String> vs = query.parameters().get(name);
        return vs == null || vs.isEmpty() ? null : vs.get(0);
    }

    public Map<String, List<String>> queryParams() {
        return query.parameters();
    }

    public String header(CharSequence name) {
        return headers.get(name);
    }

    /**
     * The request's body, handed over once: the exchange lets go of it (later
     * calls return an empty array), so a request that waits long for its answer
     * (an append waiting for a batcher) does not also hold its body on the heap
     * beside what the route made of it. Call it on the route's thread.
     */
    public byte[] takeBody() {
        byte[] b = body;
        body = NO_BODY;
        return b;
    }

    public SocketAddress remoteAddress() {
        return ctx.channel().remoteAddress();
    }

    public boolean answered() {
        return answered.get();
    }

    /** Sends the response; later calls are ignored. */
    public void respond(HttpResponseStatus status, String contentType, byte[] content, String... headerPairs) {
        if (!answered.compareAndSet(false, true)) {
            return;
        }
        FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(content));
        resp.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.length);
        for (int i = 0; i + 1 < headerPairs.length; i += 2) {
            resp.headers().set(headerPairs[i], headerPairs[i + 1]);
        }
        if (keepAlive) {
            resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            ctx.writeAndFlush(resp);
        } else {
            resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
        }
        releaseBody.run();
    }

    /**
     * Answers with a chunked response whose body the caller writes as it
     * goes. While it streams, the connection is read again (so a client that
     * hangs up is noticed at once) and further requests on it are ignored.
     *
     * @return the response, or null if the exchange was already answered
     */
    public ChunkedResponse stream(HttpResponseStatus status, String contentType, String... headerPairs) {
        if (!answered.compareAndSet(false, true)) {
            return null;
        }
        HttpResponse resp = new DefaultHttpResponse(HttpVersion.HTTP_1_1, status);
        resp.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        HttpUtil.setTransferEncodingChunked(resp, true);
        for (int i = 0; i + 1 < headerPairs.length; i += 2) {
            resp.headers().set(headerPairs[i], headerPairs[i + 1]);
        }
        if (keepAlive) {
            resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        ctx.channel().attr(HttpServer.STREAMING).set(Boolean.TRUE);
        releaseBody.run();
        ctx.writeAndFlush(resp);
        ctx.channel().eventLoop().execute(() -> {
            if (ctx.channel().attr(BodyBudget.WAITING).get() == null) { // a request waiting for the budget stays unread
                ctx.channel().config().setAutoRead(true);
            }
        });
        return new ChunkedResponse(ctx); // a stream ends only with its connection
    }

    public void text(HttpResponseStatus status, String text) {
        respond(status, "text/plain; charset=utf-8", text.getBytes(StandardCharsets.UTF_8));
    }

    /** Serializes {@code value} with Jackson. */
    public void json(HttpResponseStatus status, Object value, String... headerPairs) {
        byte[] bytes;
        try {
            bytes = value instanceof byte[] b ? b : JSON.writeValueAsBytes(value);
        } catch (Exception e) {
            text(HttpResponseStatus.INTERNAL_SERVER_ERROR, "cannot encode response: " + e.getMessage());
            return;
        }
        respond(status, "application/json", bytes, headerPairs);
    }

    /** A JSON error: {@code {"error": message}}. */
    public void error(HttpResponseStatus status, String message, String... headerPairs) {
        json(status, Map.of("error", message), headerPairs);
    }
}
