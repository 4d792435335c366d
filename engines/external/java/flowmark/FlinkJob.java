package flowmark;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.functions.CoGroupFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.legacy.RichSinkFunction;
import org.apache.flink.streaming.api.functions.source.legacy.RichParallelSourceFunction;
import org.apache.flink.streaming.api.functions.co.KeyedCoProcessFunction;
import org.apache.flink.streaming.api.functions.windowing.ProcessAllWindowFunction;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.api.windowing.assigners.EventTimeSessionWindows;
import org.apache.flink.streaming.api.windowing.assigners.SlidingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.assigners.WindowAssigner;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/**
 * flowmark's workloads on Apache Flink's DataStream API: word count, NEXMark q0, q1, q2, q3, q5,
 * q7 and q8, the Yahoo Streaming Benchmark, sessionization.
 *
 * <p>Time: every timestamp and watermark is flowmark's log time in nanoseconds, used by Flink
 * as an opaque long. Flink's window API takes {@link Duration}s and converts them to
 * milliseconds, so a window of N nanoseconds is written {@code Duration.ofMillis(N)}.
 *
 * <p>The source reads the harness's log server, keeps its offsets (and each partition's
 * watermark state) in checkpointed union list state, and emits per-partition watermarks
 * combined by minimum — flowmark's definition (largest event time seen minus the bound minus
 * one), as Flink's own per-split watermarks of its Kafka source. The sink is transactional
 * against the harness (see {@link ResultChannel}).
 */
public final class FlinkJob {
    private FlinkJob() {}

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        Map<String, String> settings = new HashMap<>();
        settings.put("execution.checkpointing.interval", args.num("checkpoint-interval-ms") + " ms");
        settings.put("execution.checkpointing.mode", "EXACTLY_ONCE");
        settings.put("execution.checkpointing.dir", args.str("checkpoints"));
        settings.put("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
        settings.put("execution.checkpointing.num-retained", "2");
        // hashmap: state on the heap; rocksdb: in an embedded RocksDB under the JVM's temporary
        // directory, incremental checkpoints uploading only the SST files that are new
        settings.put("state.backend.type", args.str("state-backend"));
        settings.put("execution.checkpointing.incremental", args.str("incremental"));
        settings.put("pipeline.auto-watermark-interval", args.num("watermark-interval-ms") + " ms");
        if (args.opt("cluster") == null) {
            // a failure inside the job ends the process; the harness restarts it from a checkpoint
            settings.put("restart-strategy.type", "none");
        } else {
            // on a cluster the JobManager restarts the job itself when a TaskManager dies
            settings.put("restart-strategy.type", "fixed-delay");
            settings.put("restart-strategy.fixed-delay.attempts", "1000");
            settings.put("restart-strategy.fixed-delay.delay", "100 ms");
        }
        if (args.opt("restore") != null) {
            settings.put("execution.state-recovery.path", args.str("restore"));
        }
        Configuration conf = Configuration.fromMap(settings);
        int parallelism = args.integer("parallelism");
        String cluster = args.opt("cluster");
        StreamExecutionEnvironment env;
        if (cluster == null) {
            env = StreamExecutionEnvironment.createLocalEnvironment(parallelism, conf);
        } else {
            int colon = cluster.lastIndexOf(':');
            env = StreamExecutionEnvironment.createRemoteEnvironment(
                    cluster.substring(0, colon), Integer.parseInt(cluster.substring(colon + 1)), conf, args.str("jar"));
            env.setParallelism(parallelism);
        }
        String server = args.str("server");
        // the log's servers (partition p on the p mod N-th); the engine process's own when not named
        String log = args.opt("log") != null ? args.opt("log") : server;
        DataStream<String> events = env.addSource(new LogSource(server, log, args.integer("partitions"), args.num("bound"),
                        args.num("watermark-interval-ms")), "log", Types.STRING)
                .uid("log");
        long lateness = args.num("lateness");
        String job = args.str("job");
        DataStream<String[]> results;
        switch (job) {
            case "wordcount":
                results = wordcount(events, args.num("window"), args.num("slide"), lateness);
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
                results = ysb(events, Events.campaigns(args.str("campaigns")), args.num("window"), lateness);
                break;
            case "nexmark-q5":
                results = q5(events, lateness);
                break;
            case "nexmark-q8":
                results = q8(events, lateness);
                break;
            case "nexmark-q7":
                results = q7(events, lateness);
                break;
            default:
                throw new IllegalArgumentException("no Flink job for workload `" + job + "`");
        }
        results.addSink(new ResultSink(server)).uid("sink").name("results");
        env.execute("flowmark " + job);
    }

