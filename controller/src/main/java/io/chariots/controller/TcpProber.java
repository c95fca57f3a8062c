package io.chariots.controller;

import io.chariots.common.config.HostPort;
import io.chariots.common.loop.EventLoop;
import io.chariots.common.loop.NanoClock;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** Probes members registered by address with a TCP connect, off the loop; reports back on it. */
final class TcpProber implements MemberRegistry.Prober, AutoCloseable {
    private final ExecutorService pool = Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "probe");
        t.setDaemon(true);
        return t;
    });
    private final EventLoop loop;
    private final NanoClock clock;
    private MemberRegistry registry;

    TcpProber(EventLoop loop, NanoClock clock) {
        this.loop = loop;
        this.clock = clock;
    }

    void registry(MemberRegistry registry) {
        this.registry = registry;
    }

    @Override
    public void probe(String instanceId, HostPort address) {
        pool.execute(() -> {
            boolean ok;
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(address.host(), address.port()), 500);
                ok = true;
            } catch (IOException e) {
                ok = false;
            }
            boolean reachable = ok;
            loop.execute(() -> registry.probeResult(instanceId, reachable, clock.nanoTime()));
        });
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
