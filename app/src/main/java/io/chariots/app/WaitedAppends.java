package io.chariots.app;

import io.chariots.common.acks.AppendWaiters.Appended;
import io.chariots.common.acks.AppendWaiters.Outcome;
import io.chariots.common.acks.AppendWaiters.Rejected;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The HTTP side of {@code POST /record?wait=true}, without sockets: reading
 * the {@code wait} and {@code timeout_ms} parameters, and turning the
 * outcome of each record into the answer.
 *
 * <ul>
 * <li>every record persisted and indexed: 200 {@code {"id","lid","host"}}, or
 *     {@code {"records":[{"id","lid","host"},…]}} for an array body;</li>
 * <li>some record not confirmed in time: 504 with the ids and an error
 *     saying the append may still complete and a retry with the same ids is
 *     safe;</li>
 * <li>otherwise, some record rejected (its cause never came): 409 with
 *     {@code "status":"rejected"} and the reason.</li>
 * </ul>
 */
final class WaitedAppends {
    private WaitedAppends() {
    }

    /** A bad parameter: which, and what is wrong with it. */
    record BadParameter(String name, String problem) {
    }

    /**
     * What the request asked: {@code timeout} is null when it does not wait.
     *
     * @param bad set instead when a parameter is invalid
     */
    record Asked(Duration timeout, BadParameter bad) {
        boolean waits() {
            return timeout != null;
        }
    }

    /**
     * Reads {@code wait} ({@code true}/{@code false}, also {@code 1}/{@code 0};
     * absent: false) and {@code timeout_ms} (a positive whole number of
     * milliseconds, only with {@code wait=true}; capped at {@code cap}, which
     * is also the default).
     */
    static Asked parse(String wait, String timeoutMs, Duration cap) {
        boolean waits;
        if (wait == null) {
            waits = false;
        } else {
            switch (wait.toLowerCase(java.util.Locale.ROOT)) {
                case "true", "1" -> waits = true;
                case "false", "0" -> waits = false;
                default -> {
                    return new Asked(null, new BadParameter("wait", "must be true or false, got \"" + wait + "\""));
                }
            }
        }
        if (timeoutMs == null) {
            return new Asked(waits ? cap : null, null);
        }
        if (!waits) {
            return new Asked(null, new BadParameter("timeout_ms", "applies only with wait=true"));
        }
        long ms;
        try {
            ms = Long.parseLong(timeoutMs);
        } catch (NumberFormatException e) {
            ms = -1;
        }
        if (ms <= 0 || !timeoutMs.chars().allMatch(Character::isDigit)) {
            return new Asked(null, new BadParameter("timeout_ms",
                    "must be a positive whole number of milliseconds, got \"" + timeoutMs + "\""));
        }
        return new Asked(ms >= cap.toMillis() ? cap : Duration.ofMillis(ms), null);
    }

    /** An answer: status and JSON body. */
    record Answer(HttpResponseStatus status, Map<String, Object> body) {
    }

    /**
     * The answer for records {@code ids} (in request order) with these
     * outcomes; {@code array} says whether the body was an array.
     */
    static Answer answer(List<String> ids, List<Outcome> outcomes, boolean array, Duration timeout) {
        List<Map<String, Object>> records = new ArrayList<>(ids.size());
        List<String> timedOut = new ArrayList<>();
        List<String> rejected = new ArrayList<>();
        for (int i = 0; i < ids.size(); i++) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("id", ids.get(i));
            Outcome o = outcomes.get(i);
            if (o instanceof Appended a) {
                r.put("lid", a.lid());
                r.put("host", a.host());
            } else if (o instanceof Rejected rj) {
                r.put("status", "rejected");
                r.put("reason", rj.reason());
                rejected.add(ids.get(i));
            } else {
                r.put("status", "timeout");
                timedOut.add(ids.get(i));
            }
            records.add(r);
        }
        if (!timedOut.isEmpty()) {
            String error = (timedOut.size() == 1 ? "record " + timedOut.get(0) + " was" : timedOut.size() + " records were")
                    + " not confirmed in the log within " + timeout.toMillis() + " ms; the append may still complete,"
                    + " and a retry with the same id" + (timedOut.size() == 1 ? "" : "s") + " is safe (each id is appended at most once)";
            Map<String, Object> body = array ? new LinkedHashMap<>() : records.get(0);
            body.put("error", error);
            if (array) {
                body.put("ids", timedOut);
                body.put("records", records);
            }
            return new Answer(HttpResponseStatus.GATEWAY_TIMEOUT, body);
        }
        if (!rejected.isEmpty()) {
            String error = (rejected.size() == 1 ? "record " + rejected.get(0) + " was" : rejected.size() + " records were")
                    + " rejected and will not be appended";
            Map<String, Object> body = array ? new LinkedHashMap<>() : records.get(0);
            body.put("error", error);
            if (array) {
                body.put("records", records);
            }
            return new Answer(HttpResponseStatus.CONFLICT, body);
        }
        if (!array) {
            return new Answer(HttpResponseStatus.OK, records.get(0));
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("records", records);
        return new Answer(HttpResponseStatus.OK, body);
    }
}
