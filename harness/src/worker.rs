//! The engine process: `flowmark worker SPEC`, started by the harness in its own process group.
//!
//! It builds the run's job and log, runs the engine on the shared schedule (log time 0 is the
//! origin the harness chose), and reports on stdout, one JSON [`Report`] per line: a sample of
//! the engine's counters every sampling interval, then `finished` or `failed`. Results go to
//! files in the run's directory, where the harness reads them after the run. After a SIGKILL
//! the harness starts it again with the same spec: the engine recovers from that directory.

use crate::spec::WorkerSpec;
use anyhow::{Context, Result, anyhow};
use flowmark_core::protocol::{Report, Sample, TaskSample};
use flowmark_core::{Job, Log, LogClock, Metrics, Time};
use flowmark_workloads::Visitor;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Runs the engine process for the spec in `path`; returns when the engine has finished.
pub fn main(path: &Path) -> Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let spec: WorkerSpec =
        serde_json::from_str(&text).with_context(|| format!("{} is not a worker spec", path.display()))?;
    let run = spec.run.clone();
    let outcome = run.workload.visit(&run.log, Work { spec }).map_err(|e| anyhow!("workload: {e}"));
    let outcome = outcome.and_then(|r| r);
    if let Err(e) = &outcome {
        send(&Report::Failed { message: format!("{e:#}") });
    }
    outcome
}

/// Sends one report to the harness.
pub fn send(report: &Report) {
    let mut out = std::io::stdout().lock();
    let line = serde_json::to_string(report).expect("reports serialize");
    // the harness may be gone; nothing useful to do then
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

struct Work {
    spec: WorkerSpec,
}

impl Visitor for Work {
    type Out = Result<()>;
    fn visit<J: Job, L: Log<Event = J::Event>>(self, job: J, log: L) -> Result<()> {
        self.spec.run.engine.run(&job, &log, &self.spec)
    }
}

/// Runs an engine (`run`, given the counters it keeps) while a sampler thread reports them
/// every sampling interval, then reports the last sample and `finished`. With
/// `wait_for_input`, nothing is reported until the engine has read its first input.
pub fn sampled(
    spec: &WorkerSpec,
    wait_for_input: bool,
    run: impl FnOnce(Arc<Metrics>) -> Result<()>,
) -> Result<()> {
    let clock = LogClock::new(spec.origin);
    let metrics = Arc::new(Metrics::default());
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (metrics, stop, every) = (metrics.clone(), stop.clone(), spec.sample_every);
        std::thread::Builder::new()
            .name("sampler".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_nanos(every as u64));
                    if wait_for_input && metrics.input_started.load(Ordering::Relaxed) == i64::MIN {
                        continue;
                    }
                    send(&Report::Sample(sample(&metrics, clock.now())));
                }
            })
            .context("starting the sampler")?
    };
    let started = Instant::now();
    let result = run(metrics.clone());
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    result?;
    send(&Report::Sample(sample(&metrics, clock.now())));
    send(&Report::Finished {
        at: clock.now(),
        events: metrics.events_in.load(Ordering::Relaxed),
        busy: started.elapsed().as_nanos() as Time,
    });
    Ok(())
}

/// The engine's counters now.
pub fn sample(m: &Metrics, at: Time) -> Sample {
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let stamp = |c: &std::sync::atomic::AtomicI64| Some(c.load(Ordering::Relaxed)).filter(|&t| t != i64::MIN);
    let (cpu, peak_rss) = resources();
    Sample {
        at,
        events_in: load(&m.events_in),
        results_out: load(&m.results_out),
        backlog: m.backlog(at),
        watermark: m.watermark.load(Ordering::Relaxed),
        late_events: load(&m.late_events),
        restarts: load(&m.restarts),
        failure_noticed: stamp(&m.failure_noticed),
        input_started: stamp(&m.input_started),
        commits: m.take_commits(),
        checkpoint_bytes: load(&m.last_checkpoint_bytes),
        cpu,
        peak_rss,
        task_cpu: m.task_cpu.load(Ordering::Relaxed),
        rate_limit: m.rate_limit(),
        tasks: m
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|t| TaskSample {
                stage: t.stage.clone(),
                index: t.index,
                events: load(&t.events),
                blocked: t.blocked.load(Ordering::Relaxed),
            })
            .collect(),
    }
}

/// CPU time (user + system, nanoseconds) and peak resident memory (bytes) of this process and
/// the processes it started (a real engine's JVM), which run the engine too.
///
/// The peak is the kernel's high-water mark of each program's address space (`VmHWM`, summed
/// over the processes), not getrusage's `ru_maxrss`: that one survives `exec`, so it would count
/// the harness's memory at the moment it forked the engine process.
fn resources() -> (Time, u64) {
    use nix::sys::resource::{UsageWho, getrusage};
    let ns = |t: nix::sys::time::TimeVal| t.tv_sec() * 1_000_000_000 + t.tv_usec() * 1_000;
    let usage =
        |who| getrusage(who).map_or((0, 0), |u| (ns(u.user_time()) + ns(u.system_time()), u.max_rss()));
    let (own, _) = usage(UsageWho::RUSAGE_SELF);
    // children that have exited and been waited for (ru_maxrss: the largest of them, KiB) …
    let (reaped, reaped_peak) = usage(UsageWho::RUSAGE_CHILDREN);
    // … and those still running
    let (live, live_peak) = children(std::process::id()).fold((0, 0), |(c, p), (child, ticks)| {
        (c + ticks * (1_000_000_000 / CLOCK_TICKS), p + peak_kib(&child.to_string()))
    });
    let peak = peak_kib("self") + live_peak.max(u64::try_from(reaped_peak).unwrap_or(0));
    (own + reaped + live, peak * 1024)
}

/// The kernel's clock ticks per second for `/proc/<pid>/stat` times (`USER_HZ`, 100 on Linux).
const CLOCK_TICKS: i64 = 100;

/// `VmHWM` of `/proc/<pid>`, KiB (0 when unknown).
pub(crate) fn peak_kib(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_string();
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// The live children of `parent` and their CPU time so far (user + system, clock ticks).
fn children(parent: u32) -> impl Iterator<Item = (u32, i64)> {
    std::fs::read_dir("/proc").into_iter().flatten().filter_map(move |e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // fields after the command name (which may hold spaces): state, ppid, …, utime (12th),
        // stime (13th)
        let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
        (fields.get(1)?.parse::<u32>().ok()? == parent).then_some(())?;
        let ticks = fields.get(11)?.parse::<i64>().ok()? + fields.get(12)?.parse::<i64>().ok()?;
        Some((pid, ticks))
    })
}
