package io.chariots.systemtests;

import com.fasterxml.jackson.databind.JsonNode;
import io.chariots.systemtests.AcknowledgementsTest.AckedClient;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.ComposeContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.ImageFromDockerfile;
import org.testcontainers.junit.jupiter.Testcontainers;

import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real thing in containers: builds the image from {@code deploy/Dockerfile}
 * (as the README's {@code docker build} does), starts {@code deploy/docker-compose.yaml}
 * with three batchers behind HAProxy, appends over HTTP and over raw TCP
 * through the balancer, and reads both back.
 *
 * <p>Needs a Docker engine. Where there is none (development machines and CI
 * here have only the docker client) it is reported as skipped, with that
 * reason; the same files are checked without an engine by
 * {@link DeployFilesTest} and the balancer by {@link BatcherPoolBehindHaproxyTest}.
 */
@Testcontainers(disabledWithoutDocker = true)
class ContainerClusterTest {
    static final Path ROOT = ClientLibrariesTest.repoRoot();

    @Test
    void composeClusterBuiltFromTheDockerfileAppendsAndReadsBack() throws Exception {
        new ImageFromDockerfile("chariots:latest", false)
                .withFileFromPath(".", ROOT)
                .withDockerfile(ROOT.resolve("deploy/Dockerfile"))
                .get();
        java.nio.file.Path secret = ROOT.resolve("deploy/secrets/cluster_secret");
        if (!java.nio.file.Files.exists(secret)) { // as deploy/secrets/README.md says, before the first up
            java.nio.file.Files.writeString(secret, io.chariots.common.auth.ClusterSecret.generate() + "\n");
        }
        try (ComposeContainer env = new ComposeContainer(ROOT.resolve("deploy/docker-compose.yaml").toFile())
                .withScaledService("batcher", 3)
                .withExposedService("app-1", 8080, Wait.forHttp("/health").forStatusCode(200)
                        .withStartupTimeout(Duration.ofMinutes(3)))
                .withExposedService("batcher_lb-1", 9000, Wait.forListeningPort().withStartupTimeout(Duration.ofMinutes(3)))) {
            env.start();
            String app = "http://" + env.getServiceHost("app-1", 8080) + ":" + env.getServicePort("app-1", 8080);

            HttpResponse<String> posted = LogProbe.post(app + "/record?wait=true",
                    "{\"id\":\"c-1\",\"tags\":{\"k\":\"v\"},\"seed\":9489172654252433228}");
            assertThat(posted.statusCode()).as(posted.body()).isEqualTo(200);
            long lid = AcknowledgementsTest.JSON.readTree(posted.body()).get("lid").asLong();
            JsonNode read = AcknowledgementsTest.JSON.readTree(LogProbe.get(app + "/record/" + lid).body());
            assertThat(read.get("id").asText()).isEqualTo("c-1");
            assertThat(read.get("seed").asText()).isEqualTo("9489172654252433228");

            // Raw TCP through HAProxy, acknowledged, then read back over HTTP.
            String lbHost = env.getServiceHost("batcher_lb-1", 9000);
            int lbPort = env.getServicePort("batcher_lb-1", 9000);
            try (AckedClient raw = new AckedClient(new Socket(lbHost, lbPort))) {
                raw.send('A', "{\"acks\":1}");
                assertThat(raw.next()).startsWith("A");
                raw.send('r', "{\"Id\":\"c-2\",\"Tags\":{\"via\":\"haproxy\"},\"Seed\":1,\"Pre\":{\"Hash\":0}}");
                JsonNode answer = raw.nextAnswer();
                long rawLid = answer.get("results").get(0).get("lid").asLong();
                JsonNode back = AcknowledgementsTest.JSON.readTree(LogProbe.get(app + "/record/" + rawLid).body());
                assertThat(back.get("tags").get("via").asText()).isEqualTo("haproxy");
            }
        }
    }
}
