package flowmark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.from_json;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.session_window;
import static org.apache.spark.sql.functions.udaf;
import static org.apache.spark.sql.functions.udf;
import static org.apache.spark.sql.functions.window;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.spark.api.java.function.FilterFunction;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.FlatMapGroupsWithStateFunction;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.api.java.function.VoidFunction2;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoder;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.connector.catalog.SupportsRead;
import org.apache.spark.sql.connector.catalog.Table;
import org.apache.spark.sql.connector.catalog.TableCapability;
import org.apache.spark.sql.connector.catalog.TableProvider;
import org.apache.spark.sql.connector.expressions.Transform;
import org.apache.spark.sql.connector.read.InputPartition;
import org.apache.spark.sql.connector.read.PartitionReader;
import org.apache.spark.sql.connector.read.PartitionReaderFactory;
import org.apache.spark.sql.connector.read.Scan;
import org.apache.spark.sql.connector.read.ScanBuilder;
import org.apache.spark.sql.connector.read.streaming.MicroBatchStream;
import org.apache.spark.sql.connector.read.streaming.Offset;
import org.apache.spark.sql.expressions.Aggregator;
import org.apache.spark.sql.streaming.GroupStateTimeout;
import org.apache.spark.sql.streaming.OutputMode;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryListener;
import org.apache.spark.sql.streaming.Trigger;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;
import org.apache.spark.unsafe.types.UTF8String;
import scala.Tuple2;
import scala.Tuple3;
import scala.Tuple4;

/**
 * flowmark's workloads on Apache Spark Structured Streaming: word count, NEXMark q0, q1, q2, q3,
 * q5, q7 and q8, the Yahoo Streaming Benchmark, sessionization.
 *
 * <p>The source is a data source V2 micro-batch stream whose offsets are event indexes per
 * partition of the harness's log: Spark records each batch's offsets in its offset log and
 * replays them after a crash. Event times become Spark timestamps in which one microsecond
 * stands for one nanosecond of log time, and so does every duration the job names (windows,
 * slides, gaps, the watermark's delay): Spark's timestamps are whole microseconds, and
 * truncating nanoseconds would move an event onto a window's or a session's bound (two clicks
 * 2 s + 440 ns apart would become exactly one gap apart and merge). They are shifted by a whole
 * number of window periods (about a day of log time): Spark's watermark starts at the epoch and
 * drops anything before it, and early events have negative log times. Spark has one watermark
 * per query (the largest event time minus the delay) and no allowed lateness: the delay is
 * flowmark's bound plus the workload's lateness, and append mode emits each window once, when
 * final.
 *
 * <p>The end of the input is one more event far in the future (in a window that never closes):
 * it moves the watermark past every window, Spark's next no-data batch emits them, and the
 * job stops. The sink ({@code foreachBatch}) sends each batch's results and pre-commits them
 * under the batch id; a listener commits them once Spark has written the batch's commit log.
 */
public final class SparkJob {
    private SparkJob() {}

    /** The timestamp (Spark's microseconds) of the event far in the future that ends the input. */
    static final long END_MICROS = 100_000_000_000_000_000L;

    /**
     * What is added to every event time (nanoseconds, which become Spark's microseconds): see
     * the class comment.
     */
    static long offset;

    /** A second of log time, in nanoseconds. */
    static final long SECOND = 1_000_000_000L;

    /** NEXMark's windows (q5, q7, q8) and q5's slide, in nanoseconds of log time. */
    static final long NEXMARK_WINDOW = 10 * SECOND, NEXMARK_SLIDE = 2 * SECOND;

