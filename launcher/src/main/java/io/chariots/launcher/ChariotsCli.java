package io.chariots.launcher;

import io.chariots.app.App;
import io.chariots.batcher.Batcher;
import io.chariots.controller.Controller;
import io.chariots.filter.Filter;
import io.chariots.indexer.Indexer;
import io.chariots.maintainer.Maintainer;
import io.chariots.proto.Role;
import io.chariots.queue.Queue;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/**
 * {@code chariots <role> [options]} runs one role in this JVM;
 * {@code chariots up|down|status} manage a local cluster of them, and
 * {@code chariots stop|kill|pause|resume|start|restart ROLE#N} one of its instances;
 * {@code chariots bench|bench-read} measure one, {@code chariots bench-index} the indexer's store alone,
 * {@code chariots bench-ids} a queue's filter of recent ids alone, and
 * {@code chariots chaos} injects faults into a cluster of its own.
 */
@Command(name = "chariots", mixinStandardHelpOptions = true, version = "Chariots 0.1.0",
        description = "A distributed shared log for event chains.",
        footer = {"", "Run 'chariots <command> --help' for a command's options."})
public final class ChariotsCli implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** The command tree: one subcommand per role, then the local-cluster and instance commands, then the benchmarks. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new ChariotsCli());
        add(cli, Role.CONTROLLER, "The membership registry (HTTP 8081, gRPC 9081).", new RoleCommand(Role.CONTROLLER, Controller::start));
        add(cli, Role.APP, "The HTTP front (8080).", new RoleCommand(Role.APP, App::start));
        add(cli, Role.BATCHER, "Raw TCP ingest and batching (9000).", new RoleCommand(Role.BATCHER, Batcher::start));
        add(cli, Role.FILTER, "Deduplication in front of the queues (9010).", new RoleCommand(Role.FILTER, Filter::start));
        add(cli, Role.QUEUE, "A queue of the token ring (9020).", new QueueCommand(Queue::start));
        add(cli, Role.MAINTAINER, "Persists records in its flstore (9030).", new RoleCommand(Role.MAINTAINER, Maintainer::start));
        add(cli, Role.INDEXER, "The tag index (9040).", new RoleCommand(Role.INDEXER, Indexer::start));
        cli.addSubcommand(new UpCommand());
        cli.addSubcommand(new LocalClusterCommands.Down());
        cli.addSubcommand(new LocalClusterCommands.StatusCommand());
        cli.addSubcommand(new MemberCommands.Stop());
        cli.addSubcommand(new MemberCommands.Kill());
        cli.addSubcommand(new MemberCommands.Pause());
        cli.addSubcommand(new MemberCommands.Resume());
        cli.addSubcommand(new MemberCommands.Start());
        cli.addSubcommand(new MemberCommands.Restart());
        cli.addSubcommand(new SecretCommands.NewSecret());
        cli.addSubcommand(new SecretCommands.Token());
        cli.addSubcommand(new SecretCommands.Certs());
        cli.addSubcommand(new BenchCommand());
        cli.addSubcommand(new ReadBenchCommand());
        cli.addSubcommand(new IndexBenchCommand());
        cli.addSubcommand(new IdsBenchCommand());
        cli.addSubcommand(new SimulateCommand());
        cli.addSubcommand(new ChaosCommand());
        cli.addSubcommand(new FuzzCommand());
        return cli;
    }

    private static void add(CommandLine cli, Role role, String description, RoleCommand cmd) {
        CommandLine sub = new CommandLine(cmd);
        sub.getCommandSpec().usageMessage().description(description);
        cli.addSubcommand(io.chariots.common.config.RoleConfig.roleName(role), sub);
    }

    public static void main(String[] args) {
        int code = commandLine().execute(args);
        System.exit(code);
    }
}
