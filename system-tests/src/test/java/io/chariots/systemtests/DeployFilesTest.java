package io.chariots.systemtests;

import io.chariots.common.config.RoleConfig;
import io.chariots.common.runtime.DataDir;
import io.chariots.launcher.ChariotsCli;
import io.chariots.launcher.RoleCommand;
import io.chariots.launcher.cluster.ClusterStateFile;
import io.chariots.proto.Role;
import io.chariots.testkit.ChildProcess;
import io.chariots.testkit.FreePorts;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The files in {@code deploy/} checked against the real tools that will read
 * them — docker-compose, the docker CLI's stack loader, HAProxy — and every
 * command line in them parsed by Chariots' own CLI and resolved into a role
 * config, so a renamed flag, a wrong port or an unmounted data directory
 * fails here rather than in somebody's Swarm.
 */
class DeployFilesTest {
    static final Path ROOT = ClientLibrariesTest.repoRoot();
    static final Path DEPLOY = ROOT.resolve("deploy");
    static final Set<String> SERVICES = Set.of("controller", "app", "batcher", "batcher_lb", "filter", "queue-leader", "queue",
            "maintainer", "indexer");
    static final String CONFIG_IN_IMAGE = "/etc/chariots/config.yaml";
    static final String SECRET_IN_IMAGE = "/run/secrets/chariots_cluster_secret";

    @TempDir
    Path tmp;

    @Test
    void composeFileIsValidForDockerComposeAndEveryCommandLineParses() throws Exception {
        String resolved = run(List.of("docker-compose", "-f", DEPLOY.resolve("docker-compose.yaml").toString(), "config"),
                "docker-compose");
        Map<String, Object> compose = new Yaml().load(resolved);
        Map<String, Object> services = map(compose, "services");
        assertThat(services.keySet()).isEqualTo(SERVICES);

        for (String name : SERVICES) {
            Map<String, Object> svc = map(services, name);
            List<String> volumes = new ArrayList<>();
            for (Object v : list(svc, "volumes")) {
                volumes.add(String.valueOf(v));
            }
            if (name.equals("batcher_lb")) {
                checkBalancer(svc, "batcher", services.keySet());
                assertThat(volumes).anySatisfy(v -> assertThat(v).isEqualTo(DEPLOY.resolve("haproxy") + ":/usr/local/etc/haproxy:ro"));
                continue;
            }
            assertThat(String.valueOf(svc.get("image"))).isEqualTo("chariots:latest");
            assertThat(volumes).as(name + ": the config directory is mounted where -f looks")
                    .contains(DEPLOY.resolve("config") + ":/etc/chariots:ro");
            RoleConfig cfg = checkRole(name, svc);
            if (cfg.role() != Role.CONTROLLER) {
                assertThat(map(map(svc, "depends_on"), "controller").get("condition")).isEqualTo("service_healthy");
            }
            checkDataVolume(name, cfg, volumes.stream().filter(v -> !v.contains("/etc/chariots")).map(v -> v.split(":")[1]).toList(),
                    volumes.stream().filter(v -> !v.contains("/etc/chariots")).map(v -> v.split(":")[0]).toList(),
                    map(compose, "volumes").keySet());
        }
        assertThat(publishedPorts(map(services, "controller"))).containsExactly(8081);
        assertThat(publishedPorts(map(services, "app"))).containsExactly(8080);
        assertThat(publishedPorts(map(services, "batcher"))).as("batchers are reached through batcher_lb only").isEmpty();
        Map<String, Object> build = map(map(services, "controller"), "build");
        assertThat(Path.of(String.valueOf(build.get("context")))).isEqualTo(ROOT);
        assertThat(ROOT.resolve(String.valueOf(build.get("dockerfile")))).isEqualTo(DEPLOY.resolve("Dockerfile")).exists();
    }

