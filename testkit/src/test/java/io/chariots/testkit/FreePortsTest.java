package io.chariots.testkit;

import org.junit.jupiter.api.Test;

import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class FreePortsTest {
    @Test
    void freePortsAreDistinctAndBindable() throws Exception {
        int[] ports = FreePorts.freePorts(20);
        assertThat(ports).hasSize(20).doesNotHaveDuplicates();
        assertThat(Arrays.stream(ports).allMatch(p -> p > 0 && p <= 65535)).isTrue();
        // All of them can be bound together, right away.
        List<ServerSocket> held = new ArrayList<>();
        try {
            for (int p : ports) {
                ServerSocket s = new ServerSocket();
                held.add(s);
                s.bind(new InetSocketAddress("127.0.0.1", p));
                assertThat(s.getLocalPort()).isEqualTo(p);
            }
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
    }

    @Test
    void freePortsOfZeroIsEmpty() {
        assertThat(FreePorts.freePorts(0)).isEmpty();
    }

    @Test
    void freePortIsBindable() throws Exception {
        int p = FreePorts.freePort();
        assertThat(p).isBetween(1, 65535);
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", p));
        }
    }

    @Test
    void listeningIsTrueWhileASocketAcceptsAndFalseAfterItCloses() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            port = s.getLocalPort();
            assertThat(FreePorts.listening("127.0.0.1", port)).isTrue();
            assertThat(FreePorts.bindable(port)).as("bindable while in use").isFalse();
        }
        assertThat(FreePorts.listening("127.0.0.1", port)).isFalse();
        assertThat(FreePorts.bindable(port)).isTrue();
    }

    @Test
    void freeUdpAndTcpPortIsBindableForBoth() throws Exception {
        int p = FreePorts.freeUdpAndTcpPort();
        assertThat(p).isBetween(1, 65535);
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress("127.0.0.1", p));
             ServerSocket t = new ServerSocket()) {
            t.bind(new InetSocketAddress("127.0.0.1", p));
            assertThat(s.getLocalPort()).isEqualTo(p);
            assertThat(t.getLocalPort()).isEqualTo(p);
        }
    }
}
