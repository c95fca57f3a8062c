package io.chariots.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

/** Ports for tests and the cluster harness: free ones, and whether something listens. */
public final class FreePorts {
    private FreePorts() {
    }

    /** A port on 127.0.0.1 that was free a moment ago (the kernel's choice). */
    public static int freePort() {
        return freePorts(1)[0];
    }

    /**
     * {@code n} distinct ports, all held open together while they are chosen,
     * so that one call never returns the same port twice.
     */
    public static int[] freePorts(int n) {
        List<ServerSocket> held = new ArrayList<>();
        try {
            int[] out = new int[n];
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket();
                held.add(s);
                s.setReuseAddress(true);
                s.bind(new InetSocketAddress("127.0.0.1", 0));
                out[i] = s.getLocalPort();
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("no free port on 127.0.0.1", e);
        } finally {
            for (ServerSocket s : held) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing a bound, never-accepted socket
                }
            }
        }
    }

    /**
     * A port on 127.0.0.1 that was free a moment ago for UDP and for TCP
     * both, as a DNS server (dnsmasq) binds it: a port the kernel gives for
     * UDP may be taken for TCP (a test once failed on exactly that).
     */
    public static int freeUdpAndTcpPort() {
        IOException last = null;
        for (int attempt = 0; attempt < 100; attempt++) {
            try (DatagramSocket udp = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
                int port = udp.getLocalPort();
                try (ServerSocket tcp = new ServerSocket()) {
                    tcp.bind(new InetSocketAddress("127.0.0.1", port));
                    return port;
                } catch (IOException takenForTcp) {
                    last = takenForTcp;
                }
            } catch (IOException e) {
                last = e;
            }
        }
        throw new UncheckedIOException("no port on 127.0.0.1 free for UDP and TCP in 100 tries", last);
    }

    /** Whether {@code port} can be bound on every address now. */
    public static boolean bindable(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress("0.0.0.0", port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether anything accepts connections on {@code host:port}. */
    public static boolean listening(String host, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 300);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
