//! Sustainable throughput (Karimov et al., "Benchmarking Distributed Stream Data Processing
//! Systems", ICDE 2018): the highest constant input rate at which the backlog — how long the
//! oldest unread event has waited since its arrival — stays bounded over the measured period.
//!
//! The search doubles the rate from a start until a probe fails, then bisects between the last
//! rate sustained and the first not. A probe is a short run judged on its backlog alone: it is
//! sustained when the backlog never exceeds [`BOUND`] plus the batch interval (a micro-batch
//! engine's backlog waits a whole interval by design) and does not grow over the probe — the
//! backlog in its last second is within [`GROWTH`] of that in its first. Then latency is
//! measured, and checked against the reference, at fractions of the rate found.

use crate::execute::{self, Interrupted};
use crate::measure::Timeline;
use crate::progress::Progress;
use crate::runner;
use crate::spec::{EngineSpec, Injection, RunSpec};
use anyhow::{Result, bail};
use flowmark_core::TimeDomain;
use flowmark_core::time::{self, MILLISECOND, SECOND, Time};
use flowmark_reports::results::{Probe, ResultSet, Search};
use flowmark_reports::slug;
use flowmark_workloads::{Disorder, LogSpec, RateProfile, WorkloadSpec};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

/// The largest backlog a sustained probe may show, beyond the batch interval.
pub const BOUND: Time = SECOND;

/// How much the backlog may grow from the first to the last second of a probe.
pub const GROWTH: Time = 250 * MILLISECOND;

/// How to search.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The first rate tried.
    pub start: f64,
    /// Probes in all.
    pub steps: u32,
    /// The measured period of a probe.
    pub probe: Time,
    /// Its warm-up.
    pub warmup: Time,
    /// Fractions of the rate found at which latency is measured.
    pub fractions: Vec<f64>,
}

/// `flowmark throughput`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The engine: dataflow, microbatch, flink or spark.
    #[arg(long, default_value = "dataflow")]
    engine: String,
    /// The workload (see `flowmark list`).
    #[arg(long, default_value = "wordcount")]
    workload: String,
    /// Tasks per operator or stage.
    #[arg(long, default_value_t = 2)]
    parallelism: usize,
    /// Batch interval (micro-batch) or trigger interval (spark).
    #[arg(long, default_value = "1s", value_parser = time::duration::parse)]
    batch: Time,
    /// Checkpoint interval (dataflow, flink).
    #[arg(long, default_value = "1s", value_parser = time::duration::parse)]
    checkpoint: Time,
    /// The first rate tried, events per second.
    #[arg(long, default_value_t = 250_000.0)]
    start: f64,
    /// Probes in all.
    #[arg(long, default_value_t = 6)]
    steps: u32,
    /// Measured period of each probe.
    #[arg(long, default_value = "6s", value_parser = time::duration::parse)]
    probe: Time,
    /// Warm-up of each probe.
    #[arg(long, default_value = "2s", value_parser = time::duration::parse)]
    warmup: Time,
    /// Fractions of the sustainable rate to measure latency at.
    #[arg(long, value_delimiter = ',', default_value = "1.0,0.8,0.5")]
    fractions: Vec<f64>,
    /// Seed of the log.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Source partitions.
    #[arg(long, default_value_t = 4)]
    partitions: u32,
    /// Largest delay of an event behind its arrival (uniform disorder).
    #[arg(long, default_value = "200ms", value_parser = time::duration::parse)]
    disorder: Time,
    /// Where result directories go.
    #[arg(long, default_value = "results")]
    out: PathBuf,
}