    private static WindowAssigner<Object, TimeWindow> windows(long size, long slide) {
        return slide == 0 || slide == size
                ? TumblingEventTimeWindows.of(Duration.ofMillis(size))
                : SlidingEventTimeWindows.of(Duration.ofMillis(size), Duration.ofMillis(slide));
    }

    /** Word count: per word and window, the number of words. */
    static DataStream<String[]> wordcount(DataStream<String> events, long size, long slide, long lateness) {
        return events.map(Integer::parseInt).returns(Types.INT).uid("parse")
                .keyBy(w -> w, Types.INT)
                .window(windows(size, slide))
                .allowedLateness(Duration.ofMillis(lateness))
                .aggregate(new Count<>(), new Keyed<Integer>("counts"), Types.LONG, Types.LONG,
                        TypeInformation.of(String[].class))
                .uid("count");
    }

    /** NEXMark q0, q1 and q2: one result per bid, or none ({@link Nexmark#perBid}). */
    static DataStream<String[]> perBid(DataStream<String> events, String query) {
        return bids(events).flatMap((long[] b, Collector<String[]> out) -> {
            String[] r = Nexmark.perBid(query, b);
            if (r != null) {
                out.collect(r);
            }
        }).returns(TypeInformation.of(String[].class)).uid("per-bid");
    }

    /**
     * The Yahoo Streaming Benchmark: ad events filtered to views, each view's ad looked up in
     * the static table of campaigns, views counted per campaign in tumbling windows.
     */
    static DataStream<String[]> ysb(DataStream<String> events, int[] campaignOf, long size, long lateness) {
        return events.filter(Events::isView).uid("views")
                .map(json -> campaignOf[(int) Events.field(json, "ad")]).returns(Types.INT).uid("campaign")
                .keyBy(c -> c, Types.INT)
                .window(TumblingEventTimeWindows.of(Duration.ofMillis(size)))
                .allowedLateness(Duration.ofMillis(lateness))
                .aggregate(new Count<>(), new Keyed<Integer>("views-per-campaign"), Types.LONG, Types.LONG,
                        TypeInformation.of(String[].class))
                .uid("count");
    }

    /**
     * Sessionization: per user, the clicks ({@code {"user":..,"page":..}}) in each session window
     * (a gap of inactivity closes it), counted with their distinct pages.
     */
    static DataStream<String[]> sessions(DataStream<String> events, long gap) {
        return events.map(json -> new long[] {Events.field(json, "user"), Events.field(json, "page")})
                .returns(PrimitiveArrayTypeInfo.LONG_PRIMITIVE_ARRAY_TYPE_INFO).uid("parse")
                .keyBy(c -> c[0], Types.LONG)
                .window(EventTimeSessionWindows.withGap(Duration.ofMillis(gap)))
                .aggregate(new AggregateFunction<long[], Activity, Activity>() {
                    public Activity createAccumulator() {
                        return new Activity();
                    }

                    public Activity add(long[] click, Activity acc) {
                        acc.clicks++;
                        acc.pages.add(click[1]);
                        return acc;
                    }

                    public Activity getResult(Activity acc) {
                        return acc;
                    }

                    public Activity merge(Activity a, Activity b) {
                        a.clicks += b.clicks;
                        a.pages.addAll(b.pages);
                        return a;
                    }
                }, new ProcessWindowFunction<Activity, String[], Long, TimeWindow>() {
                    @Override
                    public void process(Long user, Context ctx, Iterable<Activity> activity, Collector<String[]> out) {
                        Activity a = activity.iterator().next();
                        String id = user + " " + Nexmark.window(ctx.window().getStart(), ctx.window().getEnd());
                        out.collect(new String[] {"sessions", id, a.clicks + " clicks, " + a.pages.size() + " pages"});
                    }
                }, TypeInformation.of(Activity.class), TypeInformation.of(Activity.class),
                        TypeInformation.of(String[].class))
                .uid("sessions");
    }

