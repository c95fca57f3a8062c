package io.chariots.launcher;

import io.chariots.proto.Role;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.Map;

/** The queue adds {@code --hold}: this queue creates the token. */
@Command
final class QueueCommand extends RoleCommand {
    @Option(names = "--hold", negatable = true, description = "Start with the token (exactly one queue of a ring does).")
    Boolean hold;

    QueueCommand(Starter starter) {
        super(Role.QUEUE, starter);
    }

    @Override
    Map<String, Object> flags() {
        Map<String, Object> m = super.flags();
        put(m, "hold", hold);
        return m;
    }
}