/// Runs `flowmark throughput`.
pub fn main(args: &Args, cancel: &AtomicBool) -> Result<ExitCode> {
    let Some(workload) = WorkloadSpec::catalog().into_iter().find(|w| w.name() == args.workload) else {
        let names: Vec<String> = WorkloadSpec::catalog().iter().map(|w| w.name()).collect();
        bail!("unknown workload `{}`; the workloads are: {}", args.workload, names.join(", "));
    };
    let engine = match args.engine.as_str() {
        "dataflow" => EngineSpec::Dataflow {
            parallelism: args.parallelism,
            checkpoint_interval: args.checkpoint,
            buffer_timeout: 5 * MILLISECOND,
            delivery: Default::default(),
        },
        "microbatch" => EngineSpec::Microbatch {
            parallelism: args.parallelism,
            batch_interval: args.batch,
            time_domain: TimeDomain::Event,
            backpressure: false,
        },
        "flink" => EngineSpec::Flink {
            parallelism: args.parallelism,
            checkpoint_interval: args.checkpoint,
            watermark_interval: 200 * MILLISECOND,
            cluster: None,
            advertise: "127.0.0.1".into(),
        },
        "spark" => EngineSpec::Spark {
            parallelism: args.parallelism,
            trigger: args.batch,
            master: None,
            advertise: "127.0.0.1".into(),
        },
        other => bail!("--engine must be dataflow, microbatch, flink or spark, got `{other}`"),
    };
    if engine.is_external() {
        crate::external::job_args(&workload).map_err(|e| anyhow::anyhow!("{}: {e}", args.workload))?;
        crate::external::prepare(&engine)?;
    }
    if args.parallelism == 0 || args.batch <= 0 || args.checkpoint <= 0 || args.probe <= 0 || args.warmup < 0
    {
        bail!("--parallelism, --batch, --checkpoint and --probe must be positive, --warmup zero or more");
    }
    if matches!(engine, EngineSpec::Microbatch { .. } | EngineSpec::Spark { .. })
        && (args.probe < 3 * args.batch || args.warmup < args.batch)
    {
        bail!(
            "a micro-batch probe must span at least 3 batch intervals (--probe) after a warm-up of one (--warmup)"
        );
    }
    if !(args.start.is_finite() && args.start > 0.0) || args.steps == 0 {
        bail!("--start must be a positive rate and --steps at least 1");
    }
    if let Some(f) = args.fractions.iter().find(|f| !(**f > 0.0 && **f <= 1.0)) {
        bail!("--fractions must lie in (0, 1], got {f}");
    }
    let log = LogSpec {
        seed: args.seed,
        partitions: args.partitions,
        rate: RateProfile::constant(args.start),
        disorder: Disorder::uniform(args.disorder),
    };
    log.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let base = base_run(engine, workload, log, "uniform", args.warmup, args.probe);
    let plan = Plan {
        start: args.start,
        steps: args.steps,
        probe: args.probe,
        warmup: args.warmup,
        fractions: args.fractions.clone(),
    };
    let dir = runner::new_dir(&args.out, &format!("throughput-{}-{}", args.engine, args.workload));
    let manifest = flowmark_reports::results::Manifest {
        suite: format!("throughput-{}-{}", args.engine, args.workload),
        suite_file: String::new(),
        suite_text: String::new(),
        seed: args.seed,
        planned_runs: args.fractions.len(),
        started: crate::machine::timestamp(),
        revision: crate::machine::revision(),
        machine: crate::machine::machine(),
        versions: crate::machine::versions(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    ResultSet::write_manifest(&dir, &manifest)?;
    println!(
        "flowmark: sustainable throughput of {} on {}, into {}",
        args.engine,
        args.workload,
        dir.display()
    );
    let progress = Progress::new(u64::from(args.steps) + args.fractions.len() as u64, 0);
    let Ok(search) = search(&base, &plan, &dir, cancel, &progress)? else {
        println!("interrupted");
        return Ok(ExitCode::from(130));
    };
    let set = ResultSet::load(&dir)?;
    set.write_tables()?;
    match search.upper {
        Some(upper) => println!("sustainable: {:.0} events/s (not {upper:.0})", search.sustainable),
        None => println!(
            "sustainable: at least {:.0} events/s (every probe was; raise --start or --steps)",
            search.sustainable
        ),
    }
    for r in &set.runs {
        println!("  {}", runner::summary_line(r));
    }
    let ok = set.runs.iter().all(|r| r.status == flowmark_reports::results::Status::Ok);
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// A run of `engine` on `workload` with no failure; its rate is set per probe.
pub fn base_run(
    engine: EngineSpec,
    workload: WorkloadSpec,
    log: LogSpec,
    disorder: &str,
    warmup: Time,
    measure: Time,
) -> RunSpec {
    let key = slug(&format!(
        "{}.{}.{}",
        workload.name(),
        engine.name(),
        engine.settings().values().cloned().collect::<Vec<_>>().join("-")
    ));
    RunSpec {
        id: key.clone(),
        key,
        repetition: 0,
        engine,
        workload,
        rate: 0.0,
        log,
        disorder: disorder.into(),
        failure: Injection { name: "none".into(), ..Default::default() },
        warmup,
        measure,
        // an engine that cannot keep up takes as long again to drain its backlog
        timeout: 3 * (warmup + measure) + 30 * SECOND,
    }
}

fn at_rate(base: &RunSpec, rate: f64, label: &str) -> RunSpec {
    let mut run = base.clone();
    run.rate = rate;
    run.log.rate = RateProfile::constant(rate);
    run.key = slug(&format!("{}.{label}", base.key));
    run.id = format!("{}.0", run.key);
    run
}

/// Searches `base`'s sustainable rate, then measures runs at fractions of it, all into `dir`.
pub fn search(
    base: &RunSpec,
    plan: &Plan,
    dir: &Path,
    cancel: &AtomicBool,
    progress: &Progress,
) -> Result<Result<Search, Interrupted>> {
    let work_root = std::env::temp_dir().join(format!("flowmark-search-{}", std::process::id()));
    let mut base = base.clone();
    base.warmup = plan.warmup;
    base.measure = plan.probe;
    let interval = match base.engine {
        EngineSpec::Microbatch { batch_interval, .. } => batch_interval,
        EngineSpec::Spark { trigger, .. } => trigger,
        _ => 0,
    };
    let (mut good, mut bad): (Option<f64>, Option<f64>) = (None, None);
    let mut rate = plan.start;
    let mut probes = Vec::new();
    for _ in 0..plan.steps {
        let run = at_rate(&base, rate, &format!("probe-{rate:.0}"));
        progress.start_run(&run.id, run.end());
        let observed = match execute::observe(&run, &work_root.join(&run.id), cancel, |t| progress.tick(t))? {
            Ok(o) => o,
            Err(i) => return Ok(Err(i)),
        };
        let _ = std::fs::remove_dir_all(work_root.join(&run.id));
        let line = Timeline::new(&observed);
        let (w, end) = (run.warmup, run.end());
        let mut max_backlog: Time = 0;
        let mut t = w;
        while t <= end {
            max_backlog = max_backlog.max(line.backlog(t));
            t += execute::SAMPLE_EVERY;
        }
        let first = (w..w + SECOND)
            .step_by(execute::SAMPLE_EVERY as usize)
            .map(|t| line.backlog(t))
            .max()
            .unwrap_or(0);
        let last = (end - SECOND..end)
            .step_by(execute::SAMPLE_EVERY as usize)
            .map(|t| line.backlog(t))
            .max()
            .unwrap_or(0);
        let sustained =
            observed.failure.is_none() && max_backlog <= BOUND + interval && last <= first + GROWTH;
        let probe = Probe {
            rate,
            sustained,
            max_backlog_ms: max_backlog as f64 / 1e6,
            end_backlog_ms: last as f64 / 1e6,
        };
        progress.end_run(&format!(
            "probe {rate:.0}/s: {} (backlog max {:.1} ms, at the end {:.1} ms)",
            if sustained { "sustained" } else { "NOT sustained" },
            probe.max_backlog_ms,
            probe.end_backlog_ms
        ));
        probes.push(probe);
        if sustained {
            good = Some(rate);
            rate = bad.map_or(rate * 2.0, |b| (rate + b) / 2.0);
        } else {
            bad = Some(rate);
            rate = good.map_or(rate / 2.0, |g| (g + rate) / 2.0);
        }
    }
    let sustainable = good.unwrap_or(0.0);
    let mut runs = Vec::new();
    if sustainable > 0.0 {
        for &f in &plan.fractions {
            let mut run = at_rate(&base, (sustainable * f).round(), &format!("sustainable-x{f}"));
            // latency at a fraction of the sustainable rate is measured like any run
            run.measure = plan.probe;
            progress.start_run(&run.id, run.end());
            let record = match runner::one(&run, dir, &work_root, cancel, progress)? {
                Ok(r) => r,
                Err(i) => return Ok(Err(i)),
            };
            progress.end_run(&runner::summary_line(&record));
            ResultSet::write_run(dir, &record)?;
            runs.push(record.id);
        }
    }
    // the single-thread baseline on the same log, at the rate found: its speed depends on the
    // log's density (events per window and key), so it is measured at the same one
    let mut baseline = None;
    if sustainable > 0.0 {
        let mut run = at_rate(&base, sustainable, "baseline");
        run.engine = EngineSpec::Baseline;
        progress.start_run(&run.id, run.end());
        let observed = match execute::observe(&run, &work_root.join(&run.id), cancel, |t| progress.tick(t))? {
            Ok(o) => o,
            Err(i) => return Ok(Err(i)),
        };
        baseline =
            observed.finished.map(|(events, busy)| events as f64 / (busy.max(1) as f64 / SECOND as f64));
        progress.end_run(&format!(
            "baseline on the same log: {}",
            baseline.map_or("failed".into(), |b| format!("{:.2} M events/s single-threaded", b / 1e6))
        ));
    }
    progress.finish();
    let _ = std::fs::remove_dir_all(&work_root);
    let search = Search {
        baseline,
        engine: base.engine.name().into(),
        settings: base.engine.settings(),
        workload: base.workload.name(),
        probes,
        sustainable,
        upper: bad,
        runs,
    };
    ResultSet::write_search(dir, &base.key, &search)?;
    Ok(Ok(search))
}
