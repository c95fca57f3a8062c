package io.chariots.launcher.chaos;

/**
 * A fault and what followed it until the cluster settled.
 *
 * @param stallMillis the append stall: from the fault until acknowledgements flowed again at the threshold rate
 *     ({@code -1} if they never did)
 * @param lidAfter the highest LId acknowledged once it settled: holes and violations at LIds above the previous
 *     episode's and up to this are put down to this fault
 */
public record Episode(Fault fault, long stallMillis, long lidAfter, long settleMillis) {
}