    @Test
    void stackFileIsValidForDockerStackDeployAndEveryCommandLineParses() throws Exception {
        Map<String, Object> stack = new Yaml().load(Files.readString(DEPLOY.resolve("docker-stack.yaml")));
        Map<String, Object> services = map(stack, "services");
        assertThat(services.keySet()).isEqualTo(SERVICES);
        assertThat(map(map(stack, "networks"), "chariots").get("driver")).isEqualTo("overlay");
        Map<String, Object> configs = map(stack, "configs");
        assertThat(DEPLOY.resolve(String.valueOf(map(configs, "chariots_config").get("file")))).exists();
        assertThat(DEPLOY.resolve(String.valueOf(map(configs, "haproxy_config").get("file"))).normalize()).isEqualTo(DEPLOY.resolve("haproxy/haproxy.cfg"));

        for (String name : SERVICES) {
            Map<String, Object> svc = map(services, name);
            assertThat(list(svc, "networks")).as(name).containsExactly("chariots");
            assertThat(map(svc, "deploy").get("replicas")).as(name + " replicas").isInstanceOf(Integer.class);
            if (name.equals("batcher_lb")) {
                checkBalancer(svc, "tasks.batcher", services.keySet());
                assertThat(list(map(map(svc, "deploy"), "placement"), "constraints")).containsExactly("node.role == manager");
                assertThat(map(list(svc, "configs").get(0)).get("target")).isEqualTo("/usr/local/etc/haproxy/haproxy.cfg");
                continue;
            }
            assertThat(String.valueOf(svc.get("image"))).isEqualTo("${CHARIOTS_IMAGE:-chariots:latest}");
            Map<String, Object> config = map(list(svc, "configs").get(0));
            assertThat(config).containsEntry("source", "chariots_config").containsEntry("target", CONFIG_IN_IMAGE);
            RoleConfig cfg = checkRole(name, svc);
            List<String> targets = new ArrayList<>();
            List<String> sources = new ArrayList<>();
            for (Object v : list(svc, "volumes")) {
                sources.add(String.valueOf(v).split(":")[0]);
                targets.add(String.valueOf(v).split(":")[1]);
            }
            checkDataVolume(name, cfg, targets, sources, map(stack, "volumes").keySet());
        }
        assertThat(map(map(services, "batcher"), "deploy").get("replicas")).isEqualTo(2);
        checkSecretFile(stack);
        assertThat(publishedPorts(map(services, "controller"))).containsExactly(8081);
        assertThat(publishedPorts(map(services, "app"))).containsExactly(8080);
    }

    @Test
    void stackFileLoadsInTheDockerCliStackLoader() throws Exception {
        Assumptions.assumeTrue(ChildProcess.onPath("docker"), "the docker CLI is not installed here; the stack file's structure"
                + " and command lines are still checked by stackFileIsValidForDockerStackDeployAndEveryCommandLineParses");
        String resolved = run(List.of("docker", "stack", "config", "-c", DEPLOY.resolve("docker-stack.yaml").toString()), "docker");
        Map<String, Object> services = map(new Yaml().<Map<String, Object>>load(resolved), "services");
        assertThat(services.keySet()).isEqualTo(SERVICES);
        // A typo'd key is refused by the same loader (so the check above can fail).
        Path bad = tmp.resolve("bad-stack.yaml");
        Files.writeString(bad, Files.readString(DEPLOY.resolve("docker-stack.yaml")).replace("stop_grace_period:", "stop_grace_periode:"));
        ChildProcess.Finished refused = ChildProcess.command(List.of("docker", "stack", "config", "-c", bad.toString()))
                .run(Duration.ofSeconds(60));
        assertThat(refused.exit()).as(refused.describe()).isNotZero();
        assertThat(refused.out() + refused.err()).contains("stop_grace_periode");
    }

    @Test
    void haproxyConfigIsValidAndPointsAtTheBatchersPorts() throws Exception {
        run(List.of("haproxy", "-c", "-f", DEPLOY.resolve("haproxy/haproxy.cfg").toString()), "haproxy");
        String cfg = Files.readString(DEPLOY.resolve("haproxy/haproxy.cfg"));
        assertThat(defaultOf(cfg, "BATCHER_PORT")).isEqualTo(Integer.toString(RoleConfig.defaultPort(Role.BATCHER)));
        assertThat(defaultOf(cfg, "BATCHER_HEALTH_PORT"))
                .isEqualTo(Integer.toString(RoleConfig.defaultAdminPort(Role.BATCHER, RoleConfig.defaultPort(Role.BATCHER))));
        assertThat(defaultOf(cfg, "LB_BIND")).isEqualTo(":9000");
        assertThat(cfg).contains("mode tcp").contains("resolvers docker").contains("http-check send meth GET uri /health");
    }