    private static long gcd(long a, long b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        int parallelism = args.integer("parallelism");
        SparkSession.Builder builder = SparkSession.builder()
                .appName("flowmark " + args.str("job"))
                .master(args.opt("master") != null ? args.str("master") : "local[" + parallelism + "]")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", String.valueOf(parallelism))
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.streaming.metricsEnabled", "false");
        if (args.str("state-store").equals("rocksdb")) {
            // state in an embedded RocksDB, its files uploaded to the checkpoint at each commit
            builder = builder.config("spark.sql.streaming.stateStore.providerClass",
                    "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider");
        }
        if (args.opt("master") != null) {
            // one executor per task slot, spread over the workers, so that losing one loses a
            // share of the tasks (and their state) and the driver retries them elsewhere
            builder = builder.config("spark.jars", args.str("jar"))
                    .config("spark.executor.cores", "1")
                    .config("spark.cores.max", String.valueOf(parallelism));
        }
        SparkSession spark = builder.getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        String job = args.str("job");
        // NEXMark's windows are 10 s; word count's and YSB's are the job's own (all in nanoseconds)
        long period = args.opt("window") != null ? args.num("window") : NEXMARK_WINDOW;
        if (args.opt("slide") != null && args.num("slide") > 0) {
            long slide = args.num("slide");
            period = period / gcd(period, slide) * slide;
        }
        long day = 86_400L * SECOND;
        offset = (day + period - 1) / period * period;
        Dataset<Row> events = spark.readStream()
                .format(LogProvider.class.getName())
                // the log's servers (partition p on the p mod N-th); the engine process's own when not named
                .option("server", args.opt("log") != null ? args.opt("log") : args.str("server"))
                .option("partitions", args.str("partitions"))
                .option("offset", String.valueOf(offset))
                .option("end-event", endEvent(job))
                .load()
                .withWatermark("ts", interval(args.num("bound") + args.num("lateness")));
        Dataset<Row> results;
        switch (job) {
            case "wordcount":
                results = wordcount(events, args.num("window"), args.num("slide"));
                break;
            case "nexmark-q0":
            case "nexmark-q1":
            case "nexmark-q2":
                results = perBid(events, job);
                break;
            case "nexmark-q3":
                results = q3(events);
                break;
            case "sessions":
                results = sessions(events, args.num("gap"));
                break;
            case "ysb":
                results = ysb(events, Events.campaigns(args.str("campaigns")), args.num("window"));
                break;
            case "nexmark-q5":
                results = q5(events);
                break;
            case "nexmark-q7":
                results = q7(events);
                break;
            case "nexmark-q8":
                results = q8(events);
                break;
            default:
                throw new IllegalArgumentException("no Spark job for workload `" + job + "`");
        }
        ResultChannel channel = new ResultChannel(args.str("server"));
        Done done = new Done();
        spark.streams().addListener(done.listener(channel));
        spark.sparkContext().addSparkListener(done.executors(args.str("server")));
        StreamingQuery query = results.writeStream()
                .outputMode("append")
                .option("checkpointLocation", args.str("checkpoints"))
                .trigger(Trigger.ProcessingTime(args.num("trigger-ms"), TimeUnit.MILLISECONDS))
                .foreachBatch((VoidFunction2<Dataset<Row>, Long>) (batch, id) -> {
                    for (Row r : batch.collectAsList()) {
                        channel.result(r.getString(0), r.getString(1), r.getString(2));
                    }
                    channel.precommit(id);
                    done.precommitted(id);
                })
                .start();
        done.await(query);
        query.stop();
        channel.close();
        spark.stop();
    }

    /**
     * The payload of the event that ends the input: one the job's filters keep up to its
     * aggregation. Spark pushes a filter that does not read the event time below the
     * watermark, so an end event the job filters out would never move it.
     */
    private static String endEvent(String job) {
        switch (job) {
            case "wordcount":
                return "0";
            case "sessions":
                return "{\"user\":0,\"page\":0}";
            case "ysb":
                return "{\"user\":0,\"page\":0,\"ad\":0,\"ad_type\":0,\"event_type\":\"View\",\"ip\":0}";
            case "nexmark-q8":
                return "{\"Auction\":{\"id\":0,\"item\":0,\"initial_bid\":0,\"reserve\":0,\"date_time\":0,"
                        + "\"expires\":0,\"seller\":0,\"category\":0}}";
            default:
                return "{\"Bid\":{\"auction\":0,\"bidder\":0,\"price\":0,\"channel\":0,\"date_time\":0,\"seq\":0}}";
        }
    }

