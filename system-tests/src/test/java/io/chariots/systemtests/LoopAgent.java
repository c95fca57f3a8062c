package io.chariots.systemtests;

import com.sun.tools.attach.VirtualMachine;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * Injects faults into one thread of a running role JVM, from outside, with
 * no hook in the product: a Java agent ({@link ThreadFaultAgent}) loaded
 * through the attach API suspends, resumes or stops (an asynchronous {@link ThreadDeath}, an Error
 * like an OutOfMemoryError thrown where it stands) the thread of that name —
 * an event loop that hangs in a task, or dies.
 */
public final class LoopAgent {
    private LoopAgent() {
    }

    /** What to do to the thread. */
    public enum Act { SUSPEND, RESUME, STOP }

    /** Does {@code act} to the thread named {@code thread} in process {@code pid}. */
    public static void apply(long pid, Act act, String thread, Path workDir) throws Exception {
        Path jar = agentJar(workDir);
        VirtualMachine vm = VirtualMachine.attach(Long.toString(pid));
        try {
            vm.loadAgent(jar.toAbsolutePath().toString(), act + " " + thread);
        } finally {
            vm.detach();
        }
    }

    private static synchronized Path agentJar(Path dir) throws IOException {
        Path jar = dir.resolve("loop-agent.jar");
        if (Files.exists(jar)) {
            return jar;
        }
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().putValue("Agent-Class", ThreadFaultAgent.class.getName());
        String entry = ThreadFaultAgent.class.getName().replace('.', '/') + ".class";
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out, m);
             InputStream cls = ThreadFaultAgent.class.getClassLoader().getResourceAsStream(entry)) {
            j.putNextEntry(new JarEntry(entry));
            cls.transferTo(j);
            j.closeEntry();
        }
        return jar;
    }
}
