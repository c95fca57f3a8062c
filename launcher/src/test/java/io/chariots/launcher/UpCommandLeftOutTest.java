package io.chariots.launcher;

import io.chariots.common.runtime.DataDir;
import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.proto.Role;
import io.chariots.queue.Queue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Which instances `up` with fewer of a role than recorded would leave out with data the log needs. */
class UpCommandLeftOutTest {
    @TempDir
    Path dir;

    @Test
    void aQueuesLockAndDedupMemoryAreNotDataTheLogNeedsButAMaintainersStoreIs() throws Exception {
        LocalCluster.Spec spec = LocalCluster.spec().defaultPorts(true).workDir(dir).queues(1).maintainers(1);
        Path queue2 = spec.dataDir(Role.QUEUE, 1);
        Files.createDirectories(queue2);
        Files.writeString(queue2.resolve(DataDir.LOCK_FILE), "");
        Files.writeString(queue2.resolve(Queue.MEMORY_FILE), "kept");
        Files.writeString(queue2.resolve(Queue.MEMORY_FILE + ".tmp"), "cut short");
        assertThat(UpCommand.leftOut(spec)).as("a second queue left out").isEmpty();

        Files.writeString(queue2.resolve("something-else"), "?");
        assertThat(UpCommand.leftOut(spec)).extracting(UpCommand.LeftOut::role).containsExactly(Role.QUEUE);

        Path maintainer2 = spec.dataDir(Role.MAINTAINER, 1);
        Files.createDirectories(maintainer2);
        Files.writeString(maintainer2.resolve(DataDir.LOCK_FILE), "");
        assertThat(UpCommand.leftOut(spec)).extracting(UpCommand.LeftOut::role).containsExactly(Role.QUEUE);
        Files.writeString(maintainer2.resolve("CURRENT"), "MANIFEST-000001");
        assertThat(UpCommand.leftOut(spec)).extracting(UpCommand.LeftOut::role).containsExactly(Role.MAINTAINER, Role.QUEUE);
    }
}