    /** The log time of a timestamp column, in nanoseconds (text). */
    private static Column nanos(String timestamp) {
        return expr("cast(unix_micros(" + timestamp + ") - " + offset + " as string)");
    }

    private static Column bounds(String w) {
        return concat(lit("["), nanos(w + ".start"), lit(","), nanos(w + ".end"), lit(")"));
    }

    /** A duration of log time as a Spark interval (a nanosecond of log time is a microsecond). */
    private static String interval(long nanos) {
        return nanos + " microseconds";
    }

    static Dataset<Row> wordcount(Dataset<Row> events, long size, long slide) {
        Column w = slide == 0 || slide == size
                ? window(col("ts"), interval(size))
                : window(col("ts"), interval(size), interval(slide));
        return events.select(col("ts"), col("payload").cast("int").as("word"))
                .groupBy(w.as("w"), col("word"))
                .count()
                .select(lit("counts"), concat(col("word").cast("string"), lit(" "), bounds("w")),
                        col("count").cast("string"));
    }

    private static Dataset<Row> bids(Dataset<Row> events) {
        StructType bid = new StructType()
                .add("auction", DataTypes.LongType)
                .add("bidder", DataTypes.LongType)
                .add("price", DataTypes.LongType)
                .add("channel", DataTypes.LongType)
                .add("date_time", DataTypes.LongType)
                .add("seq", DataTypes.LongType);
        StructType event = new StructType().add("Bid", bid);
        return events.select(col("ts"), from_json(col("payload"), event).getField("Bid").as("bid"))
                .filter(col("bid").isNotNull())
                .select(col("ts"), col("bid.*"));
    }

    /**
     * NEXMark q0, q1 and q2: one result per bid, or none ({@link Nexmark#perBid}); the event that
     * ends the input is no bid of the log.
     */
    static Dataset<Row> perBid(Dataset<Row> events, String query) {
        return bids(events)
                .filter(expr("unix_micros(ts) < " + END_MICROS))
                .flatMap((FlatMapFunction<Row, Tuple3<String, String, String>>) r -> {
                    long[] b = {r.<Long>getAs("auction"), r.<Long>getAs("bidder"), r.<Long>getAs("price"),
                        r.<Long>getAs("seq"), r.<Long>getAs("date_time")};
                    String[] out = Nexmark.perBid(query, b);
                    return out == null
                            ? java.util.Collections.emptyIterator()
                            : java.util.List.of(new Tuple3<>(out[0], out[1], out[2])).iterator();
                }, Encoders.tuple(Encoders.STRING(), Encoders.STRING(), Encoders.STRING()))
                .toDF();
    }

    /**
     * The Yahoo Streaming Benchmark: ad events filtered to views, each view's ad looked up in
     * the static table of campaigns (a function of the table, as a broadcast lookup), views
     * counted per campaign in tumbling windows.
     */
    static Dataset<Row> ysb(Dataset<Row> events, int[] campaignOf, long size) {
        StructType ad = new StructType().add("ad", DataTypes.IntegerType).add("event_type", DataTypes.StringType);
        Column campaign = udf((UDF1<Integer, Integer>) a -> campaignOf[a], DataTypes.IntegerType).apply(col("e.ad"));
        return events.select(col("ts"), from_json(col("payload"), ad).as("e"))
                .filter(expr("e.event_type = 'View'"))
                .select(col("ts"), campaign.as("campaign"))
                .groupBy(window(col("ts"), interval(size)).as("w"), col("campaign"))
                .count()
                .select(lit("views-per-campaign"), concat(col("campaign").cast("string"), lit(" "), bounds("w")),
                        col("count").cast("string"));
    }