    @Test
    void dockerfileBuildsOneNonRootImageWithAHealthCheckAndADataVolume() throws Exception {
        List<String> lines = instructions(Files.readString(DEPLOY.resolve("Dockerfile")));
        assertThat(lines).filteredOn(l -> l.startsWith("FROM ")).hasSize(2);
        assertThat(lines).contains("USER chariots", "VOLUME [\"/data\"]", "WORKDIR /data", "ENTRYPOINT [\"chariots\"]");
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("HEALTHCHECK ").endsWith("CMD [\"chariots-health\"]"));
        assertThat(lines).anySatisfy(l -> assertThat(l).contains("CHARIOTS_HEALTH_FILE=/tmp/chariots.health"));
        for (String l : lines) {
            if (l.startsWith("COPY ") && !l.contains("--from=")) {
                String[] parts = l.substring(5).trim().split("\\s+");
                for (int i = 0; i < parts.length - 1; i++) {
                    if (!parts[i].equals(".")) {
                        assertThat(ROOT.resolve(parts[i])).as("COPY source %s", parts[i]).exists();
                    }
                }
            }
        }
        // The jar the build stage copies is the one the launcher module builds, and the one ./chariots runs.
        assertThat(lines).anySatisfy(l -> assertThat(l).contains("launcher/target/chariots.jar"));
        assertThat(Files.readString(ROOT.resolve("launcher/pom.xml"))).contains("<finalName>chariots</finalName>");
        assertThat(Files.readString(ROOT.resolve("chariots"))).contains("jar=\"launcher/target/chariots.jar\"");
        assertThat(ROOT.resolve("deploy/docker/chariots")).isExecutable();
        assertThat(ROOT.resolve("deploy/docker/chariots-health")).isExecutable();
        assertThat(Files.readString(ROOT.resolve(".dockerignore"))).contains("run").contains("**/target");
    }

    @Test
    void imageEntrypointRunsARoleAndTheHealthCheckFollowsIt() throws Exception {
        // The image's two scripts, run for real: the jar they start is a manifest pointing at this build's classes.
        Path jar = classpathJar(tmp.resolve("chariots.jar"));
        Path healthFile = tmp.resolve("chariots.health");
        int[] free = FreePorts.freePorts(3);
        int port = free[0];
        int admin = free[1];
        Map<String, String> env = Map.of("CHARIOTS_JAR", jar.toString(), "CHARIOTS_HEALTH_FILE", healthFile.toString(),
                "CHARIOTS_JVM_OPTS", "-Xmx128m");
        List<String> role = List.of(DEPLOY.resolve("docker/chariots").toString(), "filter", "-p", Integer.toString(port),
                "--admin-port", Integer.toString(admin), "--bind", "127.0.0.1", "--advertise", "127.0.0.1",
                "--controller", "127.0.0.1:" + free[2]);

        assertThat(health(env).code).as("before the role starts").isEqualTo(1);
        assertThat(health(env).out).contains("not serving yet");
        ChildProcess p = ChildProcess.command(role).env(env).killOnExit().start();
        try {
            Health h = awaitHealthy(env, p);
            assertThat(h.out).startsWith("HTTP/1.1 200").contains("\"status\":\"UP\"").contains("\"role\":\"filter\"");
            assertThat(healthFile).content().isEqualTo("http://127.0.0.1:" + admin + "/health\n");

            p.kill(); // the script exec'd java: this is the JVM
            Health dead = health(env);
            assertThat(dead.code).as("after SIGKILL: %s", dead.out).isEqualTo(1);
            assertThat(dead.out).contains("cannot connect");

            // Restarted with the image's own JVM options (no CHARIOTS_JVM_OPTS): a flag this JVM refused would
            // stop every container of the image from starting.
            Map<String, String> imageDefaults = new HashMap<>(env);
            imageDefaults.remove("CHARIOTS_JVM_OPTS");
            p = ChildProcess.command(role).env(imageDefaults).unsetEnv("CHARIOTS_JVM_OPTS").killOnExit().start();
            awaitHealthy(env, p);
            assertThat(ClusterStateFile.commandLine(p.pid()).orElseThrow())
                    .contains("-Xmx320m", "-XX:+UseParallelGC", "-XX:TieredStopAtLevel=1");
            p.signal("TERM"); // a clean stop takes the health file away
            assertThat(p.awaitExit(Duration.ofSeconds(20))).isTrue();
            assertThat(healthFile).doesNotExist();
            assertThat(health(env).out).contains("not serving yet");
        } finally {
            p.kill();
        }
    }

    @Test
    void imageEntrypointGivesEachRoleItsJvmOptions() throws Exception {
        // A `java` first on PATH that prints what it was given, one argument a line: the options the entrypoint
        // chose, role by role.
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path echo = bin.resolve("java");
        Files.writeString(echo, "#!/bin/sh\nprintf '%s\\n' \"$@\"\n");
        assertThat(echo.toFile().setExecutable(true)).as("made %s executable", echo).isTrue();
        Map<String, String> env = Map.of("PATH", bin + ":/usr/bin:/bin", "CHARIOTS_JAR", "/x.jar");
        Map<String, String> options = new HashMap<>();
        for (String role : List.of("controller", "batcher", "filter", "queue", "maintainer", "indexer", "app")) {
            ChildProcess.Finished f = ChildProcess.command(List.of(DEPLOY.resolve("docker/chariots").toString(), role, "-p", "1"))
                    .env(env).unsetEnv("CHARIOTS_JVM_OPTS").run(Duration.ofSeconds(10));
            assertThat(f.exit()).as(f.describe()).isZero();
            List<String> args = List.of(f.out().strip().split("\n"));
            assertThat(args).as(role).contains("-XX:+UseParallelGC").endsWith("-jar", "/x.jar", role, "-p", "1");
            options.put(role, String.join(" ", args));
        }
        options.forEach((role, line) -> {
            assertThat(line.contains("-XX:+UseTransparentHugePages")).as(role + ": " + line).isEqualTo(role.equals("queue"));
            assertThat(line.contains("-XX:TieredStopAtLevel=1")).as(role + ": " + line)
                    .isEqualTo(List.of("controller", "filter", "indexer").contains(role));
            if (role.equals("batcher")) {
                assertThat(line).as(role).contains("-Xmx256m", "-XX:MaxDirectMemorySize=384m").doesNotContain("-Xmx320m");
            } else {
                assertThat(line).as(role).contains("-Xmx320m").doesNotContain("MaxDirectMemorySize");
            }
        });
        ChildProcess.Finished replaced = ChildProcess.command(List.of(DEPLOY.resolve("docker/chariots").toString(), "queue"))
                .env(env).env("CHARIOTS_JVM_OPTS", "-Xmx64m").run(Duration.ofSeconds(10));
        assertThat(replaced.out().strip().split("\n")).containsExactly("-XX:+ExitOnOutOfMemoryError", "-Xmx64m", "-jar", "/x.jar", "queue");

        // And this JDK's JVM takes the queue's options: the real one, asked for the queue's help.
        Path jar = classpathJar(tmp.resolve("chariots.jar"));
        ChildProcess.Finished help = ChildProcess.command(List.of(DEPLOY.resolve("docker/chariots").toString(), "queue", "--help"))
                .env("CHARIOTS_JAR", jar.toString()).env("PATH", Path.of(System.getProperty("java.home"), "bin") + ":/usr/bin:/bin")
                .unsetEnv("CHARIOTS_JVM_OPTS").run(Duration.ofSeconds(60));
        assertThat(help.exit()).as(help.describe()).isZero();
        assertThat(help.out()).contains("queue");
    }

    record Health(int code, String out) {
    }

    static Health health(Map<String, String> env) throws Exception {
        ChildProcess.Finished f = ChildProcess.command(List.of(DEPLOY.resolve("docker/chariots-health").toString()))
                .env(env).run(Duration.ofSeconds(10)); // the health check answers within 10 s
        return new Health(f.exit(), f.out() + f.err());
    }

    static Health awaitHealthy(Map<String, String> env, ChildProcess role) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        Health h = health(env);
        while (h.code != 0) {
            assertThat(role.alive()).as("the role runs").isTrue();
            assertThat(System.nanoTime()).as("healthy within 60 s; last: %s", h.out).isLessThan(deadline);
            Thread.sleep(200);
            h = health(env);
        }
        return h;
    }

    /** A jar holding only a manifest: Main-Class ChariotsCli, Class-Path this test's classpath. */
    static Path classpathJar(Path jar) throws IOException {
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().put(Attributes.Name.MAIN_CLASS, ChariotsCli.class.getName());
        StringBuilder cp = new StringBuilder();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            cp.append(Path.of(entry).toUri()).append(' ');
        }
        m.getMainAttributes().put(Attributes.Name.CLASS_PATH, cp.toString().trim());
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), m)) {
            out.flush();
        }
        return jar;
    }

    // ------------------------------------------------------------ checks

    /** Parses the service's command with the real CLI and resolves it into a role config, with the shipped config file. */
    /** The Docker secret comes from deploy/secrets/cluster_secret, which git ignores. */
    static void checkSecretFile(Map<String, Object> file) throws IOException {
        Path secret = DEPLOY.resolve(String.valueOf(map(map(file, "secrets"), "chariots_cluster_secret").get("file"))).normalize();
        assertThat(secret).isEqualTo(DEPLOY.resolve("secrets/cluster_secret"));
        assertThat(Files.readAllLines(DEPLOY.resolve("secrets/.gitignore"))).contains("cluster_secret");
        assertThat(Files.readString(DEPLOY.resolve("secrets/README.md"))).contains("chariots secret > cluster_secret");
    }

    static RoleConfig checkRole(String service, Map<String, Object> svc) throws IOException {
        List<String> command = new ArrayList<>();
        list(svc, "command").forEach(o -> command.add(String.valueOf(o)));
        CommandLine cli = ChariotsCli.commandLine();
        CommandLine.ParseResult parsed;
        try {
            parsed = cli.parseArgs(command.toArray(String[]::new));
        } catch (CommandLine.ParameterException e) {
            throw new AssertionError(service + ": `chariots " + String.join(" ", command) + "` does not parse: " + e.getMessage());
        }
        assertThat(parsed.hasSubcommand()).as(service + ": names a role").isTrue();
        Object cmd = parsed.subcommand().commandSpec().userObject();
        assertThat(cmd).as(service + ": runs a role").isInstanceOf(RoleCommand.class);
        RoleCommand role = (RoleCommand) cmd;
        assertThat(role.configFile()).as(service + ": -f").isEqualTo(Path.of(CONFIG_IN_IMAGE));
        role.configFile(DEPLOY.resolve("config/config.yaml")); // what is mounted there
        // The cluster secret: a Docker secret, read through the environment, never in the config or a command line.
        Map<String, Object> env = map(svc, "environment");
        assertThat(env).as(service + ": reads the Docker secret").containsEntry("CHARIOTS_CLUSTER_SECRET_FILE", SECRET_IN_IMAGE);
        assertThat(list(svc, "secrets").stream().map(o -> o instanceof Map<?, ?> m ? m.get("source") : o).toList())
                .as(service + ": is given the Docker secret").containsExactly("chariots_cluster_secret");
        Path mounted = Files.createTempFile("cluster_secret", "");
        Files.writeString(mounted, io.chariots.common.auth.ClusterSecret.generate() + "\n");
        RoleConfig cfg = role.resolve(Map.of("CHARIOTS_CLUSTER_SECRET_FILE", mounted.toString()));
        assertThat(io.chariots.common.auth.ClusterSecret.from(cfg.settings())).as(service + ": has the cluster secret").isPresent();
        Files.delete(mounted);
        assertThat(cfg.controller().host()).as(service + ": registers with the controller by its service name").isEqualTo("controller");
        assertThat(cfg.controller().port()).isEqualTo(RoleConfig.defaultPort(Role.CONTROLLER));
        assertThat(cfg.advertiseHost()).as(service + ": advertises its own container address").isNull();
        assertThat(cfg.bindHost()).isEqualTo("0.0.0.0");
        assertThat(cfg.port()).as(service + ": default port").isEqualTo(RoleConfig.defaultPort(cfg.role()));
        String expectedRole = service.equals("queue-leader") ? "queue" : service;
        assertThat(RoleConfig.roleName(cfg.role())).isEqualTo(expectedRole);
        if (cfg.role() == Role.QUEUE) {
            assertThat(cfg.hold()).as(service + " holds the token").isEqualTo(service.equals("queue-leader"));
        }
        return cfg;
    }

    /** Maintainers and indexers keep their data on a declared named volume, one slot directory per replica. */
    static void checkDataVolume(String service, RoleConfig cfg, List<String> targets, List<String> sources, Set<String> declared) {
        if (cfg.role() != Role.MAINTAINER && cfg.role() != Role.INDEXER) {
            assertThat(targets).as(service + " keeps no data").isEmpty();
            return;
        }
        assertThat(targets).as(service + " mounts one data volume").hasSize(1);
        assertThat(cfg.dataDir().toString()).as(service + ": data on the volume").startsWith(targets.get(0) + "/")
                .contains(DataDir.SLOT);
        assertThat(declared).as(service + ": its volume is declared").contains(sources.get(0));
    }

    static void checkBalancer(Map<String, Object> svc, String batcherHost, Set<String> services) {
        assertThat(String.valueOf(svc.get("image"))).isEqualTo("haproxy:2.6");
        Map<String, Object> env = map(svc, "environment");
        assertThat(env.get("BATCHER_HOST")).isEqualTo(batcherHost);
        assertThat(services).contains(batcherHost.replace("tasks.", ""));
        assertThat(publishedPorts(svc)).contains(9000);
    }

    static List<Integer> publishedPorts(Map<String, Object> svc) {
        List<Integer> out = new ArrayList<>();
        for (Object p : list(svc, "ports")) {
            if (p instanceof Map<?, ?> m) {
                out.add(Integer.parseInt(String.valueOf(m.get("published"))));
            } else {
                String[] parts = String.valueOf(p).split(":");
                out.add(Integer.parseInt(parts[0]));
                assertThat(parts[1]).isEqualTo(parts[0]);
            }
        }
        return out;
    }

    static String defaultOf(String cfg, String var) {
        Matcher m = Pattern.compile("\\$\\{" + var + "-([^}]*)}").matcher(cfg);
        assertThat(m.find()).as("haproxy.cfg uses ${%s-default}", var).isTrue();
        return m.group(1);
    }

    /** Dockerfile instructions, continuation lines joined, comments dropped. */
    static List<String> instructions(String dockerfile) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (String line : dockerfile.split("\n")) {
            String t = line.strip();
            if (t.startsWith("#") || t.isEmpty()) {
                continue;
            }
            if (t.endsWith("\\")) {
                cur.append(t, 0, t.length() - 1).append(' ');
            } else {
                out.add(cur.append(t).toString().replaceAll("\\s+", " "));
                cur.setLength(0);
            }
        }
        return out;
    }

    /** Runs a real tool; fails naming how to install it if it is missing, or with its output if it refuses. */
    static String run(List<String> command, String debianPackage) throws Exception {
        ChildProcess.require(command.get(0), debianPackage);
        ChildProcess.Finished f = ChildProcess.command(command).run(Duration.ofSeconds(60));
        assertThat(f.exit()).as("%s refused it:\n%s", String.join(" ", command), f.err()).isZero();
        return f.out();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) {
        assertThat(o).isInstanceOf(Map.class);
        return (Map<String, Object>) o;
    }

    static Map<String, Object> map(Map<String, Object> m, String key) {
        Object v = m.get(key);
        assertThat(v).as("key %s in %s", key, m.keySet()).isInstanceOf(Map.class);
        return map(v);
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (v == null) {
            return List.of();
        }
        if (v instanceof Map<?, ?> mm) {
            return new ArrayList<>(mm.keySet()); // compose writes networks as a map
        }
        assertThat(v).as(key).isInstanceOf(List.class);
        return (List<Object>) v;
    }
}