    /** A session's clicks and distinct pages. */
    public static final class Activity implements java.io.Serializable {
        public long clicks;
        public java.util.HashSet<Long> pages = new java.util.HashSet<>();
    }

    /**
     * NEXMark q3: people in Oregon, Idaho or California who sell in category 10, with each such
     * auction — a regular inner join of people and auctions on {@code person.id =
     * auction.seller}, its state kept for good: per seller, the person once registered and
     * the auctions that came before them.
     */
    static DataStream<String[]> q3(DataStream<String> events) {
        DataStream<long[]> people = events.flatMap((String json, Collector<long[]> out) -> {
            long[] p = Nexmark.person(json);
            if (p != null && Nexmark.q3Person(p)) {
                out.collect(p);
            }
        }).returns(PrimitiveArrayTypeInfo.LONG_PRIMITIVE_ARRAY_TYPE_INFO).uid("people");
        DataStream<long[]> auctions = events.flatMap((String json, Collector<long[]> out) -> {
            long[] a = Nexmark.auction(json);
            if (a != null && Nexmark.q3Category(a[3])) {
                out.collect(a);
            }
        }).returns(PrimitiveArrayTypeInfo.LONG_PRIMITIVE_ARRAY_TYPE_INFO).uid("auctions");
        return people.connect(auctions)
                .keyBy(p -> p[0], a -> a[1], Types.LONG)
                .process(new KeyedCoProcessFunction<Long, long[], long[], String[]>() {
                    private transient ValueState<long[]> person;
                    private transient ListState<Long> waiting;

                    @Override
                    public void open(OpenContext context) {
                        person = getRuntimeContext().getState(
                                new ValueStateDescriptor<>("person", PrimitiveArrayTypeInfo.LONG_PRIMITIVE_ARRAY_TYPE_INFO));
                        waiting = getRuntimeContext().getListState(new ListStateDescriptor<>("auctions", Types.LONG));
                    }

                    @Override
                    public void processElement1(long[] p, Context ctx, Collector<String[]> out) throws Exception {
                        person.update(p);
                        for (Long a : waiting.get()) {
                            out.collect(Nexmark.suggestion(p, a));
                        }
                        waiting.clear();
                    }

                    @Override
                    public void processElement2(long[] a, Context ctx, Collector<String[]> out) throws Exception {
                        long[] p = person.value();
                        if (p != null) {
                            out.collect(Nexmark.suggestion(p, a[0]));
                        } else {
                            waiting.add(a[0]);
                        }
                    }
                }, TypeInformation.of(String[].class))
                .uid("suggestions");
    }

    /** NEXMark q5: per 10 s window sliding by 2 s, the auctions with the most bids. */
    static DataStream<String[]> q5(DataStream<String> events, long lateness) {
        long second = 1_000_000_000L;
        DataStream<Tuple3<Long, Long, Long>> counts = bids(events)
                .keyBy(b -> b[0], Types.LONG)
                .window(windows(10 * second, 2 * second))
                .allowedLateness(Duration.ofMillis(lateness))
                .aggregate(new Count<>(), new ProcessWindowFunction<Long, Tuple3<Long, Long, Long>, Long, TimeWindow>() {
                    @Override
                    public void process(Long auction, Context ctx, Iterable<Long> count,
                            Collector<Tuple3<Long, Long, Long>> out) {
                        out.collect(Tuple3.of(auction, count.iterator().next(), ctx.window().getEnd()));
                    }
                }, Types.LONG, Types.LONG, Types.TUPLE(Types.LONG, Types.LONG, Types.LONG))
                .uid("count");
        // the counts carry their window's last instant as their time: a tumbling window of the
        // slide's length holds exactly the counts of one first-stage window
        return counts.keyBy(c -> c.f2, Types.LONG)
                .window(TumblingEventTimeWindows.of(Duration.ofMillis(2 * second)))
                .aggregate(new AggregateFunction<Tuple3<Long, Long, Long>, Nexmark.HotItems, Nexmark.HotItems>() {
                    public Nexmark.HotItems createAccumulator() {
                        return new Nexmark.HotItems();
                    }

                    public Nexmark.HotItems add(Tuple3<Long, Long, Long> c, Nexmark.HotItems acc) {
                        return acc.add(c.f0, c.f1);
                    }

                    public Nexmark.HotItems getResult(Nexmark.HotItems acc) {
                        return acc;
                    }

                    public Nexmark.HotItems merge(Nexmark.HotItems a, Nexmark.HotItems b) {
                        return a.merge(b);
                    }
                }, new ProcessWindowFunction<Nexmark.HotItems, String[], Long, TimeWindow>() {
                    @Override
                    public void process(Long end, Context ctx, Iterable<Nexmark.HotItems> hot, Collector<String[]> out) {
                        String key = Nexmark.window(end - 10 * second, end);
                        String id = key + " " + Nexmark.window(ctx.window().getStart(), ctx.window().getEnd());
                        out.collect(new String[] {"hot-items", id, hot.iterator().next().toString()});
                    }
                }, TypeInformation.of(Nexmark.HotItems.class), TypeInformation.of(Nexmark.HotItems.class),
                        TypeInformation.of(String[].class))
                .uid("hot");
    }

