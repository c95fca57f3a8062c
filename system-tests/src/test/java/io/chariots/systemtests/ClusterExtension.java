package io.chariots.systemtests;

import io.chariots.launcher.cluster.LocalCluster;
import io.chariots.launcher.cluster.MultiDatacenter;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;

import java.util.ArrayList;
import java.util.List;

/**
 * Stops every cluster a test started, and prints their state (processes,
 * controller view, log tails) when the test fails.
 */
public final class ClusterExtension implements AfterEachCallback, TestExecutionExceptionHandler {
    private final List<LocalCluster> clusters = new ArrayList<>();

    /** Registers a cluster for cleanup and failure reports. */
    public LocalCluster track(LocalCluster c) {
        clusters.add(c);
        return c;
    }

    /** Registers every datacenter of {@code m} for cleanup and failure reports. */
    public MultiDatacenter track(MultiDatacenter m) {
        m.all().forEach(this::track);
        return m;
    }

    @Override
    public void handleTestExecutionException(ExtensionContext ctx, Throwable t) throws Throwable {
        for (LocalCluster c : clusters) {
            System.err.println("Test " + ctx.getDisplayName() + " failed; " + c.describe());
        }
        throw t;
    }

    @Override
    public void afterEach(ExtensionContext ctx) {
        for (LocalCluster c : clusters) {
            c.close();
        }
        clusters.clear();
    }
}
