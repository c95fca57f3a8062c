package io.chariots.systemtests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.chariots.client.Cause;
import io.chariots.client.Chariots;
import io.chariots.client.Draft;
import io.chariots.client.Event;
import io.chariots.client.LogEntry;
import io.chariots.client.RawBatcher;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.proto.Role;
import io.chariots.testkit.ChildProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.math.BigInteger;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * The Python and Node.js client libraries (clients/) and the test-scripts toolbox against one real
 * multi-process cluster: each client's unit tests and integration suite run as child processes
 * (app URL and batcher address in CHARIOTS_URL / CHARIOTS_BATCHER), a chain is appended
 * alternately by the Java client and the two CLIs over HTTP and raw TCP, and every script is run and its effect
 * checked. python3 and node must be installed (CI installs them): without them these tests fail.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClientLibrariesTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration CHILD_TIMEOUT = Duration.ofMinutes(3);
    static final BigInteger TWO_63 = BigInteger.ONE.shiftLeft(63);

    @TempDir
    static Path dir;

    final Path root = repoRoot();
    final Random random = new Random();
    LocalCluster cluster;
    String url;
    String batcher;
    static final String TOKEN = "client-token-of-the-libraries-test";

    @RegisterExtension
    final TestExecutionExceptionHandler report = (ctx, t) -> {
        if (cluster != null) {
            System.err.println("Test " + ctx.getDisplayName() + " failed; " + cluster.describe());
        }
        throw t;
    };

    @BeforeAll
    void startCluster() throws Exception {
        // The cluster requires a client token: every client below shows it, in all three languages.
        cluster = LocalCluster.spec().workDir(dir.resolve("cluster")).setting("client_token", TOKEN).start();
        cluster.awaitRegistered(Duration.ofSeconds(90));
        url = cluster.appUrl(0);
        batcher = "127.0.0.1:" + cluster.get(Role.BATCHER, 0).ports().main();
    }

    @AfterAll
    void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    // ------------------------------------------------------------ the client suites

    @Test
    void pythonUnitTests() throws Exception {
        require("python3");
        run("python3", "-m", "unittest", "discover", "-v", "-s", "clients/python/tests").ok();
    }

    @Test
    void pythonClientAgainstTheCluster() throws Exception {
        require("python3");
        Result r = run("python3", "-m", "unittest", "discover", "-v", "-s", "clients/python/integration").ok();
        assertThat(r.err).contains("Ran 3 tests").contains("OK");
    }

    @Test
    void nodeUnitTests() throws Exception {
        require("node");
        run("node", "--test", "clients/node/test/").ok();
    }

    @Test
    void nodeClientAgainstTheCluster() throws Exception {
        require("node");
        Result r = run("node", "--test", "clients/node/integration/").ok();
        assertThat(r.out).contains("# pass 3").contains("# fail 0");
    }

    @Test
    void pythonPackageBuildsOfflineAndInstalls() throws Exception {
        require("python3");
        // The in-tree PEP 517 backend (standard library only) builds the wheel pip would build.
        Path wheels = Files.createDirectories(dir.resolve("wheels"));
        String name = run("python3", "-c", "import sys; sys.path.insert(0, 'clients/python/_build'); import chariots_build as b;"
                + " print(b.build_wheel(sys.argv[1]))", wheels.toString()).ok().out.trim();
        assertThat(name).isEqualTo("chariots-0.1.0-py3-none-any.whl");
        Path site = dir.resolve("site");
        if (run("python3", "-m", "pip", "--version").code == 0) {
            // What the README says: pip, offline, from the directory.
            run("python3", "-m", "pip", "install", "--no-index", "--disable-pip-version-check", "-q", "--target", site.toString(),
                    "./clients/python").ok();
        } else {
            run("python3", "-c", "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])",
                    wheels.resolve(name).toString(), site.toString()).ok();
        }
        assertThat(site.resolve("chariots-0.1.0.dist-info/RECORD")).exists();
        Result r = run("python3", "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]); import chariots;"
                + " print(chariots.tag_hash('k1', 'v1'), chariots.__file__)", site.toString()).ok();
        assertThat(r.out.trim()).isEqualTo("9489172654252433228 " + site.resolve("chariots/__init__.py"));
    }

    // ------------------------------------------------------------ CLIs, alternately

    @Test
    void aChainAppendedAlternatelyByTheJavaPythonAndNodeClients() throws Exception {
        require("python3");
        require("node");
        BigInteger seed = TWO_63.add(BigInteger.valueOf(random.nextLong() >>> 2));
        String run = Long.toHexString(random.nextLong());
        String[] py = {"python3", "-m", "chariots"};
        String[] js = {"node", "clients/node/bin/chariots.js"};
        String[] java = {};
        List<JsonNode> chain = new ArrayList<>();
        // Java (durable, HTTP), Python (HTTP), Node (HTTP), Java (raw TCP), Python (raw TCP), Node (raw TCP):
        // each link caused by the previous one's non-ASCII tag.
        String[][] steps = {java, py, js, java, py, js};
        try (Chariots log = Chariots.builder(url).token(TOKEN).build()) {
            for (int i = 0; i < steps.length; i++) {
                String lang = steps[i] == java ? "java" : steps[i] == py ? "python" : "node";
                Map<String, String> tags = Map.of("lang", lang, "step", Integer.toString(i), "run", run, "ü", "ß" + i);
                JsonNode ev;
                if (steps[i] == java) {
                    Draft d = Draft.of(tags);
                    if (i == 0) {
                        d.seed(seed.longValue());
                    } else {
                        LogEntry cause = log.get(chain.get(i - 1).get("lid").asLong()).orElseThrow();
                        d.causedBy(Cause.causedBy(cause, "ü"));
                    }
                    Event e;
                    if (i < 3) {
                        e = log.appendDurable(d);
                    } else {
                        try (RawBatcher raw = RawBatcher.connect("127.0.0.1",
                                cluster.get(Role.BATCHER, 0).ports().main(), TOKEN)) {
                            e = raw.send(d);
                        }
                    }
                    ev = JSON.createObjectNode().put("id", e.id()).put("seed", new BigInteger(e.seedText()));
                } else {
                    List<String> cmd = new ArrayList<>(List.of(steps[i]));
                    cmd.add(i < 3 ? "append" : "send");
                    cmd.addAll(List.of("--tags", JSON.writeValueAsString(tags)));
                    cmd.addAll(List.of("--caused-by", chain.get(i - 1).get("lid").asText() + ":ü"));
                    ev = JSON.readTree(run(cmd.toArray(String[]::new)).ok().out);
                }
                assertThat(ev.get("seed").bigIntegerValue()).as("step %d (%s) keeps the chain's seed", i, lang).isEqualTo(seed);
                long lid = awaitAppended(ev.get("id").asText());
                chain.add(((com.fasterxml.jackson.databind.node.ObjectNode) ev).put("lid", lid));
            }
        }
        JsonNode trace = JSON.readTree(get(url + "/trace/" + seed, TOKEN).body());
        List<JsonNode> recs = new ArrayList<>();
        trace.get("records").forEach(recs::add);
        assertThat(recs).hasSize(steps.length);
        for (int i = 0; i < steps.length; i++) {
            JsonNode r = recs.get(i);
            assertThat(r.get("id").asText()).isEqualTo(chain.get(i).get("id").asText());
            assertThat(r.get("seed").bigIntegerValue()).isEqualTo(seed);
            assertThat(r.get("tags").get("ü").asText()).isEqualTo("ß" + i);
            if (i == 0) {
                assertThat(r.get("causes")).isEmpty();
            } else {
                assertThat(r.get("causes").get(0).asLong()).as("step %d's cause", i).isEqualTo(chain.get(i - 1).get("lid").asLong());
                assertThat(r.get("prehash").bigIntegerValue())
                        .isEqualTo(new BigInteger(io.chariots.common.record.Unsigned64.toString(
                                io.chariots.common.record.Fnv1a64.hashTag("ü", "ß" + (i - 1)))));
            }
        }
    }

    // ------------------------------------------------------------ test-scripts

    @Test
    void everyTestScriptHelpsAndWorksAgainstTheCluster() throws Exception {
        require("python3");
        for (String s : List.of("post_record.sh", "rawpost.py", "event_chain.py", "get_by_lid", "get_by_tag", "trace", "tail", "load")) {
            Result help = runWithoutAddresses(root.resolve("test-scripts/" + s).toString(), "--help").ok();
            assertThat(help.out).as("%s --help", s).containsIgnoringCase("usage");
            assertThat(help.out).as("%s --help names the default address", s).containsAnyOf("localhost:8080", "localhost:9000");
        }
        String run = Long.toHexString(random.nextLong());
        BigInteger big = TWO_63.add(BigInteger.valueOf(random.nextLong() >>> 1));

        // post_record.sh: a JSON file
        Path file = dir.resolve("record.json");
        Files.writeString(file, "{\"id\":\"post-" + run + "\",\"tags\":{\"script\":\"post-" + run + "\"},\"seed\":" + big + "}");
        Result posted = run(root + "/test-scripts/post_record.sh", "--url", url, file.toString()).ok();
        assertThat(JSON.readTree(posted.out).get("id").asText()).isEqualTo("post-" + run);
        long postLid = awaitAppended("post-" + run);
        Files.writeString(file, "{\"tags\":{\"a\":\"b\"},\"seed\":-1}");
        Result bad = run(root + "/test-scripts/post_record.sh", "--url", url, file.toString());
        assertThat(bad.code).as("a 400 fails the script").isNotZero();
        assertThat(bad.out).contains("\"field\":\"seed\"");

        // test-scripts/wrk: the bodies of the README's "HTTP, measured again", appended whole
        for (String script : List.of("post_record.lua", "post_records_100.lua")) {
            Files.writeString(file, wrkBody(script));
            JsonNode answer = JSON.readTree(run(root + "/test-scripts/post_record.sh", "--url", url, file.toString()).ok().out);
            List<String> ids = new ArrayList<>();
            if (answer.has("ids")) {
                answer.get("ids").forEach(id -> ids.add(id.asText()));
            } else {
                ids.add(answer.get("id").asText());
            }
            assertThat(ids).as(script).hasSize(script.equals("post_record.lua") ? 1 : 100).doesNotHaveDuplicates();
            awaitAppended(ids.get(ids.size() - 1));
        }

        // rawpost.py: one 'r' frame
        run(root + "/test-scripts/rawpost.py", "--batcher", batcher,
                "{\"Id\":\"raw-" + run + "\",\"Tags\":{\"script\":\"raw-" + run + "\"},\"Seed\":" + big + ",\"Pre\":{\"Hash\":0}}").ok();
        long rawLid = awaitAppended("raw-" + run);

        // get_by_lid, get_by_tag
        JsonNode got = JSON.readTree(run(root + "/test-scripts/get_by_lid", "--url", url, Long.toString(postLid)).ok().out);
        assertThat(got.get("id").asText()).isEqualTo("post-" + run);
        assertThat(got.get("seed").bigIntegerValue()).isEqualTo(big);
        List<JsonNode> tagged = lines(run(root + "/test-scripts/get_by_tag", "--url", url, "script:raw-" + run).ok().out);
        assertThat(tagged).hasSize(1);
        assertThat(tagged.get(0).get("lid").asLong()).isEqualTo(rawLid);
        assertThat(run(root + "/test-scripts/get_by_lid", "--url", url, "999999999").code).as("a missing LId fails").isEqualTo(1);

        // event_chain.py, then trace
        Result chainRun = run(root + "/test-scripts/event_chain.py", "-n", "5", "--via", "mixed", "--wait", "--url", url,
                "--batcher", batcher).ok();
        List<JsonNode> chain = lines(chainRun.out);
        assertThat(chain).hasSize(5);
        String seed = chain.get(0).get("seed").asText();
        List<JsonNode> traced = lines(run(root + "/test-scripts/trace", "--url", url, seed).ok().out);
        assertThat(traced).extracting(n -> n.get("id").asText()).containsExactlyElementsOf(chain.stream().map(n -> n.get("id").asText()).toList());
        for (int i = 1; i < 5; i++) {
            assertThat(traced.get(i).get("causes").get(0).asLong()).isEqualTo(traced.get(i - 1).get("lid").asLong());
        }

        // tail: three consecutive records from the post's LId
        List<JsonNode> tailed = lines(run(root + "/test-scripts/tail", "--url", url, "--from", Long.toString(postLid), "-n", "3").ok().out);
        assertThat(tailed).extracting(n -> n.get("lid").asLong()).containsExactly(postLid, postLid + 1, postLid + 2);
        assertThat(tailed.get(0).get("id").asText()).isEqualTo("post-" + run);

        // load: over 's' frames and HTTP, checked in the log
        for (String via : List.of("s", "http")) {
            String tag = "load-" + via + "-" + run;
            Result load = run(root + "/test-scripts/load", "-n", "400", "-c", "2", "--via", via, "--tag", tag, "--check",
                    "--url", url, "--batcher", batcher).ok();
            assertThat(load.out).contains("sent 400 records").contains("in the log");
            JsonNode page = JSON.readTree(get(url + "/records?tag=" + URLEncoder.encode("load:" + tag + "-399", StandardCharsets.UTF_8),
                    TOKEN).body());
            assertThat(page.get("records")).hasSize(1);
        }
    }

    // ------------------------------------------------------------ client token

    @Test
    void withoutTheClientTokenNothingIsAppendedOrRead() throws Exception {
        String run = Long.toHexString(random.nextLong());
        // HTTP: 401 naming the header, counted; health and metrics stay open.
        HttpResponse<String> none = LogProbe.post(url + "/record", "{\"id\":\"no-token-" + run + "\"}");
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.headers().firstValue("WWW-Authenticate")).contains("Bearer realm=\"chariots\"");
        assertThat(none.body()).contains("no client token").contains("Authorization: Bearer");
        HttpResponse<String> wrong = LogProbe.HTTP.send(HttpRequest.newBuilder(URI.create(url + "/record"))
                .header("Authorization", "Bearer not-the-token-of-this-cluster")
                .POST(HttpRequest.BodyPublishers.ofString("{\"id\":\"wrong-token-" + run + "\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(wrong.body()).contains("a wrong client token");
        assertThat(get(url + "/records?from=1", null).statusCode()).as("reads too").isEqualTo(401);
        assertThat(get(url + "/health", null).statusCode()).isEqualTo(200);
        assertThat(get(url + "/records?from=1", TOKEN).statusCode()).isEqualTo(200);

        // gRPC reads: UNAUTHENTICATED without the token, served with it.
        io.grpc.ManagedChannel ch = LocalCluster.channel(null, "127.0.0.1", cluster.get(Role.APP, 0).ports().grpc());
        try {
            io.chariots.proto.TailRequest from1 = io.chariots.proto.TailRequest.newBuilder().setFromLid(1).setMaxBatch(1).build();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> io.chariots.proto.ReaderGrpc.newBlockingStub(ch)
                    .withDeadlineAfter(10, TimeUnit.SECONDS).tail(from1).next())
                    .isInstanceOfSatisfying(io.grpc.StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.UNAUTHENTICATED);
                        assertThat(e.getStatus().getDescription()).contains("no client token");
                    });
            io.grpc.Metadata h = new io.grpc.Metadata();
            h.put(io.grpc.Metadata.Key.of("authorization", io.grpc.Metadata.ASCII_STRING_MARSHALLER), "Bearer " + TOKEN);
            try (Chariots log = Chariots.builder(url).token(TOKEN).build()) {
                log.appendDurable(Map.of("token", run));
            }
            assertThat(io.chariots.proto.ReaderGrpc.newBlockingStub(ch).withInterceptors(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(h))
                    .withDeadlineAfter(10, TimeUnit.SECONDS).tail(from1).next().getRecordsCount()).isEqualTo(1);
        } finally {
            ch.shutdownNow();
        }

        // Raw TCP: a client that never shows a token (any GoChariots client) has its connection closed, nothing taken;
        // an acknowledged client with a wrong token is told why.
        int port = cluster.get(Role.BATCHER, 0).ports().main();
        try (RawBatcher old = RawBatcher.connect("127.0.0.1", port)) {
            old.send(Draft.of(Map.of("k", "v")).id("tcp-no-token-" + run));
            old.flush();
        } catch (RuntimeException closedUnderUs) {
            // the batcher may have closed the connection before the flush: that is the point
        }
        try (AcknowledgementsTest.AckedClient acked = new AcknowledgementsTest.AckedClient(port)) {
            acked.send('A', "{\"acks\":1,\"token\":\"not-the-token-of-this-cluster\"}");
            String answer = acked.next();
            assertThat(answer).startsWith("A");
            assertThat(JSON.readTree(answer.substring(1)).path("error").asText()).contains("a wrong client token").contains("\"token\"");
        }
        try (AcknowledgementsTest.AckedClient acked = new AcknowledgementsTest.AckedClient(port)) {
            acked.send('A', "{\"acks\":1,\"token\":\"" + TOKEN + "\"}");
            assertThat(acked.next()).startsWith("A");
            acked.send('r', "{\"id\":\"tcp-token-" + run + "\"}");
            assertThat(acked.nextAnswer().path("results").get(0).path("lid").asLong()).isPositive();
        }
        Thread.sleep(1000); // the refused record would have landed by now
        HttpResponse<String> status = get(url + "/record?id=tcp-no-token-" + run, TOKEN);
        assertThat(status.statusCode()).as(status.body()).isEqualTo(404);
        assertThat(get(url + "/record?id=no-token-" + run, TOKEN).statusCode()).isEqualTo(404);
        String batcherMetrics = get("http://127.0.0.1:" + cluster.get(Role.BATCHER, 0).ports().admin() + "/metrics", null).body();
        assertThat(batcherMetrics).containsPattern("chariots_client_token_refused_total\\{edge=\"tcp\",.*reason=\"missing\".*} [1-9]")
                .containsPattern("chariots_client_token_refused_total\\{edge=\"tcp\",.*reason=\"wrong\".*} [1-9]");
        assertThat(Files.readString(cluster.get(Role.BATCHER, 0).log())).contains("sent before a client token from /127.0.0.1:");
    }

    @Test
    void wrkRunsTheScriptsWithTheTokenAndEveryAnswerIsA2xx() throws Exception {
        // CI installs wrk (.ci/run); without it the scripts' bodies are still appended by the test above.
        Assumptions.assumeTrue(installed("wrk"), "wrk is not installed (apt-get install -y wrk)");
        for (String script : List.of("post_record.lua", "post_records_100.lua")) {
            Result r = run("wrk", "-t1", "-c2", "-d1s", "-s", root.resolve("test-scripts/wrk/" + script).toString(),
                    url + "/record").ok(); // CHARIOTS_TOKEN in its environment: the script sends it
            assertThat(r.out).as(script).containsPattern("\\n\\s*[1-9][0-9]* requests in").doesNotContain("Non-2xx");
        }
    }

    /** The body a wrk script sends. */
    String wrkBody(String script) throws IOException {
        Matcher m = Pattern.compile("wrk\\.body = \\[==\\[(.*)]==]")
                .matcher(Files.readString(root.resolve("test-scripts/wrk/" + script)));
        assertThat(m.find()).as("%s sets wrk.body", script).isTrue();
        return m.group(1);
    }

    static boolean installed(String tool) throws InterruptedException {
        return ChildProcess.command(List.of("sh", "-c", "command -v " + tool)).run(Duration.ofSeconds(30)).exit() == 0;
    }

    static HttpResponse<String> get(String url, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return LogProbe.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    // ------------------------------------------------------------ helpers

    /** The record's LId once GET /record?id= says it is appended. */
    long awaitAppended(String id) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String q = url + "/record?id=" + URLEncoder.encode(id, StandardCharsets.UTF_8);
        while (true) {
            HttpResponse<String> r = LogProbe.HTTP.send(HttpRequest.newBuilder(URI.create(q)).timeout(Duration.ofSeconds(5))
                    .header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
                JsonNode s = JSON.readTree(r.body());
                if ("appended".equals(s.get("status").asText())) {
                    return s.get("lid").asLong();
                }
                assertThat(s.get("status").asText()).as("record %s: %s", id, r.body()).isNotEqualTo("rejected");
            }
            if (System.nanoTime() > deadline) {
                fail("record " + id + " not appended within 60 s: " + r.statusCode() + " " + r.body());
            }
            Thread.sleep(50);
        }
    }

    static List<JsonNode> lines(String out) throws IOException {
        List<JsonNode> l = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (!line.isBlank()) {
                l.add(JSON.readTree(line));
            }
        }
        return l;
    }

    record Result(List<String> cmd, int code, String out, String err) {
        Result ok() {
            if (code != 0) {
                fail(String.join(" ", cmd) + " exited with " + code + "\n--- stdout ---\n" + out + "\n--- stderr ---\n" + err);
            }
            return this;
        }
    }

    /** Runs a command in the repository root with the cluster's addresses in the environment. */
    Result run(String... cmd) throws Exception {
        return run(true, cmd);
    }

    /** Runs a command with no CHARIOTS_URL / CHARIOTS_BATCHER: it sees the defaults of ./chariots up. */
    Result runWithoutAddresses(String... cmd) throws Exception {
        return run(false, cmd);
    }

    Result run(boolean addresses, String... cmd) throws Exception {
        ChildProcess.Spec spec = ChildProcess.command(List.of(cmd)).directory(root)
                .unsetEnv("CHARIOTS_URL").unsetEnv("CHARIOTS_BATCHER").unsetEnv("CHARIOTS_TOKEN")
                .env("PYTHONPATH", root.resolve("clients/python").toString())
                .env("PYTHONIOENCODING", "utf-8").env("NO_COLOR", "1");
        if (addresses) {
            spec.env("CHARIOTS_URL", url).env("CHARIOTS_BATCHER", batcher).env("CHARIOTS_TOKEN", TOKEN);
        }
        ChildProcess.Finished f = spec.run(CHILD_TIMEOUT);
        return new Result(f.command(), f.exit(), f.out(), f.err());
    }

    /** Fails (never skips) when a tool the clients need is missing. */
    static void require(String tool) throws InterruptedException {
        if (installed(tool)) {
            return;
        }
        fail(tool + " is not installed (or not on the PATH): the client library tests need it. CI installs it (.ci/run);"
                + " on Debian: apt-get install -y " + (tool.equals("node") ? "nodejs" : tool));
    }

    static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("clients/python/chariots"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find the repository root (with clients/python) above " + Path.of("").toAbsolutePath());
        }
        return p;
    }

}