    /** NEXMark q7: per 10 s tumbling window, the bids with the highest price. */
    static DataStream<String[]> q7(DataStream<String> events, long lateness) {
        long second = 1_000_000_000L;
        return bids(events)
                .windowAll(TumblingEventTimeWindows.of(Duration.ofMillis(10 * second)))
                .allowedLateness(Duration.ofMillis(lateness))
                .aggregate(new AggregateFunction<long[], Nexmark.Highest, Nexmark.Highest>() {
                    public Nexmark.Highest createAccumulator() {
                        return new Nexmark.Highest();
                    }

                    public Nexmark.Highest add(long[] b, Nexmark.Highest acc) {
                        return acc.add(b[2], new long[] {b[0], b[1], b[3]});
                    }

                    public Nexmark.Highest getResult(Nexmark.Highest acc) {
                        return acc;
                    }

                    public Nexmark.Highest merge(Nexmark.Highest a, Nexmark.Highest b) {
                        return a.merge(b);
                    }
                }, new ProcessAllWindowFunction<Nexmark.Highest, String[], TimeWindow>() {
                    @Override
                    public void process(Context ctx, Iterable<Nexmark.Highest> h, Collector<String[]> out) {
                        String id = "* " + Nexmark.window(ctx.window().getStart(), ctx.window().getEnd());
                        out.collect(new String[] {"highest-bids", id, h.iterator().next().toString()});
                    }
                }, TypeInformation.of(Nexmark.Highest.class), TypeInformation.of(Nexmark.Highest.class),
                        TypeInformation.of(String[].class))
                .uid("highest");
    }

    /**
     * NEXMark q8: the people who opened an auction in the 10 s tumbling window in which they
     * registered — a window join of people and auctions on {@code person.id = auction.seller}
     * (Flink's co-group: one result per person and window, however many auctions).
     */
    static DataStream<String[]> q8(DataStream<String> events, long lateness) {
        long size = 10_000_000_000L;
        DataStream<long[]> people = events.flatMap((String json, Collector<long[]> out) -> {
            long[] p = Nexmark.person(json);
            if (p != null) {
                out.collect(p);
            }
        }).returns(PrimitiveArrayTypeInfo.LONG_PRIMITIVE_ARRAY_TYPE_INFO).uid("people");
        DataStream<long[]> auctions = events.flatMap((String json, Collector<long[]> out) -> {
            long[] a = Nexmark.auction(json);
            if (a != null) {
                out.collect(a);
            }
        }).returns(PrimitiveArrayTypeInfo.LONG_PRIMITIVE_ARRAY_TYPE_INFO).uid("auctions");
        return people.coGroup(auctions)
                .where(p -> p[0], Types.LONG)
                .equalTo(a -> a[1], Types.LONG)
                .window(TumblingEventTimeWindows.of(Duration.ofMillis(size)))
                .allowedLateness(Duration.ofMillis(lateness))
                .apply(new CoGroupFunction<long[], long[], String[]>() {
                    @Override
                    public void coGroup(Iterable<long[]> ps, Iterable<long[]> as, Collector<String[]> out) {
                        java.util.Iterator<long[]> p = ps.iterator();
                        if (p.hasNext() && as.iterator().hasNext()) {
                            long[] person = p.next();
                            // the window the person's event time falls in, as Flink assigned it
                            long start = TimeWindow.getWindowStartWithOffset(person[3], 0, size);
                            String id = person[0] + " " + Nexmark.window(start, start + size);
                            out.collect(new String[] {"new-sellers", id, Nexmark.name(person)});
                        }
                    }
                }, TypeInformation.of(String[].class))
                .uid("new-sellers");
    }

