package io.chariots.maintainer;

import io.chariots.proto.Layout;
import io.chariots.proto.Stripe;

import java.nio.file.Path;
import java.util.List;

/** Flstores and layouts for tests. */
final class Stores {
    /** The epoch tests seal their stores at, unless they test epochs. */
    static final long EPOCH = 1;
    static final String SEALER = "queue-1";

    private Stores() {
    }

    static FlStore open(Path dir) throws Exception {
        return FlStore.open(dir.resolve("flstore"), FlStore.Tuning.defaults());
    }

    /** A store sealed at {@link #EPOCH} by {@link #SEALER} (again, if it already was: a retry). */
    static FlStore openSealed(Path dir) throws Exception {
        FlStore store = open(dir);
        if (!store.seal(EPOCH, SEALER).getSealed()) {
            store.close();
            throw new IllegalStateException("the store in " + dir + " is sealed at a newer epoch");
        }
        return store;
    }

    static Stripe stripe(long fromLid, String... maintainers) {
        return Stripe.newBuilder().setFromLid(fromLid).addAllMaintainers(List.of(maintainers)).build();
    }

    static Layout layout(long epoch, long version, Stripe... stripes) {
        return Layout.newBuilder().setEpoch(epoch).setVersion(version).addAllStripes(List.of(stripes)).build();
    }
}
