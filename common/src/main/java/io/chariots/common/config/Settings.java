package io.chariots.common.config;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Flat, immutable key → value settings, each remembering where it came from
 * so that an invalid value can be reported precisely. Nested YAML maps become
 * dotted keys ({@code batcher: {linger_ms: 2}} is {@code batcher.linger_ms}).
 *
 * <p>Sources, lowest precedence first: built-in defaults, the YAML config
 * file ({@link #fromYaml}), environment variables {@code CHARIOTS_<KEY>}
 * ({@link #fromEnvironment}; {@code CHARIOTS_NUM_DC}, and {@code __} for a
 * dot: {@code CHARIOTS_BATCHER__LINGER_MS}), then command-line flags. Combine
 * them with {@link #overlay}.
 */
public final class Settings {
    private record Value(String text, String source) {
    }

    private static final Settings EMPTY = new Settings(Map.of());

    private final Map<String, Value> values;

    private Settings(Map<String, Value> values) {
        this.values = Collections.unmodifiableMap(values);
    }

    public static Settings empty() {
        return EMPTY;
    }

    /** Settings given programmatically or on the command line; {@code source} names them in errors. */
    public static Settings of(Map<String, ?> map, String source) {
        Map<String, Value> out = new LinkedHashMap<>();
        flatten("", map, source, out);
        return new Settings(out);
    }

    /**
     * Reads a YAML file of GoChariots' shape ({@code controller}, {@code num_dc},
     * {@code id}) plus Chariots' own keys.
     *
     * @throws ConfigException if the file is missing, unreadable or not a YAML map
     */
    public static Settings fromYaml(Path file) {
        Object doc;
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            doc = new Yaml(new SafeConstructor(new LoaderOptions())).load(r);
        } catch (NoSuchFileException e) {
            throw new ConfigException("config file " + file + " does not exist");
        } catch (IOException e) {
            throw new ConfigException("cannot read config file " + file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new ConfigException("config file " + file + " is not valid YAML: " + e.getMessage(), e);
        }
        if (doc == null) {
            return EMPTY;
        }
        if (!(doc instanceof Map<?, ?> map)) {
            throw new ConfigException("config file " + file + " must hold a map of settings, not a " + doc.getClass().getSimpleName());
        }
        Map<String, Value> out = new LinkedHashMap<>();
        flatten("", map, "config file " + file, out);
        return new Settings(out);
    }

    /** {@code CHARIOTS_NUM_DC=2} → {@code num_dc=2}; {@code CHARIOTS_BATCHER__LINGER_MS} → {@code batcher.linger_ms}. */
    public static Settings fromEnvironment(Map<String, String> env) {
        Map<String, Value> out = new LinkedHashMap<>();
        env.forEach((k, v) -> {
            if (k.startsWith("CHARIOTS_") && k.length() > 9) {
                String key = k.substring(9).toLowerCase(Locale.ROOT).replace("__", ".");
                out.put(key, new Value(v, "environment variable " + k));
            }
        });
        return new Settings(out);
    }

    private static void flatten(String prefix, Map<?, ?> map, String source, Map<String, Value> out) {
        map.forEach((k, v) -> {
            String key = prefix + String.valueOf(k).toLowerCase(Locale.ROOT);
            if (v instanceof Map<?, ?> nested) {
                flatten(key + ".", nested, source, out);
            } else if (v != null) {
                out.put(key, new Value(String.valueOf(v), source));
            }
        });
    }

    /** These settings with {@code higher}'s values winning. */
    public Settings overlay(Settings higher) {
        if (higher.values.isEmpty()) {
            return this;
        }
        Map<String, Value> out = new LinkedHashMap<>(values);
        out.putAll(higher.values);
        return new Settings(out);
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    public Set<String> keys() {
        return new TreeSet<>(values.keySet());
    }

    /** Where {@code key}'s value came from, or "default". */
    public String sourceOf(String key) {
        Value v = values.get(key);
        return v == null ? "default" : v.source();
    }

    public String getString(String key, String defaultValue) {
        Value v = values.get(key);
        return v == null ? defaultValue : v.text();
    }

    public long getLong(String key, long defaultValue, long min, long max) {
        Value v = values.get(key);
        if (v == null) {
            return defaultValue;
        }
        long n;
        try {
            n = Long.parseLong(v.text().trim());
        } catch (NumberFormatException e) {
            throw invalid(key, v, "must be a whole number");
        }
        if (n < min || n > max) {
            throw invalid(key, v, "must be between " + min + " and " + max);
        }
        return n;
    }

    public int getInt(String key, int defaultValue, int min, int max) {
        return (int) getLong(key, defaultValue, min, max);
    }

    public boolean getBoolean(String key, boolean defaultValue) {
        Value v = values.get(key);
        if (v == null) {
            return defaultValue;
        }
        return switch (v.text().trim().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on", "1" -> true;
            case "false", "no", "off", "0" -> false;
            default -> throw invalid(key, v, "must be true or false");
        };
    }

    private static ConfigException invalid(String key, Value v, String problem) {
        return new ConfigException("setting " + key + " = " + shown(key, v) + " (from " + v.source() + ") " + problem);
    }

    /** A value as logs and messages may show it: never a secret's. */
    private static String shown(String key, Value v) {
        return (key.contains("secret") || key.contains("token")) && !key.endsWith("_file") ? "(not shown)" : "\"" + v.text() + "\"";
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        keys().forEach(k -> sb.append(k).append('=').append(shown(k, values.get(k))).append(" (").append(values.get(k).source()).append(")\n"));
        return sb.toString();
    }
}
