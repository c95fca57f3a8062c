package io.chariots.queue;

import io.chariots.proto.Layout;
import io.chariots.proto.OriginMark;
import io.chariots.proto.SealReply;

import java.util.Arrays;
import java.util.List;

/**
 * One maintainer's answer to a new epoch's seal, as its pages come: a
 * maintainer lists so many of the LIds it holds above its floor an answer,
 * and a report that ends below its max LId was cut; the sealer asks on after
 * the last LId listed. The LIds are kept as a sorted {@code long[]} (8 bytes
 * each: a report of millions fits a queue's heap), the ids not at all.
 *
 * <p>The maintainer is sealed meanwhile, so its records do not change, but
 * its floor may rise (hole markers of this queue's earlier attempt at the same
 * epoch arriving late, a maintainer naming itself at its start): the report
 * keeps the highest floor and max LId any page gave, and the newest layout. A
 * page may then be empty: its floor reached its max LId. A page that does not
 * go on from the last (empty below its max LId, or starting at or below the
 * last LId listed: a maintainer of a version that lists from its floor
 * whatever it is asked) breaks the report.
 */
final class SealReport {
    /** What a page made of the report. */
    enum Added { WHOLE, MORE, BROKEN }

    private long[] lids = new long[16];
    private int count;
    private long floor;
    private long maxLid;
    private Layout layout = Layout.getDefaultInstance();
    private List<OriginMark> maxToids = List.of();

    Added add(SealReply page) {
        int n = page.getLidsCount();
        boolean caughtUp = n == 0 && Long.compareUnsigned(page.getFloor(), page.getMaxLid()) >= 0;
        if (count > 0 && !caughtUp && (n == 0 || Long.compareUnsigned(page.getLids(0), lids[count - 1]) <= 0)) {
            return Added.BROKEN;
        }
        if (count + n > lids.length) {
            lids = Arrays.copyOf(lids, Math.max(count + n, lids.length * 2));
        }
        for (int i = 0; i < n; i++) {
            lids[count++] = page.getLids(i);
        }
        floor = umax(floor, page.getFloor());
        maxLid = umax(maxLid, page.getMaxLid());
        if (!Recovery.newer(layout, page.getLayout())) {
            layout = page.getLayout();
        }
        maxToids = page.getMaxToidsList();
        return count > 0 && Long.compareUnsigned(lids[count - 1], maxLid) < 0 && Long.compareUnsigned(floor, maxLid) < 0
                ? Added.MORE : Added.WHOLE;
    }

    /** Where the next page starts: after the last LId listed. */
    long nextAfter() {
        return count == 0 ? 0 : lids[count - 1];
    }

    /** Whether the maintainer holds {@code lid} above its floor (a record or a hole). */
    boolean holds(long lid) {
        int lo = 0;
        int hi = count - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = Long.compareUnsigned(lids[mid], lid);
            if (c == 0) {
                return true;
            }
            if (c < 0) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return false;
    }

    int size() {
        return count;
    }

    long floor() {
        return floor;
    }

    long maxLid() {
        return maxLid;
    }

    Layout layout() {
        return layout;
    }

    List<OriginMark> maxToids() {
        return maxToids;
    }

    private static long umax(long a, long b) {
        return Long.compareUnsigned(a, b) >= 0 ? a : b;
    }
}
