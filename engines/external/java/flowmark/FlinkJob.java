package flowmark;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
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
import org.apache.flink.streaming.api.functions.windowing.ProcessAllWindowFunction;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.api.windowing.assigners.SlidingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.assigners.WindowAssigner;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/**
 * flowmark's workloads on Apache Flink's DataStream API: word count, NEXMark q5 and q7.
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
        settings.put("state.backend.type", "hashmap");
        settings.put("pipeline.auto-watermark-interval", args.num("watermark-interval-ms") + " ms");
        // a failure inside the job ends the process; the harness restarts it from a checkpoint
        settings.put("restart-strategy.type", "none");
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
        DataStream<String> events = env.addSource(new LogSource(server, args.integer("partitions"), args.num("bound"),
                        args.num("watermark-interval-ms")), "log", Types.STRING)
                .uid("log");
        long lateness = args.num("lateness");
        String job = args.str("job");
        DataStream<String[]> results;
        switch (job) {
            case "wordcount":
                results = wordcount(events, args.num("window"), args.num("slide"), lateness);
                break;
            case "nexmark-q5":
                results = q5(events, lateness);
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
     * Reads the partitions {@code p} with {@code p mod parallelism == subtask} from the log
     * server. State: per partition {partition, next offset, largest event time seen}.
     */
    static final class LogSource extends RichParallelSourceFunction<String> implements CheckpointedFunction {
        private static final long NONE = Long.MIN_VALUE;
        private static final long CHUNK = 8192;
        private final String server;
        private final int partitions;
        private final long bound;
        private final long watermarkIntervalNs;
        private volatile boolean running = true;
        private transient ListState<long[]> state;
        private transient Map<Integer, long[]> positions;

        LogSource(String server, int partitions, long bound, long watermarkIntervalMs) {
            this.server = server;
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
            try (LogClient log = new LogClient(server)) {
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

        @Override
        public void cancel() {
            running = false;
        }
    }

    /**
     * Sends results to the harness as they come; pre-commits them at each checkpoint (the
     * checkpoint's id is their epoch) and commits when the checkpoint completes.
     */
    static final class ResultSink extends RichSinkFunction<String[]> implements CheckpointedFunction, CheckpointListener {
        private final String server;
        private transient ResultChannel channel;

        ResultSink(String server) {
            this.server = server;
        }

        @Override
        public void open(OpenContext ctx) throws Exception {
            channel = new ResultChannel(server);
        }

        @Override
        public void invoke(String[] r, Context ctx) throws Exception {
            channel.result(r[0], r[1], r[2]);
        }

        @Override
        public void initializeState(FunctionInitializationContext ctx) {}

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
