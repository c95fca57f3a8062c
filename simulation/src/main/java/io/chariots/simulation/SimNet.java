package io.chariots.simulation;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.function.Consumer;

/**
 * A simulated clock and network for the pipeline's cores: one thread, one
 * seeded {@link Random}, so a run is a pure function of its seed.
 *
 * <p>Time advances in events (milliseconds; cores see nanoseconds). A
 * remote call is a request and a reply, each delivered after a random delay
 * (so messages reorder) or lost with the configured probability; the caller
 * learns of a lost or unanswered call at its deadline, as from gRPC. A call
 * to a node that is down fails fast (connection refused); a call to a paused
 * node (SIGSTOP) waits in its inbox and is handled when it resumes — late,
 * after its caller gave up, exactly the stale message a real pause delivers.
 * Replies to an incarnation that crashed since are dropped.
 */
final class SimNet {
    static final long MS = 1_000_000L;
    /** How long a caller waits on a silent peer or a broken connection before its call fails (gRPC keepalive). */
    static final long KEEPALIVE_MS = 4_000;

    /** A node's life. */
    enum Life { UP, PAUSED, DOWN }

    /** A node of the simulation: its address, life, and incarnation (bumped by every restart). */
    static final class Node {
        final String address;
        Life life = Life.UP;
        int incarnation;
        final ArrayDeque<Runnable> inbox = new ArrayDeque<>();
        // When its timed work is due next (ms), and whether something happened to it since.
        long pollAtMs;
        boolean dirty = true;
        // Calls to this node not yet answered: they fail if it pauses (keepalive) or crashes (reset).
        final java.util.List<Runnable> open = new java.util.ArrayList<>();

        Node(String address) {
            this.address = address;
        }
    }

    /** How a handler answers a call. */
    interface Reply<T> {
        void ok(T value);

        void fail(String why);
    }

    /** The receiving side of a call: runs on the target node. */
    interface Handler<T> {
        void handle(Reply<T> reply);
    }

    private record Event(long at, long seq, Runnable action) {
    }

    private final PriorityQueue<Event> events = new PriorityQueue<>((a, b) -> a.at != b.at
            ? Long.compare(a.at, b.at) : Long.compare(a.seq, b.seq));
    private final Map<String, Node> nodes = new HashMap<>();
    final Random random;
    private long nowMs = 1_000;
    private long seq;
    double loss;
    int maxDelayMs = 3;
    long messages;
    long lost;

    SimNet(long seed) {
        this.random = new Random(seed);
    }

    long nowMs() {
        return nowMs;
    }

    /** The clock the cores see. */
    long nanos() {
        return nowMs * MS;
    }

    Node node(String address) {
        return nodes.computeIfAbsent(address, Node::new);
    }

    /** Runs {@code action} at {@code at} (ms). */
    void at(long at, Runnable action) {
        events.add(new Event(Math.max(at, nowMs), seq++, action));
    }

    void after(long delayMs, Runnable action) {
        at(nowMs + delayMs, action);
    }

    /** Runs {@code action} on {@code node} now if it is up, when it resumes if paused, never if down. */
    void onNode(Node node, Runnable action) {
        switch (node.life) {
            case UP -> as(node, action);
            case PAUSED -> node.inbox.add(action);
            default -> {
            }
        }
    }

    /** Runs {@code action} as {@code node}: its log lines name it; it will be polled before time moves on. */
    void as(Node node, Runnable action) {
        node.dirty = true;
        String before = org.slf4j.MDC.get("node");
        org.slf4j.MDC.put("node", node.address);
        try {
            action.run();
        } finally {
            if (before == null) {
                org.slf4j.MDC.remove("node");
            } else {
                org.slf4j.MDC.put("node", before);
            }
        }
    }

    private long delay() {
        return 1 + random.nextInt(maxDelayMs);
    }

    /**
     * A call from {@code from} to {@code to}; {@code onOk} or {@code onFail}
     * runs once, on {@code from} (unless it crashed since).
     */
    <T> void call(Node from, Node to, long deadlineMs, Handler<T> handler, Consumer<T> onOk, Consumer<String> onFail) {
        int callerIncarnation = from.incarnation;
        boolean[] done = new boolean[1];
        Consumer<Runnable> back = r -> {
            if (from.incarnation == callerIncarnation && from.life != Life.DOWN) {
                onNode(from, r);
            }
        };
        // The call ends once: answered, failed, broken or past its deadline, whichever comes first.
        Consumer<Runnable> end = r -> {
            if (!done[0]) {
                done[0] = true;
                back.accept(r);
            }
        };
        after(deadlineMs, () -> end.accept(() -> onFail.accept("DEADLINE_EXCEEDED after " + deadlineMs + " ms")));
        Runnable broken = () -> end.accept(() -> onFail.accept("UNAVAILABLE: connection to " + to.address + " lost"));
        messages++;
        if (random.nextDouble() < loss) {
            lost++;
            after(KEEPALIVE_MS, broken);
            return;
        }
        after(delay(), () -> {
            if (!done[0]) {
                to.open.add(broken);
            }
            if (to.life == Life.PAUSED) {
                after(KEEPALIVE_MS, broken);
            }
            if (to.life == Life.DOWN) {
                after(1, () -> end.accept(() -> onFail.accept("UNAVAILABLE: " + to.address + " is down")));
                return;
            }
            int targetIncarnation = to.incarnation;
            onNode(to, () -> handler.handle(new Reply<>() {
                boolean answered;

                @Override
                public void ok(T value) {
                    answer(() -> onOk.accept(value));
                }

                @Override
                public void fail(String why) {
                    answer(() -> onFail.accept(why));
                }

                private void answer(Runnable r) {
                    if (answered || to.incarnation != targetIncarnation) {
                        return; // answered once; a crashed incarnation answers nothing
                    }
                    answered = true;
                    to.open.remove(broken);
                    messages++;
                    if (random.nextDouble() < loss) {
                        lost++;
                        after(KEEPALIVE_MS, broken);
                        return;
                    }
                    after(delay(), () -> end.accept(r));
                }
            }));
        });
    }

    /** A one-way message (views from the controller): delivered after a delay unless lost or the target is down. */
    void send(Node to, Runnable action) {
        after(delay(), () -> onNode(to, action));
    }

    void crash(Node n) {
        n.life = Life.DOWN;
        n.inbox.clear();
        n.incarnation++;
        for (Runnable r : n.open) {
            after(1, r); // connection reset
        }
        n.open.clear();
    }

    void restart(Node n) {
        n.life = Life.UP;
        n.dirty = true;
    }

    void pause(Node n) {
        if (n.life == Life.UP) {
            n.life = Life.PAUSED;
            for (Runnable r : n.open) {
                after(KEEPALIVE_MS, r); // pings go unanswered
            }
        }
    }

    void resume(Node n) {
        if (n.life == Life.PAUSED) {
            n.life = Life.UP;
            while (!n.inbox.isEmpty() && n.life == Life.UP) {
                as(n, n.inbox.poll());
            }
        }
    }

    /** Runs every event up to {@code untilMs}, calling {@code tick} once per simulated millisecond. */
    void run(long untilMs, Runnable tick) {
        while (nowMs < untilMs) {
            org.slf4j.MDC.put("t", Long.toString(nowMs));
            while (!events.isEmpty() && events.peek().at <= nowMs) {
                events.poll().action.run();
            }
            tick.run();
            nowMs++;
        }
    }
}
