package flowmark;

import java.util.HashMap;
import java.util.Map;

/** A job's command line: {@code --name value} pairs, as the harness writes them. */
public final class Args implements java.io.Serializable {
    private final Map<String, String> values = new HashMap<>();

    public Args(String[] args) {
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --name value, got `" + args[i] + "`");
            }
            values.put(args[i].substring(2), args[i + 1]);
        }
    }

    public String str(String name) {
        String v = values.get(name);
        if (v == null) {
            throw new IllegalArgumentException("missing --" + name);
        }
        return v;
    }

    public String opt(String name) {
        return values.get(name);
    }

    public long num(String name) {
        return Long.parseLong(str(name));
    }

    public int integer(String name) {
        return Integer.parseInt(str(name));
    }
}