    /**
     * Sessionization: per user, the clicks in each session window ({@code session_window}: a gap
     * of inactivity closes it), counted with their distinct pages.
     */
    static Dataset<Row> sessions(Dataset<Row> events, long gap) {
        StructType click = new StructType().add("user", DataTypes.LongType).add("page", DataTypes.LongType);
        // a session is [first click, last click + gap): Spark's own bounds, which hold every
        // event time exactly (see the class comment)
        return events.select(col("ts"), from_json(col("payload"), click).as("c"))
                .groupBy(session_window(col("ts"), interval(gap)).as("w"), col("c.user").as("user"))
                .agg(expr("count(1)").as("clicks"), expr("size(collect_set(c.page))").as("pages"))
                .select(lit("sessions"), concat(col("user").cast("string"), lit(" "), bounds("w")),
                        concat(col("clicks").cast("string"), lit(" clicks, "), col("pages").cast("string"),
                                lit(" pages")));
    }

    /**
     * NEXMark q3: people in Oregon, Idaho or California who sell in category 10, with each such
     * auction — a regular inner join of people and auctions on {@code person.id =
     * auction.seller}, as arbitrary state per seller ({@code flatMapGroupsWithState}, kept for
     * good): the person once registered and the auctions that came before them. One scan of
     * the log, where a self-join would read it twice.
     */
    static Dataset<Row> q3(Dataset<Row> events) {
        StructType person = new StructType()
                .add("id", DataTypes.LongType)
                .add("name", DataTypes.createArrayType(DataTypes.LongType))
                .add("city", DataTypes.LongType)
                .add("state", DataTypes.LongType);
        StructType auction = new StructType()
                .add("id", DataTypes.LongType)
                .add("seller", DataTypes.LongType)
                .add("category", DataTypes.LongType);
        StructType event = new StructType().add("Person", person).add("Auction", auction);
        return events.select(from_json(col("payload"), event).as("e"))
                .select(expr("coalesce(e.Person.id, e.Auction.seller)").as("key"), col("e.Person").as("p"),
                        col("e.Auction").as("a"))
                .filter((FilterFunction<Row>) SparkJob::q3Side)
                .groupByKey((MapFunction<Row, Long>) r -> r.getLong(0), Encoders.LONG())
                .flatMapGroupsWithState(
                        (FlatMapGroupsWithStateFunction<Long, Row, Q3Seller, Tuple3<String, String, String>>)
                                (key, rows, state) -> {
                                    Q3Seller seller = state.exists() ? state.get() : new Q3Seller();
                                    List<Tuple3<String, String, String>> out = new ArrayList<>();
                                    while (rows.hasNext()) {
                                        Row r = rows.next();
                                        if (!r.isNullAt(1)) {
                                            seller.person = q3Person(r.getStruct(1));
                                            for (long a : seller.waiting) {
                                                out.add(tuple(Nexmark.suggestion(seller.person, a)));
                                            }
                                            seller.waiting.clear();
                                        } else if (seller.person != null) {
                                            out.add(tuple(Nexmark.suggestion(seller.person, r.getStruct(2).getLong(0))));
                                        } else {
                                            seller.waiting.add(r.getStruct(2).getLong(0));
                                        }
                                    }
                                    state.update(seller);
                                    return out.iterator();
                                },
                        OutputMode.Append(), Encoders.javaSerialization(Q3Seller.class),
                        Encoders.tuple(Encoders.STRING(), Encoders.STRING(), Encoders.STRING()),
                        GroupStateTimeout.NoTimeout())
                .toDF();
    }

    /** Whether a row of q3's (key, person, auction) is one of its people or auctions. */
    private static boolean q3Side(Row r) {
        if (r.isNullAt(0)) {
            return false;
        }
        return r.isNullAt(1) ? Nexmark.q3Category(r.getStruct(2).getLong(2)) : Nexmark.q3Person(q3Person(r.getStruct(1)));
    }