    private static DataStream<long[]> bids(DataStream<String> events) {
        return events.flatMap((String json, Collector<long[]> out) -> {
            long[] b = Nexmark.bid(json);
            if (b != null) {
                out.collect(b);
            }
        }).returns(PrimitiveArrayTypeInfo.LONG_PRIMITIVE_ARRAY_TYPE_INFO).uid("bids");
    }

    /** Counts. */
    static final class Count<T> implements AggregateFunction<T, Long, Long> {
        public Long createAccumulator() {
            return 0L;
        }

        public Long add(T value, Long acc) {
            return acc + 1;
        }

        public Long getResult(Long acc) {
            return acc;
        }

        public Long merge(Long a, Long b) {
            return a + b;
        }
    }

    /** A keyed window's result as flowmark writes it: {@code <key> [start,end)} and the value. */
    static final class Keyed<K> extends ProcessWindowFunction<Long, String[], K, TimeWindow> {
        private final String sink;

        Keyed(String sink) {
            this.sink = sink;
        }

        @Override
        public void process(K key, Context ctx, Iterable<Long> value, Collector<String[]> out) {
            String id = key + " " + Nexmark.window(ctx.window().getStart(), ctx.window().getEnd());
            out.collect(new String[] {sink, id, value.iterator().next().toString()});
        }
    }

    /**
     * Reads the partitions {@code p} with {@code p mod parallelism == subtask} from the log's
     * servers, and reports its checkpoints to the engine process's. State: per partition {partition, next offset, largest event time seen}.
     */
    static final class LogSource extends RichParallelSourceFunction<String> implements CheckpointedFunction {
        private static final long NONE = Long.MIN_VALUE;
        private static final long CHUNK = 8192;
        private final String server;
        private final String log;
        private final int partitions;
        private final long bound;
        private final long watermarkIntervalNs;
        private volatile boolean running = true;
        private transient ListState<long[]> state;
        private transient Map<Integer, long[]> positions;
        private transient LogClient reports;

        LogSource(String server, String log, int partitions, long bound, long watermarkIntervalMs) {
            this.server = server;
            this.log = log;
            this.partitions = partitions;
            this.bound = bound;
            this.watermarkIntervalNs = watermarkIntervalMs * 1_000_000L;
        }

        @Override
        public void initializeState(FunctionInitializationContext ctx) throws Exception {
            state = ctx.getOperatorStateStore()
                    .getUnionListState(new ListStateDescriptor<>("positions", PrimitiveArrayTypeInfo.LONG_PRIMITIVE_ARRAY_TYPE_INFO));
            int subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
            int tasks = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
            positions = new HashMap<>();
            for (int p = subtask; p < partitions; p += tasks) {
                positions.put(p, new long[] {p, 0, NONE});
            }
            if (ctx.isRestored()) {
                for (long[] s : state.get()) {
                    if (positions.containsKey((int) s[0])) {
                        positions.put((int) s[0], s.clone());
                    }
                }
            }
        }

        @Override
        public void snapshotState(FunctionSnapshotContext ctx) throws Exception {
            state.clear();
            for (long[] s : positions.values()) {
                state.add(s.clone());
            }
            reportTrigger(ctx.getCheckpointId());
        }

        /**
         * Tells the harness that this source took its snapshot for a checkpoint: the first
         * source's report is the checkpoint's trigger, from which its duration is measured. On a
         * connection of its own (the reading one belongs to the source's thread); a report that
         * fails is dropped, as it only serves a metric.
         */
        private void reportTrigger(long checkpoint) {
            try {
                if (reports == null) {
                    reports = new LogClient(server);
                }
                reports.checkpoint(checkpoint);
            } catch (IOException e) {
                closeReports();
            }
        }

        private void closeReports() {
            try {
                if (reports != null) {
                    reports.close();
                }
            } catch (IOException e) {
                // closing a broken connection: nothing to do
            }
            reports = null;
        }

