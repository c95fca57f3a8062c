package io.chariots.launcher.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/** Durable appends over HTTP: one record per {@code POST /record?wait=true&timeout_ms=…}, 200 with its LId. */
final class HttpAppender implements Appender {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI uri;
    private final String path;
    private final Duration requestTimeout;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /** @param waitMillis how long the app may wait for durability before answering 504 */
    HttpAppender(String appUrl, String appName, long waitMillis) {
        this.uri = URI.create(appUrl + "/record?wait=true&timeout_ms=" + waitMillis);
        this.path = "http:" + appName;
        this.requestTimeout = Duration.ofMillis(waitMillis + 3_000);
    }

    @Override
    public List<Outcome> append(List<ChaosRecord> records) throws IOException, InterruptedException {
        ChaosRecord r = records.get(0);
        HttpResponse<String> resp = http.send(HttpRequest.newBuilder(uri).timeout(requestTimeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(r.json())).build(), HttpResponse.BodyHandlers.ofString());
        return List.of(switch (resp.statusCode()) {
            case 200 -> {
                JsonNode j = JSON.readTree(resp.body());
                if (!r.id().equals(j.path("id").asText())) {
                    throw new IOException("200 for " + r.id() + " names another id: " + resp.body());
                }
                yield new Outcome(j.path("lid").asLong(), null);
            }
            case 409 -> new Outcome(0, resp.body());
            default -> Outcome.RETRY; // 503, 504: not confirmed; the same id again is safe
        });
    }

    @Override
    public String path() {
        return path;
    }

    @Override
    public int batch() {
        return 1;
    }

    @Override
    public void close() {
        // the JDK client's connections close with it
    }
}