    /** A person struct of q3's rows as {@link Nexmark#person} gives it. */
    private static long[] q3Person(Row p) {
        List<Long> name = p.getList(1);
        return new long[] {p.getLong(0), name.get(0), name.get(1), 0, p.getLong(2), p.getLong(3)};
    }

    private static Tuple3<String, String, String> tuple(String[] r) {
        return new Tuple3<>(r[0], r[1], r[2]);
    }

    /** q3's state per seller: the person, once registered, and the auctions before them. */
    public static final class Q3Seller implements Serializable {
        long[] person;
        ArrayList<Long> waiting = new ArrayList<>();
    }

    static Dataset<Row> q5(Dataset<Row> events) {
        Dataset<Row> counts = bids(events)
                .groupBy(window(col("ts"), interval(NEXMARK_WINDOW), interval(NEXMARK_SLIDE)).as("w"), col("auction"))
                .count();
        // each count's time is its window's last instant: a tumbling window of the slide's length
        // holds exactly the counts of one first-stage window
        Column hot = udaf(new HotItemsAgg(), Encoders.tuple(Encoders.LONG(), Encoders.LONG()))
                .apply(col("count"), col("auction"));
        Column first = concat(lit("["), expr("cast(unix_micros(w2.end) - " + (NEXMARK_WINDOW + offset) + " as string)"),
                lit(","), nanos("w2.end"), lit(")"));
        return counts.groupBy(window(expr("window_time(w)"), interval(NEXMARK_SLIDE)).as("w2"))
                .agg(hot.as("hot"))
                .select(lit("hot-items"), concat(first, lit(" "), bounds("w2")), col("hot"));
    }

    static Dataset<Row> q7(Dataset<Row> events) {
        Column highest = udaf(new HighestAgg(),
                        Encoders.tuple(Encoders.LONG(), Encoders.LONG(), Encoders.LONG(), Encoders.LONG()))
                .apply(col("price"), col("auction"), col("bidder"), col("seq"));
        return bids(events)
                .groupBy(window(col("ts"), interval(NEXMARK_WINDOW)).as("w"))
                .agg(highest.as("highest"))
                .select(lit("highest-bids"), concat(lit("* "), bounds("w")), col("highest"));
    }

    /**
     * NEXMark q8: the people who opened an auction in the 10 s tumbling window in which they
     * registered — a window join of people and auctions on {@code person.id =
     * auction.seller}, written as what it is per key and window: a group of both sides' events
     * that holds a person and an auction (one aggregation, so that the last windows fire in
     * the batch the end's watermark calls for; a stream-stream join followed by an
     * aggregation leaves its last window's rows in the aggregation's state).
     */
    static Dataset<Row> q8(Dataset<Row> events) {
        StructType person = new StructType()
                .add("id", DataTypes.LongType)
                .add("name", DataTypes.createArrayType(DataTypes.LongType));
        StructType auction = new StructType().add("seller", DataTypes.LongType);
        StructType event = new StructType().add("Person", person).add("Auction", auction);
        Column name = concat(pick(Nexmark.FIRST_NAMES, "name[0]"), lit(" "), pick(Nexmark.LAST_NAMES, "name[1]"));
        return events.select(col("ts"), from_json(col("payload"), event).as("e"))
                .select(col("ts"), expr("coalesce(e.Person.id, e.Auction.seller)").as("key"),
                        col("e.Person.name").as("name"), expr("e.Auction.seller is not null").as("auction"))
                .filter(col("key").isNotNull())
                .groupBy(window(col("ts"), interval(NEXMARK_WINDOW)).as("w"), col("key"))
                .agg(expr("max(name)").as("name"), expr("max(auction)").as("auctioned"))
                .filter(expr("name is not null and auctioned"))
                .select(lit("new-sellers"), concat(col("key").cast("string"), lit(" "), bounds("w")), name);
    }