        @Override
        public void close() throws Exception {
            closeReports();
            super.close();
        }

        private long watermark() {
            long wm = Long.MAX_VALUE;
            for (long[] s : positions.values()) {
                wm = Math.min(wm, s[2] == NONE ? NONE : s[2] - bound - 1);
            }
            return wm;
        }

        @Override
        public void run(SourceContext<String> ctx) throws Exception {
            List<long[]> mine = new ArrayList<>(positions.values());
            if (mine.isEmpty()) {
                return;
            }
            long emitted = NONE;
            long lastEmit = 0;
            try (LogClient log = new LogClient(this.log)) {
                while (running) {
                    long[] counts = log.count();
                    boolean done = counts[counts.length - 1] == 1;
                    boolean caughtUp = true;
                    for (long[] s : mine) {
                        int p = (int) s[0];
                        if (counts[p] <= s[1]) {
                            continue;
                        }
                        long to = Math.min(counts[p], s[1] + CHUNK);
                        caughtUp &= to == counts[p];
                        synchronized (ctx.getCheckpointLock()) {
                            log.fetch(p, s[1], to, (time, json) -> {
                                ctx.collectWithTimestamp(json, time);
                                s[1]++;
                                if (time > s[2]) {
                                    s[2] = time;
                                }
                            });
                        }
                    }
                    long wm = watermark();
                    long now = System.nanoTime();
                    if (wm > emitted && wm != NONE && now - lastEmit >= watermarkIntervalNs) {
                        synchronized (ctx.getCheckpointLock()) {
                            ctx.emitWatermark(new Watermark(wm));
                        }
                        emitted = wm;
                        lastEmit = now;
                    }
                    if (done && caughtUp) {
                        boolean all = true;
                        for (long[] s : mine) {
                            all &= s[1] >= counts[(int) s[0]];
                        }
                        if (all) {
                            return;
                        }
                    }
                    if (caughtUp) {
                        Thread.sleep(1);
                    }
                }
            }
        }

        /**
         * The engine cancels this attempt: at its end (on a cluster), or because the
         * JobManager noticed a failure — a TaskManager lost, through its heartbeats or its
         * connection — and restarts the job. The first source to hear it tells the harness:
         * the engine's own detection. The restart stops the input until the new attempt reads.
         */
        @Override
        public void cancel() {
            running = false;
            int attempt = getRuntimeContext().getTaskInfo().getAttemptNumber();
            try (LogClient failures = new LogClient(server)) {
                failures.failure("flink-attempt-" + attempt, 0, true);
            } catch (IOException e) {
                // the harness is gone or going: nothing to tell
            }
        }
    }

    /**
     * Sends results to the harness as they come; pre-commits them at each checkpoint (the
     * checkpoint's id is their epoch) and commits when the checkpoint completes.
     */
    static final class ResultSink extends RichSinkFunction<String[]> implements CheckpointedFunction, CheckpointListener {
        private final String server;
        private transient ResultChannel channel;
        /** The checkpoint this attempt restored from (-1: none). */
        private transient long restoredFrom;

        ResultSink(String server) {
            this.server = server;
        }

        /**
         * Each attempt of the job names itself: after the engine restarted it (a TaskManager
         * died on a cluster) the harness drops what cancelled attempts sent and did not
         * pre-commit, and commits what they pre-committed up to the restored checkpoint.
         */
        @Override
        public void open(OpenContext ctx) throws Exception {
            int attempt = getRuntimeContext().getTaskInfo().getAttemptNumber();
            channel = new ResultChannel(server, attempt);
            if (attempt > 0) {
                channel.restarted(restoredFrom);
            }
        }

        @Override
        public void invoke(String[] r, Context ctx) throws Exception {
            channel.result(r[0], r[1], r[2]);
        }

        @Override
        public void initializeState(FunctionInitializationContext ctx) {
            restoredFrom = ctx.getRestoredCheckpointId().orElse(-1L);
        }

        @Override
        public void snapshotState(FunctionSnapshotContext ctx) throws Exception {
            channel.precommit(ctx.getCheckpointId());
        }

        @Override
        public void notifyCheckpointComplete(long id) throws Exception {
            channel.commit(id);
        }

        @Override
        public void close() throws Exception {
            if (channel != null) {
                channel.close();
            }
        }
    }
}
