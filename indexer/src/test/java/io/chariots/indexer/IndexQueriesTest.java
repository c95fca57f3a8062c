package io.chariots.indexer;

import io.chariots.proto.CauseKey;
import io.chariots.proto.ExistsRequest;
import io.chariots.proto.IndexBatch;
import io.chariots.proto.LookupRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static io.chariots.indexer.TagIndexTest.BIG_SEED;
import static io.chariots.indexer.TagIndexTest.K1V1;
import static io.chariots.indexer.TagIndexTest.entry;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Request validation, selection and paging rules, without sockets. */
class IndexQueriesTest {
    @TempDir
    Path dir;
    TagIndex index;
    IndexQueries queries;

    @BeforeEach
    void setUp() throws Exception {
        index = TagIndex.open(dir);
        queries = new IndexQueries(index);
        IndexBatch.Builder b = IndexBatch.newBuilder();
        for (long lid = 1; lid <= 12_000; lid++) {
            b.addEntries(entry(lid, lid <= 3 ? 0 : BIG_SEED, "id" + lid, K1V1));
        }
        index.index(b.build());
    }

    @AfterEach
    void tearDown() {
        index.close();
    }

    static LookupRequest.Builder lookup() {
        return LookupRequest.newBuilder();
    }

    @Test
    void existsIsParallelToTheKeys() {
        var reply = queries.exists(ExistsRequest.newBuilder()
                .addKeys(CauseKey.newBuilder().setHash(K1V1).setSeed(BIG_SEED))
                .addKeys(CauseKey.newBuilder().setHash(K1V1).setSeed(42))
                .addKeys(CauseKey.newBuilder().setHash(K1V1).setSeed(0)).build());
        assertThat(reply.getLidsList()).containsExactly(4L, 0L, 1L);
        assertThat(queries.exists(ExistsRequest.getDefaultInstance()).getLidsCount()).isZero();
    }

    @Test
    void selectsByTagByTagAndSeedBySeedAndById() {
        assertThat(queries.lookup(lookup().setTagHash(K1V1).setLimit(5).build()).getLidsList()).containsExactly(1L, 2L, 3L, 4L, 5L);
        assertThat(queries.lookup(lookup().setTagHash(K1V1).setSeed(BIG_SEED).setLimit(2).build()).getLidsList())
                .containsExactly(4L, 5L);
        assertThat(queries.lookup(lookup().setTagHash(K1V1).setBySeed(true).build()).getLidsList())
                .as("by_seed restricts to seed 0").containsExactly(1L, 2L, 3L);
        assertThat(queries.lookup(lookup().setBySeed(true).setSeed(0).build()).getLidsList()).containsExactly(1L, 2L, 3L);
        assertThat(queries.lookup(lookup().setBySeed(true).setSeed(BIG_SEED).setAfterLid(11_998).build()).getLidsList())
                .containsExactly(11_999L, 12_000L);
        var ids = queries.lookup(lookup().addIds("id7").addIds("missing").build()).getIdsList();
        assertThat(ids).extracting(s -> s.getId() + "@" + s.getLid()).containsExactly("id7@7", "missing@0");
    }

    @Test
    void limitDefaultsTo1000AndIsCappedAt10000() {
        assertThat(queries.lookup(lookup().setTagHash(K1V1).build()).getLidsCount()).isEqualTo(1000);
        assertThat(queries.lookup(lookup().setTagHash(K1V1).setLimit(50_000).build()).getLidsCount()).isEqualTo(10_000);
        assertThat(queries.lookup(lookup().setTagHash(K1V1).setLimit(-1).build()).getLidsCount())
                .as("uint32 max").isEqualTo(10_000);
        assertThat(IndexQueries.limit(7)).isEqualTo(7);
    }

    @Test
    void refusesLookupsThatSelectNothingOrTooMuch() {
        assertThatThrownBy(() -> queries.lookup(LookupRequest.getDefaultInstance()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("empty lookup");
        assertThatThrownBy(() -> queries.lookup(lookup().setSeed(5).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("by_seed");
        assertThatThrownBy(() -> queries.lookup(lookup().addIds("a").setTagHash(1).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("ids cannot be combined");
        assertThatThrownBy(() -> queries.lookup(lookup().addIds("a").addIds("").build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("ids[1] is empty");
        List<String> many = new ArrayList<>(Collections.nCopies(IndexQueries.MAX_IDS + 1, "x"));
        assertThatThrownBy(() -> queries.lookup(lookup().addAllIds(many).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("at most 10000");
    }
}