    /** The word of {@code words} at the index the SQL expression {@code index} gives. */
    private static Column pick(String[] words, String index) {
        StringBuilder list = new StringBuilder();
        for (String w : words) {
            list.append(list.length() > 0 ? "," : "").append('\'').append(w).append('\'');
        }
        return expr("element_at(array(" + list + "), cast(" + index + " as int) + 1)");
    }

    /** q5's second stage as an incremental aggregate over (count, auction). */
    static final class HotItemsAgg extends Aggregator<Tuple2<Long, Long>, Nexmark.HotItems, String> {
        public Nexmark.HotItems zero() {
            return new Nexmark.HotItems();
        }

        public Nexmark.HotItems reduce(Nexmark.HotItems acc, Tuple2<Long, Long> c) {
            return acc.add(c._2(), c._1());
        }

        public Nexmark.HotItems merge(Nexmark.HotItems a, Nexmark.HotItems b) {
            return a.merge(b);
        }

        public String finish(Nexmark.HotItems acc) {
            return acc.toString();
        }

        public Encoder<Nexmark.HotItems> bufferEncoder() {
            return Encoders.javaSerialization(Nexmark.HotItems.class);
        }

        public Encoder<String> outputEncoder() {
            return Encoders.STRING();
        }
    }

    /** q7 as an incremental aggregate over (price, auction, bidder, seq). */
    static final class HighestAgg extends Aggregator<Tuple4<Long, Long, Long, Long>, Nexmark.Highest, String> {
        public Nexmark.Highest zero() {
            return new Nexmark.Highest();
        }

        public Nexmark.Highest reduce(Nexmark.Highest acc, Tuple4<Long, Long, Long, Long> b) {
            return acc.add(b._1(), new long[] {b._2(), b._3(), b._4()});
        }

        public Nexmark.Highest merge(Nexmark.Highest a, Nexmark.Highest b) {
            return a.merge(b);
        }

        public String finish(Nexmark.Highest acc) {
            return acc.toString();
        }

        public Encoder<Nexmark.Highest> bufferEncoder() {
            return Encoders.javaSerialization(Nexmark.Highest.class);
        }

        public Encoder<String> outputEncoder() {
            return Encoders.STRING();
        }
    }

    /**
     * Commits batches once Spark has, and tells when the job is done: once the batch that read
     * the end-of-input event has run, and the no-data batches its watermark called for (which
     * emit the remaining windows), Spark goes idle.
     */
    static final class Done {
        private final java.util.Set<Long> precommitted = java.util.concurrent.ConcurrentHashMap.newKeySet();
        private volatile boolean finished;
        private volatile long endSeenAt;

        void precommitted(long id) {
            precommitted.add(id);
        }

        /**
         * Tells the harness when the driver learns that an executor was lost while the query
         * runs (through its heartbeats or its connection): the engine's own detection of the
         * failure. The query goes on reading; the lost tasks are retried elsewhere.
         */
        org.apache.spark.scheduler.SparkListener executors(String server) {
            return new org.apache.spark.scheduler.SparkListener() {
                @Override
                public void onExecutorRemoved(org.apache.spark.scheduler.SparkListenerExecutorRemoved e) {
                    if (finished || endSeenAt != 0) {
                        return;
                    }
                    long agoNanos = (System.currentTimeMillis() - e.time()) * 1_000_000L;
                    try (LogClient failures = new LogClient(server)) {
                        failures.failure("spark-executor-" + e.executorId(), agoNanos, false);
                    } catch (IOException x) {
                        // the harness is gone or going: nothing to tell
                    }
                }
            };
        }

