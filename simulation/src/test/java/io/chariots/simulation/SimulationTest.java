package io.chariots.simulation;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class SimulationTest {
    @Test
    void fairWeatherRunKeepsEveryInvariantWithoutHolesOrNewEpochs() {
        Simulation.Result r = new Simulation(1, new Simulation.Config(3, 2, 2, 2, 2000, 10_000, false, 0)).run();
        assertThat(r.violations()).as(r.toString()).isEmpty();
        assertThat(r.holes()).isZero();
        assertThat(r.lids()).isEqualTo(2000);
    }

    @Test
    void seedsWithFaultsKeepEveryInvariant() {
        long from = Long.getLong("sim.from", 1);
        int count = Integer.getInteger("sim.seeds", 20);
        java.util.List<String> failed = new java.util.ArrayList<>();
        for (long s = from; s < from + count; s++) {
            Simulation.Result r = new Simulation(s, Simulation.Config.defaults()).run();
            System.out.println(r);
            if (!r.ok()) {
                failed.add(r.toString());
            }
        }
        assertThat(failed).isEmpty();
    }
}
