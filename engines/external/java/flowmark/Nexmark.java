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
     * "channel":..,"date_time":..,"seq":..}}}) as {auction, bidder, price, seq}; null for
     * people and auctions.
     */
    public static long[] bid(String json) {
        if (!json.startsWith("{\"Bid\"")) {
            return null;
        }
        long[] fields = new long[6];
        int at = json.indexOf('{', 1);
        for (int f = 0; f < 6; f++) {
            at = json.indexOf(':', at) + 1;
            long v = 0;
            while (at < json.length() && Character.isDigit(json.charAt(at))) {
                v = v * 10 + (json.charAt(at++) - '0');
            }
            fields[f] = v;
        }
        return new long[] {fields[0], fields[1], fields[2], fields[5]};
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
