package io.chariots.batcher;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.frame.FrameDecoder;
import io.chariots.common.runtime.RoleRuntime;
import io.grpc.Server;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;

/**
 * The batcher process: raw TCP frames on port 9000, gRPC ingest on port + 1000.
 * Startup wiring only: for now it binds both ports, serves {@code /health}
 * and {@code /metrics}, and registers; the frame handler and batching are
 * wired here as they land.
 */
public final class Batcher {
    private Batcher() {
    }

    public static RoleRuntime.Handle start(RoleConfig config) throws Exception {
        return RoleRuntime.launch(config, rt -> {
            Channel tcp = new ServerBootstrap()
                    .group(rt.transport().boss(), rt.transport().workers())
                    .channel(rt.transport().serverChannelType())
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childHandler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new FrameDecoder(4 << 20));
                        }
                    })
                    .bind(config.bindHost(), config.port()).sync().channel();
            rt.manage(() -> tcp.close().awaitUninterruptibly());
            Server grpc = rt.manage(rt.grpcServerBuilder(config.grpcPort()).build().start());
            rt.startAdminServer();
            rt.join(grpc.getPort(), m -> { });
            return () -> rt;
        });
    }
}
