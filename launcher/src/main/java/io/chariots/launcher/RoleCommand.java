package io.chariots.launcher;

import io.chariots.common.config.ConfigException;
import io.chariots.common.config.RoleConfig;
import io.chariots.common.config.Settings;
import io.chariots.common.runtime.FatalErrors;
import io.chariots.proto.Role;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * Runs one role in this JVM until SIGTERM/SIGINT. Settings come from, lowest
 * first: built-in defaults, the {@code -f} YAML file, {@code CHARIOTS_*}
 * environment variables, then these flags.
 */
@Command(mixinStandardHelpOptions = true, sortOptions = false,
        footer = {"", "Settings, lowest precedence first: defaults, -f file, CHARIOTS_<KEY> environment variables, flags."})
public class RoleCommand implements Callable<Integer> {
    /** Starts a role from its resolved config. */
    @FunctionalInterface
    interface Starter {
        AutoCloseable start(RoleConfig config) throws Exception;
    }

    private final Role role;
    private final Starter starter;

    @Spec
    CommandSpec spec;

    @Option(names = {"-p", "--port"}, description = "Main port (default: ${DEFAULT-VALUE:-the role's GoChariots port}).")
    Integer port;

    @Option(names = {"-f", "--config"}, description = "YAML config file (GoChariots keys: controller, num_dc, id).")
    Path config;

    @Option(names = "--controller", description = "Controller HTTP address host:port (default 127.0.0.1:8081).")
    String controller;

    @Option(names = "--controller-grpc", description = "Controller gRPC address (default: controller host, HTTP port + 1000).")
    String controllerGrpc;

    @Option(names = "--num_dc", description = "Number of datacenters (default 1).")
    Integer numDc;

    @Option(names = "--id", description = "This datacenter's id, below num_dc (default 0).")
    Integer id;

    @Option(names = "--bind", description = "Address to listen on (default 0.0.0.0).")
    String bind;

    @Option(names = "--advertise", description = "Host other roles use to reach this one (default: the address that reaches the controller).")
    String advertise;

    @Option(names = "--admin-port", description = "HTTP port of /health and /metrics (default: port + 100; app and controller: their own port).")
    Integer adminPort;

    @Option(names = "--grpc-port", description = "gRPC port (default: the main port; batcher and controller: port + 1000).")
    Integer grpcPort;

    @Option(names = "--data-dir", description = "Data directory (default data/ROLE-PORT).")
    Path dataDir;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Any other setting, e.g. --set batcher.linger_ms=2.")
    Map<String, String> extra = new LinkedHashMap<>();

    @Option(names = "-i", description = "Log at INFO (the default).")
    boolean info;

    @Option(names = "-d", description = "Log at DEBUG.")
    boolean debug;

    RoleCommand(Role role, Starter starter) {
        this.role = role;
        this.starter = starter;
    }

    /** Flags given on the command line, as settings. */
    Map<String, Object> flags() {
        Map<String, Object> m = new LinkedHashMap<>(extra);
        put(m, "port", port);
        put(m, "controller", controller);
        put(m, "controller_grpc", controllerGrpc);
        put(m, "num_dc", numDc);
        put(m, "id", id);
        put(m, "bind", bind);
        put(m, "advertise", advertise);
        put(m, "admin_port", adminPort);
        put(m, "grpc_port", grpcPort);
        put(m, "data_dir", dataDir);
        return m;
    }

    /** The role's config from, lowest first: defaults, the {@code -f} file, {@code env}, the flags parsed. */
    /** The {@code -f} file given, or null. */
    public Path configFile() {
        return config;
    }

    /** Replaces the {@code -f} file (a test resolving a deployment's command line against the file it would mount). */
    public void configFile(Path file) {
        config = file;
    }

    /** The role's settings from these flags, the {@code -f} file and {@code env}'s CHARIOTS_* variables. */
    public RoleConfig resolve(Map<String, String> env) {
        Settings s = config != null ? Settings.fromYaml(config) : Settings.empty();
        s = s.overlay(Settings.fromEnvironment(env)).overlay(Settings.of(flags(), "command line"));
        return RoleConfig.resolve(role, s);
    }

    static void put(Map<String, Object> m, String key, Object v) {
        if (v != null) {
            m.put(key, v);
        }
    }

    @Override
    public Integer call() throws Exception {
        String name = RoleConfig.roleName(role);
        if (System.getProperty("chariots.role") == null) {
            System.setProperty("chariots.role", name);
        }
        System.setProperty("chariots.log.level", debug ? "DEBUG" : "INFO");
        RoleConfig cfg;
        try {
            cfg = resolve(System.getenv());
        } catch (ConfigException e) {
            spec.commandLine().getErr().println("chariots " + name + ": " + e.getMessage());
            return 2;
        }
        FatalErrors.install();
        AutoCloseable running;
        try {
            running = starter.start(cfg);
        } catch (java.net.BindException e) {
            spec.commandLine().getErr().println("chariots " + name + ": cannot listen (" + e.getMessage()
                    + "); is another process using port " + cfg.port() + ", " + cfg.adminPort() + " or " + cfg.grpcPort() + "?");
            return 1;
        } catch (Exception e) {
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            spec.commandLine().getErr().println("chariots " + name + ": failed to start: " + root);
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        PrintWriter err = spec.commandLine().getErr();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            // Said in the log because whoever sent the SIGTERM (./chariots stop) is not the parent: it cannot see the exit code.
            long t0 = System.nanoTime();
            try {
                running.close();
                err.printf("chariots %s: stopped cleanly in %d ms%n", name, (System.nanoTime() - t0) / 1_000_000);
            } catch (Exception e) {
                err.printf("chariots %s: error while stopping (exiting anyway): %s%n", name, e);
            }
            err.flush();
            stopped.countDown();
        }, "shutdown"));
        stopped.await();
        return 0;
    }
}
