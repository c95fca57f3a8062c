package io.chariots.launcher.chaos;

/**
 * A fault and what followed it until the cluster settled.
 *
 * @param stallMillis the append stall: from the fault until acknowledgements flowed again at the threshold rate
 *     ({@code -1} if they never did)
 * @param longestWaitMillis the longest a record acknowledged from the fault until it settled waited for its
 *     acknowledgement since it was first sent
 * @param lidAfter the highest LId acknowledged once it settled: holes and violations at LIds above the previous
 *     episode's and up to this are put down to this fault
 */
public record Episode(Fault fault, long stallMillis, long longestWaitMillis, long lidAfter, long settleMillis) {
}
