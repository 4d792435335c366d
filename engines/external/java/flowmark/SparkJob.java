package flowmark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.from_json;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.udaf;
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
import org.apache.spark.api.java.function.VoidFunction2;
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
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryListener;
import org.apache.spark.sql.streaming.Trigger;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.CaseInsensitiveStringMap;
import org.apache.spark.unsafe.types.UTF8String;
import scala.Tuple2;
import scala.Tuple4;

/**
 * flowmark's workloads on Apache Spark Structured Streaming: word count, NEXMark q5 and q7.
 *
 * <p>The source is a data source V2 micro-batch stream whose offsets are event indexes per
 * partition of the harness's log: Spark records each batch's offsets in its offset log and
 * replays them after a crash. Event times become Spark timestamps (microseconds; flowmark's
 * windows are whole seconds, so no window changes), shifted by a whole number of window periods
 * (about a day): Spark's watermark starts at the epoch and drops anything before it, and early
 * events have negative log times. Spark has one watermark per query (the
 * largest event time minus the delay) and no allowed lateness: the delay is flowmark's bound
 * plus the workload's lateness, and append mode emits each window once, when final.
 *
 * <p>The end of the input is one more event far in the future (in a window that never closes):
 * it moves the watermark past every window, Spark's next no-data batch emits them, and the
 * job stops. The sink ({@code foreachBatch}) sends each batch's results and pre-commits them
 * under the batch id; a listener commits them once Spark has written the batch's commit log.
 */
public final class SparkJob {
    private SparkJob() {}

    /** Microseconds of the event far in the future that ends the input (year 5138). */
    static final long END_MICROS = 100_000_000_000_000_000L;

    /** Microseconds added to every event time: see the class comment. */
    static long offsetMicros;

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
        if (args.opt("master") != null) {
            builder = builder.config("spark.jars", args.str("jar"));
        }
        SparkSession spark = builder.getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        String job = args.str("job");
        long period = job.equals("wordcount") ? args.num("window") / 1000 : 10_000_000L;
        if (job.equals("wordcount") && args.num("slide") > 0) {
            long slide = args.num("slide") / 1000;
            period = period / gcd(period, slide) * slide;
        }
        long day = 86_400_000_000L;
        offsetMicros = (day + period - 1) / period * period;
        long delayMicros = (args.num("bound") + args.num("lateness")) / 1000;
        Dataset<Row> events = spark.readStream()
                .format(LogProvider.class.getName())
                .option("server", args.str("server"))
                .option("partitions", args.str("partitions"))
                .option("offset-micros", String.valueOf(offsetMicros))
                .option("end-event", job.equals("wordcount") ? "0" : "{\"Bid\":{\"auction\":0,\"bidder\":0,\"price\":0,"
                        + "\"channel\":0,\"date_time\":0,\"seq\":0}}")
                .load()
                .withWatermark("ts", delayMicros + " microseconds");
        Dataset<Row> results;
        switch (job) {
            case "wordcount":
                results = wordcount(events, args.num("window"), args.num("slide"));
                break;
            case "nexmark-q5":
                results = q5(events);
                break;
            case "nexmark-q7":
                results = q7(events);
                break;
            default:
                throw new IllegalArgumentException("no Spark job for workload `" + job + "`");
        }
        ResultChannel channel = new ResultChannel(args.str("server"));
        Done done = new Done();
        spark.streams().addListener(done.listener(channel));
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

    /** Microseconds since log time 0 of a timestamp column, as nanoseconds (text). */
    private static Column nanos(String timestamp) {
        return expr("cast((unix_micros(" + timestamp + ") - " + offsetMicros + ") * 1000 as string)");
    }

    private static Column bounds(String w) {
        return concat(lit("["), nanos(w + ".start"), lit(","), nanos(w + ".end"), lit(")"));
    }

    private static String interval(long nanos) {
        return nanos / 1000 + " microseconds";
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

    static Dataset<Row> q5(Dataset<Row> events) {
        Dataset<Row> counts = bids(events)
                .groupBy(window(col("ts"), "10 seconds", "2 seconds").as("w"), col("auction"))
                .count();
        // each count's time is its window's last instant: a tumbling window of the slide's length
        // holds exactly the counts of one first-stage window
        Column hot = udaf(new HotItemsAgg(), Encoders.tuple(Encoders.LONG(), Encoders.LONG()))
                .apply(col("count"), col("auction"));
        Column first = concat(lit("["), expr("cast((unix_micros(w2.end) - 10000000 - " + offsetMicros + ") * 1000 as string)"), lit(","),
                nanos("w2.end"), lit(")"));
        return counts.groupBy(window(expr("window_time(w)"), "2 seconds").as("w2"))
                .agg(hot.as("hot"))
                .select(lit("hot-items"), concat(first, lit(" "), bounds("w2")), col("hot"));
    }

    static Dataset<Row> q7(Dataset<Row> events) {
        Column highest = udaf(new HighestAgg(),
                        Encoders.tuple(Encoders.LONG(), Encoders.LONG(), Encoders.LONG(), Encoders.LONG()))
                .apply(col("price"), col("auction"), col("bidder"), col("seq"));
        return bids(events)
                .groupBy(window(col("ts"), "10 seconds").as("w"))
                .agg(highest.as("highest"))
                .select(lit("highest-bids"), concat(lit("* "), bounds("w")), col("highest"));
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
     * Commits batches once Spark has, and tells when the job is done: after the batch that read
     * the end-of-input event, the next batch (Spark's no-data batch for the new watermark) has
     * emitted the remaining windows.
     */
    static final class Done {
        private final java.util.Set<Long> precommitted = java.util.concurrent.ConcurrentHashMap.newKeySet();
        private volatile boolean finished;
        private volatile long endSeenAt;

        void precommitted(long id) {
            precommitted.add(id);
        }

        StreamingQueryListener listener(ResultChannel channel) {
            return new StreamingQueryListener() {
                @Override
                public void onQueryStarted(QueryStartedEvent e) {}

                @Override
                public void onQueryTerminated(QueryTerminatedEvent e) {
                    finished = true;
                }

                @Override
                public void onQueryIdle(QueryIdleEvent e) {}

                @Override
                public void onQueryProgress(QueryProgressEvent e) {
                    long id = e.progress().batchId();
                    try {
                        if (precommitted.remove(id)) {
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
                        if (e.progress().numInputRows() == 0) {
                            finished = true;
                        }
                    }
                }
            };
        }

        void await(StreamingQuery query) throws Exception {
            while (!finished && query.isActive()) {
                // no no-data batch in ten seconds after the end: nothing was left to emit
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
                            options.get("end-event"), Long.parseLong(options.get("offset-micros")));
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
                    rows.add(new GenericInternalRow(new Object[] {END_MICROS, UTF8String.fromString(range.endEvent)}));
                    next = range.to;
                } else {
                    if (client == null) {
                        client = new LogClient(range.server);
                    }
                    long to = Math.min(range.to, next + CHUNK);
                    try {
                        long n = client.fetch(range.partition, next, to, (time, json) -> rows.add(
                                new GenericInternalRow(new Object[] {Math.floorDiv(time, 1000L) + range.offset,
                                        UTF8String.fromString(json)})));
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
