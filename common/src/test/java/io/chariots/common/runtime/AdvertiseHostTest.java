package io.chariots.common.runtime;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;
import io.chariots.proto.Role;
import org.junit.jupiter.api.Test;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Which address a role advertises when none is configured. */
class AdvertiseHostTest {

    static RoleConfig config(Role role, String controller) {
        return RoleConfig.resolve(role, Settings.of(Map.of("controller", controller), "test"));
    }

    /**
     * The compose file names the controller {@code controller:8081}, which in
     * its own container resolves to its own address. It must not wait for a
     * controller to answer there: it is that controller, not serving yet. (It
     * used to wait the full 30 s, delaying every role that waits for it.)
     */
    @Test
    void theControllerDoesNotWaitForItself() throws Exception {
        // An address of this machine that is not loopback, as a container's own address is.
        String own = java.util.Collections.list(NetworkInterface.getNetworkInterfaces()).stream()
                .flatMap(i -> java.util.Collections.list(i.getInetAddresses()).stream())
                .filter(a -> a instanceof Inet4Address && !a.isLoopbackAddress())
                .map(InetAddress::getHostAddress).findFirst().orElse(null);
        assumeTrue(own != null, "this machine has no non-loopback IPv4 address to stand for the container's");
        int unbound;
        try (ServerSocket s = new ServerSocket(0)) {
            unbound = s.getLocalPort();
        }
        String host = assertTimeoutPreemptively(Duration.ofSeconds(RoleRuntime.ADVERTISE_WAIT_MS / 1000 / 3),
                () -> RoleRuntime.detectAdvertiseHost(config(Role.CONTROLLER, own + ":" + unbound)));
        assertThat(host).isEqualTo(own);
        assertThat(assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> RoleRuntime.detectAdvertiseHost(config(Role.CONTROLLER, "controller.invalid:" + unbound))))
                .as("a name not in DNS: this host's address").isNotBlank();
    }

    @Test
    void aRoleAdvertisesItsAddressTowardsTheController() throws Exception {
        try (ServerSocket controller = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            assertThat(RoleRuntime.detectAdvertiseHost(config(Role.FILTER, "127.0.0.1:" + controller.getLocalPort())))
                    .isEqualTo("127.0.0.1");
        }
    }
}
