package io.chariots.maintainer;

import java.util.Collection;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/** {@link IndexShares.Meta} in a map, counting writes. */
final class MemoryMeta implements IndexShares.Meta {
    final TreeMap<String, byte[]> map = new TreeMap<>();
    int writes;

    @Override
    public SortedMap<String, byte[]> metaWithPrefix(String prefix) {
        TreeMap<String, byte[]> out = new TreeMap<>();
        map.tailMap(prefix, true).forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                out.put(k, v);
            }
        });
        return out;
    }

    @Override
    public void writeMeta(Map<String, byte[]> puts, Collection<String> deletePrefixes) {
        writes++;
        for (String p : deletePrefixes) {
            map.keySet().removeIf(k -> k.startsWith(p));
        }
        map.putAll(puts);
    }
}