        StreamingQueryListener listener(ResultChannel channel) {
            return new StreamingQueryListener() {
                @Override
                public void onQueryStarted(QueryStartedEvent e) {}

                @Override
                public void onQueryTerminated(QueryTerminatedEvent e) {
                    finished = true;
                }

                /**
                 * Idle once the end was read: Spark has run every batch the end's watermark
                 * called for — the no-data batch that fires the last windows, and as many more
                 * as chained stateful operators need (a join's results reach its aggregation a
                 * batch later) — and has nothing left to do.
                 */
                @Override
                public void onQueryIdle(QueryIdleEvent e) {
                    if (endSeenAt != 0) {
                        finished = true;
                    }
                }

                @Override
                public void onQueryProgress(QueryProgressEvent e) {
                    long id = e.progress().batchId();
                    try {
                        if (precommitted.remove(id)) {
                            // the batch, trigger to commit log, is Spark's checkpoint of it
                            Long ms = e.progress().durationMs().get("triggerExecution");
                            if (ms != null) {
                                channel.triggered(id, ms * 1_000_000L);
                            }
                            channel.commit(id);
                        }
                    } catch (IOException x) {
                        finished = true;
                        return;
                    }
                    String end = e.progress().sources().length > 0 ? e.progress().sources()[0].endOffset() : null;
                    if (end != null && end.contains("\"end\":true")) {
                        if (endSeenAt == 0) {
                            endSeenAt = System.nanoTime();
                        }
                    }
                }
            };
        }

        void await(StreamingQuery query) throws Exception {
            while (!finished && query.isActive()) {
                // not idle ten seconds after the end (no idle event came): nothing is left
                if (endSeenAt != 0 && System.nanoTime() - endSeenAt > 10_000_000_000L) {
                    break;
                }
                query.awaitTermination(50);
            }
            if (query.exception().isDefined()) {
                throw query.exception().get();
            }
        }
    }

    /** The log as a Spark data source: {@code format(LogProvider.class.getName())}. */
    public static final class LogProvider implements TableProvider {
        /** An event's time as a Spark timestamp (scaled and shifted: see the class comment) and its payload. */
        static final StructType SCHEMA = new StructType()
                .add("ts", DataTypes.TimestampType, false)
                .add("payload", DataTypes.StringType, false);

        public LogProvider() {}

        @Override
        public StructType inferSchema(CaseInsensitiveStringMap options) {
            return SCHEMA;
        }

        @Override
        public Table getTable(StructType schema, Transform[] partitioning, Map<String, String> properties) {
            return new LogTable(properties);
        }
    }

    static final class LogTable implements Table, SupportsRead {
        private final Map<String, String> properties;

        LogTable(Map<String, String> properties) {
            this.properties = properties;
        }

        @Override
        public String name() {
            return "flowmark-log";
        }

        @Override
        @SuppressWarnings("deprecation")
        public StructType schema() {
            return LogProvider.SCHEMA;
        }

        @Override
        public Set<TableCapability> capabilities() {
            return EnumSet.of(TableCapability.MICRO_BATCH_READ);
        }

        @Override
        public ScanBuilder newScanBuilder(CaseInsensitiveStringMap options) {
            return () -> new Scan() {
                @Override
                public StructType readSchema() {
                    return LogProvider.SCHEMA;
                }

                @Override
                public MicroBatchStream toMicroBatchStream(String checkpointLocation) {
                    return new LogStream(options.get("server"), Integer.parseInt(options.get("partitions")),
                            options.get("end-event"), Long.parseLong(options.get("offset")));
                }
            };
        }
    }

    /** Offsets: the next event index of every partition, and whether the end event was read. */
    static final class LogOffset extends Offset {
        final long[] next;
        final boolean end;

        LogOffset(long[] next, boolean end) {
            this.next = next;
            this.end = end;
        }

        @Override
        public String json() {
            StringBuilder s = new StringBuilder("{\"next\":[");
            for (int i = 0; i < next.length; i++) {
                s.append(i > 0 ? "," : "").append(next[i]);
            }
            return s.append("],\"end\":").append(end).append('}').toString();
        }

        static LogOffset parse(String json) {
            String list = json.substring(json.indexOf('[') + 1, json.indexOf(']'));
            String[] parts = list.isEmpty() ? new String[0] : list.split(",");
            long[] next = new long[parts.length];
            for (int i = 0; i < parts.length; i++) {
                next[i] = Long.parseLong(parts[i].trim());
            }
            return new LogOffset(next, json.contains("\"end\":true"));
        }
    }

