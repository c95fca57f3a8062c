package io.chariots.simulation;

import org.junit.jupiter.api.Test;

import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

class SimulationTest {
    /** Seeds the suite runs (on two threads); {@code ./chariots simulate --ci --seeds N} runs any number. */
    static final int CI_SEEDS = Integer.getInteger("sim.seeds", 1500);

    @Test
    void fairWeatherRunKeepsEveryInvariantWithoutHolesOrNewEpochs() {
        Simulation.Result r = new Simulation(1, new Simulation.Config(3, 2, 2, 2, 2000, 10_000, false, 0)).run();
        assertThat(r.violations()).as(r.toString()).isEmpty();
        assertThat(r.faults()).isZero();
        assertThat(r.holes()).as("holes appear only after a fault").isZero();
        assertThat(r.recoveries()).as("no token recovery without a fault").isZero();
        assertThat(r.lids()).isEqualTo(2000);
        assertThat(r.longestStallMs()).isLessThanOrEqualTo(Simulation.FAIR_WEATHER_STALL_MS);
    }

    @Test
    void everySeedWithCrashesPausesAndLossKeepsEveryInvariant() {
        long from = Long.getLong("sim.from", 1);
        Simulation.Summary s = Simulation.runSeeds(from, CI_SEEDS, Simulation.Config.ci(), 2, r -> { });
        System.out.println("simulation: seeds " + from + ".." + (from + CI_SEEDS - 1) + ": " + s);
        assertThat(s.faults()).as("faults were injected").isGreaterThanOrEqualTo(CI_SEEDS / 2);
        assertThat(s.failed()).as(() -> s.failed().stream().map(Simulation.Result::toString)
                .collect(Collectors.joining("\n\n"))).isEmpty();
    }

    @Test
    void aSeedReplaysEventForEvent() {
        // A seed with a crash in it, so that the replay covers recovery too.
        Simulation.Result first = null;
        for (long seed = 1; first == null || first.faults() == 0 || first.recoveries() == 0; seed++) {
            assertThat(seed).as("a seed with a recovery among the first 50").isLessThan(50);
            first = new Simulation(seed, Simulation.Config.ci()).run();
        }
        Simulation.Result again = new Simulation(first.seed(), Simulation.Config.ci()).run();
        assertThat(again.digest()).as("the log of seed " + first.seed()).isEqualTo(first.digest());
        assertThat(again.messages()).isEqualTo(first.messages());
        assertThat(again.faultLog()).isEqualTo(first.faultLog());
        assertThat(again.toString()).isEqualTo(first.toString());
    }
}
