package flowmark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * NEXMark's bids as the log serves them, and the aggregates of q5 and q7 with flowmark's
 * result formats (all tied winners, in order).
 */
public final class Nexmark {
    private Nexmark() {}

    /**
     * A bid from an event's JSON ({@code {"Bid":{"auction":..,"bidder":..,"price":..,
     * "channel":..,"date_time":..,"seq":..}}}) as {auction, bidder, price, seq, date_time};
     * null for people and auctions. An event time may be negative (an event made before the
     * log's time 0 by its disorder).
     */
    public static long[] bid(String json) {
        if (!json.startsWith("{\"Bid\"")) {
            return null;
        }
        return new long[] {
            Events.field(json, "auction"), Events.field(json, "bidder"), Events.field(json, "price"),
            Events.field(json, "seq"), Events.field(json, "date_time")
        };
    }

    /** NEXMark's first and last names, by the indexes the log writes (as flowmark's model). */
    static final String[] FIRST_NAMES = {
        "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"
    };

    static final String[] LAST_NAMES = {
        "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"
    };

    /** NEXMark's cities and states, by the indexes the log writes. */
    static final String[] CITIES = {
        "Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent",
        "Cheyenne"
    };

    static final String[] STATES = {"AZ", "CA", "ID", "OR", "WA", "WY"};

    /**
     * A person from an event's JSON ({@code {"Person":{"id":..,"name":[first,last],..,"city":..,
     * "state":..,"date_time":..}}}) as {id, first name, last name, date_time, city, state};
     * null for other events.
     */
    public static long[] person(String json) {
        if (!json.startsWith("{\"Person\"")) {
            return null;
        }
        int name = json.indexOf("\"name\":[") + 8;
        int comma = json.indexOf(',', name);
        return new long[] {
            Events.field(json, "id"),
            Long.parseLong(json.substring(name, comma).trim()),
            Long.parseLong(json.substring(comma + 1, json.indexOf(']', comma)).trim()),
            Events.field(json, "date_time"),
            Events.field(json, "city"),
            Events.field(json, "state")
        };
    }

    /** q3's people: those in Oregon, Idaho or California. */
    public static boolean q3Person(long[] person) {
        String state = STATES[(int) person[5]];
        return state.equals("OR") || state.equals("ID") || state.equals("CA");
    }

    /** q3's auctions: those in category 10. */
    public static boolean q3Category(long category) {
        return category == 10;
    }

    /** q3's result for a person and one of their auctions: {sink, identity, value}. */
    public static String[] suggestion(long[] person, long auction) {
        String value = name(person) + "," + CITIES[(int) person[4]] + "," + STATES[(int) person[5]];
        return new String[] {"suggestions", person[0] + " " + auction, value};
    }

    /** A person's name as flowmark prints it: "First Last". */
    public static String name(long[] person) {
        return FIRST_NAMES[(int) person[1]] + " " + LAST_NAMES[(int) person[2]];
    }

    /**
     * An auction from an event's JSON ({@code {"Auction":{"id":..,..,"date_time":..,..,
     * "seller":..,"category":..}}}) as {id, seller, date_time, category}; null for other events.
     */
    public static long[] auction(String json) {
        if (!json.startsWith("{\"Auction\"")) {
            return null;
        }
        return new long[] {
            Events.field(json, "id"), Events.field(json, "seller"), Events.field(json, "date_time"), Events.field(json, "category")
        };
    }

    /**
     * The result of the per-bid queries for one bid ({auction, bidder, price, seq, date_time}),
     * as flowmark writes it — {sink, identity, value}, the identity being the bid's number in
     * the log — or null when the query drops the bid:
     * q0 passes every bid through; q1 converts its price to euro cents ({@code price × 908 /
     * 1000}, rounded down); q2 keeps the auction and price of bids on auctions whose id is a
     * multiple of 123.
     */
    public static String[] perBid(String query, long[] b) {
        String seq = Long.toString(b[3]);
        switch (query) {
            case "nexmark-q0":
                return new String[] {"bids", seq, b[0] + "," + b[1] + "," + b[2] + "," + b[4]};
            case "nexmark-q1":
                return new String[] {"euro-bids", seq, b[0] + "," + b[1] + "," + (b[2] * 908 / 1000) + "," + b[4]};
            case "nexmark-q2":
                return b[0] % 123 == 0 ? new String[] {"selected-bids", seq, b[0] + "," + b[2]} : null;
            default:
                throw new IllegalArgumentException("`" + query + "` is not a per-bid query");
        }
    }

    /** q5's second stage: the auctions with the most bids in one window. */
    public static final class HotItems implements Serializable {
        public long bids;
        public List<Long> auctions = new ArrayList<>();

        public HotItems add(long auction, long count) {
            if (count > bids) {
                bids = count;
                auctions.clear();
            }
            if (count == bids) {
                int i = Collections.binarySearch(auctions, auction);
                if (i < 0) {
                    auctions.add(-i - 1, auction);
                }
            }
            return this;
        }

        public HotItems merge(HotItems other) {
            for (long a : other.auctions) {
                add(a, other.bids);
            }
            return this;
        }

        @Override
        public String toString() {
            StringBuilder s = new StringBuilder().append(bids).append(':');
            for (int i = 0; i < auctions.size(); i++) {
                s.append(i > 0 ? "," : "").append(auctions.get(i));
            }
            return s.toString();
        }
    }

    /** q7: the bids with the highest price in one window, as (auction, bidder, seq). */
    public static final class Highest implements Serializable {
        public long price;
        public List<long[]> bids = new ArrayList<>();

        private static int compare(long[] a, long[] b) {
            for (int i = 0; i < 3; i++) {
                int c = Long.compare(a[i], b[i]);
                if (c != 0) {
                    return c;
                }
            }
            return 0;
        }

        public Highest add(long price, long[] bid) {
            if (price > this.price) {
                this.price = price;
                bids.clear();
            }
            if (price == this.price) {
                int i = Collections.binarySearch(bids, bid, Highest::compare);
                if (i < 0) {
                    bids.add(-i - 1, bid);
                }
            }
            return this;
        }

        public Highest merge(Highest other) {
            for (long[] b : other.bids) {
                add(other.price, b);
            }
            return this;
        }

        @Override
        public String toString() {
            StringBuilder s = new StringBuilder().append(price).append(':');
            for (int i = 0; i < bids.size(); i++) {
                long[] b = bids.get(i);
                s.append(i > 0 ? "," : "").append(b[0]).append('/').append(b[1]).append('/').append(b[2]);
            }
            return s.toString();
        }
    }

    /** A window's identity as flowmark writes it: {@code [start,end)} in nanoseconds. */
    public static String window(long start, long end) {
        return "[" + start + "," + end + ")";
    }
}