    static final class LogStream implements MicroBatchStream {
        private final String server;
        private final int partitions;
        private final String endEvent;
        private final long offset;
        private LogClient client;

        LogStream(String server, int partitions, String endEvent, long offset) {
            this.server = server;
            this.partitions = partitions;
            this.endEvent = endEvent;
            this.offset = offset;
        }

        @Override
        public Offset latestOffset() {
            try {
                if (client == null) {
                    client = new LogClient(server);
                }
                long[] counts = client.count();
                long[] next = java.util.Arrays.copyOf(counts, partitions);
                return new LogOffset(next, counts[partitions] == 1);
            } catch (IOException e) {
                throw new RuntimeException("reading the log server at " + server, e);
            }
        }

        @Override
        public InputPartition[] planInputPartitions(Offset start, Offset end) {
            LogOffset from = (LogOffset) start;
            LogOffset to = (LogOffset) end;
            List<InputPartition> parts = new ArrayList<>();
            for (int p = 0; p < partitions; p++) {
                if (to.next[p] > from.next[p]) {
                    parts.add(new Range(server, p, from.next[p], to.next[p], offset, null));
                }
            }
            if (to.end && !from.end) {
                parts.add(new Range(server, -1, 0, 1, offset, endEvent));
            }
            return parts.toArray(new InputPartition[0]);
        }

        @Override
        public PartitionReaderFactory createReaderFactory() {
            return part -> new RangeReader((Range) part);
        }

        @Override
        public Offset initialOffset() {
            return new LogOffset(new long[partitions], false);
        }

        @Override
        public Offset deserializeOffset(String json) {
            return LogOffset.parse(json);
        }

        @Override
        public void commit(Offset end) {}

        @Override
        public void stop() {
            try {
                if (client != null) {
                    client.close();
                }
            } catch (IOException e) {
                // closing: nothing to do
            }
        }
    }

    /** Entries [from, to) of a partition; partition -1 is the end-of-input event. */
    static final class Range implements InputPartition, Serializable {
        final String server;
        final int partition;
        final long from;
        final long to;
        final long offset;
        final String endEvent;

        Range(String server, int partition, long from, long to, long offset, String endEvent) {
            this.server = server;
            this.partition = partition;
            this.from = from;
            this.to = to;
            this.offset = offset;
            this.endEvent = endEvent;
        }
    }

    static final class RangeReader implements PartitionReader<InternalRow> {
        private static final long CHUNK = 8192;
        private final Range range;
        private final ArrayDeque<InternalRow> rows = new ArrayDeque<>();
        private LogClient client;
        private long next;
        private InternalRow current;

        RangeReader(Range range) {
            this.range = range;
            this.next = range.from;
        }

        @Override
        public boolean next() throws IOException {
            if (rows.isEmpty() && next < range.to) {
                if (range.partition < 0) {
                    rows.add(new GenericInternalRow(
                            new Object[] {END_MICROS, UTF8String.fromString(range.endEvent)}));
                    next = range.to;
                } else {
                    if (client == null) {
                        client = new LogClient(range.server);
                    }
                    long to = Math.min(range.to, next + CHUNK);
                    try {
                        long n = client.fetch(range.partition, next, to, (time, json) -> rows.add(
                                new GenericInternalRow(new Object[] {time + range.offset, UTF8String.fromString(json)})));
                        if (n != to - next) {
                            throw new IOException("the log server returned " + n + " of " + (to - next) + " events");
                        }
                    } catch (IOException e) {
                        throw e;
                    } catch (Exception e) {
                        throw new IOException(e);
                    }
                    next = to;
                }
            }
            current = rows.poll();
            return current != null;
        }

        @Override
        public InternalRow get() {
            return current;
        }

        @Override
        public void close() throws IOException {
            if (client != null) {
                client.close();
            }
        }
    }
}
