package flowmark;

/**
 * The events of flowmark's other workloads as the log serves them (JSON, one event per line),
 * read without a JSON library: numbers by field name, and YSB's static table.
 */
public final class Events {
    private Events() {}

    /** The signed integer after the first {@code "name":} in {@code json}. */
    public static long field(String json, String name) {
        int at = json.indexOf("\"" + name + "\":") + name.length() + 3;
        boolean negative = json.charAt(at) == '-';
        if (negative) {
            at++;
        }
        long v = 0;
        while (at < json.length() && Character.isDigit(json.charAt(at))) {
            v = v * 10 + (json.charAt(at++) - '0');
        }
        return negative ? -v : v;
    }

    /** Whether a YSB ad event ({@code {..,"event_type":"View",..}}) is a view. */
    public static boolean isView(String json) {
        return json.contains("\"event_type\":\"View\"");
    }

    /**
     * YSB's table of ads to campaigns (Redis in the original) as the harness passes it, made
     * from the run's seed: the campaign of each ad in order, separated by commas.
     */
    public static int[] campaigns(String table) {
        String[] ids = table.split(",");
        int[] campaign = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            campaign[i] = Integer.parseInt(ids[i]);
        }
        return campaign;
    }
}
