package io.chariots.common.config;

/** A {@code host:port} address. */
public record HostPort(String host, int port) {
    public HostPort {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("host must not be empty");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " out of range");
        }
    }

    /**
     * Parses {@code host:port} ({@code [v6]:port} too).
     *
     * @throws ConfigException naming {@code key} and {@code source} if malformed
     */
    public static HostPort parse(String text, String key, String source) {
        String t = text == null ? "" : text.trim();
        if (t.startsWith("http://")) {
            t = t.substring(7);
        }
        if (t.endsWith("/")) {
            t = t.substring(0, t.length() - 1);
        }
        int colon = t.lastIndexOf(':');
        if (colon <= 0 || colon == t.length() - 1) {
            throw new ConfigException("setting " + key + " = \"" + text + "\" (from " + source + ") must be host:port");
        }
        String host = t.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(t.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new ConfigException("setting " + key + " = \"" + text + "\" (from " + source + ") has a port that is not a number");
        }
        if (port < 1 || port > 65535) {
            throw new ConfigException("setting " + key + " = \"" + text + "\" (from " + source + ") has port " + port + " outside 1..65535");
        }
        return new HostPort(host, port);
    }

    /** Parses without a config key, for addresses received at run time. */
    public static HostPort parse(String text) {
        return parse(text, "address", "input");
    }

    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
