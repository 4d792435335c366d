//! The first step of a run: its engine process on the shared schedule, with its crashes and
//! restarts and its timeout, and everything the harness saw of it.

use crate::process::{EngineProcess, Event};
use crate::spec::{CrashMoment, RunSpec, WorkerSpec};
use anyhow::{Context, Result};
use flowmark_core::LogClock;
use flowmark_core::clock::monotonic_now;
use flowmark_core::protocol::{Report, Sample};
use flowmark_core::time::{MILLISECOND, Time, human};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often the engine process reports its counters.
pub const SAMPLE_EVERY: Time = 100 * MILLISECOND;

/// Head start between writing the spec and log time 0, so that the process is up before its
/// first events arrive.
const HEAD_START: Time = 300 * MILLISECOND;

/// One engine process of a run.
#[derive(Clone, Debug, Default)]
pub struct Incarnation {
    /// When the harness started it (log time).
    pub spawned: Time,
    /// When the harness SIGKILLed it, if it did.
    pub killed: Option<Time>,
    /// Its crash was to come at a moment (`during`) that did not come within
    /// [`CrashMoment::WAIT`]: it came at its time plus the wait, wherever the engine was.
    pub moment_missed: bool,
    /// Its samples, in order.
    pub samples: Vec<Sample>,
}

/// Everything the harness saw of a run's engine processes.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// The processes, in order.
    pub incarnations: Vec<Incarnation>,
    /// Events and busy time the last process reported when it finished.
    pub finished: Option<(u64, Time)>,
    /// Why the run failed, if it did.
    pub failure: Option<String>,
    /// Wall time of the run.
    pub wall: Duration,
    /// CPU time the harness process itself spent meanwhile (user + system, all its threads).
    pub harness_cpu: Time,
    /// When the harness stopped the run early because its [`GiveUp`] rule was met, and the
    /// backlog that met it.
    pub gave_up: Option<(Time, Time)>,
    /// When the harness killed a worker of the engine's cluster, and which.
    pub worker_killed: Option<(Time, String)>,
}

/// When a run's outcome is already decided and the harness stops it early: once a sample
/// taken at or after `after` shows a backlog above `backlog_above`. A throughput probe whose
/// backlog has passed the bound is not sustained whatever comes next, and draining its
/// backlog would only take time.
#[derive(Clone, Copy, Debug)]
pub struct GiveUp {
    /// From when on (log time) the rule holds.
    pub after: Time,
    /// The backlog beyond which the run is stopped.
    pub backlog_above: Time,
}

impl GiveUp {
    /// Whether `sample` meets the rule.
    fn met_by(&self, sample: &Sample) -> bool {
        sample.at >= self.after && sample.backlog > self.backlog_above
    }
}

/// CPU time this process has spent so far, user + system, over all its threads.
fn own_cpu() -> Time {
    use nix::sys::resource::{UsageWho, getrusage};
    let ns = |t: nix::sys::time::TimeVal| t.tv_sec() * 1_000_000_000 + t.tv_usec() * 1_000;
    getrusage(UsageWho::RUSAGE_SELF).map_or(0, |u| ns(u.user_time()) + ns(u.system_time()))
}

/// The run was interrupted (Ctrl-C): nothing of it is kept.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// Runs the engine process(es) of `run` in `dir` on the shared schedule, injecting its crashes,
/// and stops early if `give_up` says so. `tick` is called now and then with the log time, for
/// progress.
pub fn observe(
    run: &RunSpec,
    dir: &Path,
    cancel: &AtomicBool,
    give_up: Option<GiveUp>,
    mut tick: impl FnMut(Time),
) -> Result<Result<Observed, Interrupted>> {
    let started = Instant::now();
    let cpu_before = own_cpu();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let origin = monotonic_now() + HEAD_START;
    let clock = LogClock::new(origin);
    let spec = WorkerSpec { run: run.clone(), origin, dir: dir.to_path_buf(), sample_every: SAMPLE_EVERY };
    let spec_path = dir.join("worker.json");
    std::fs::write(&spec_path, serde_json::to_vec_pretty(&spec)?)
        .with_context(|| format!("writing {}", spec_path.display()))?;
    let stderr = dir.join("engine.stderr");
    let deadline = started + Duration::from_nanos(run.timeout as u64);
    let mut crashes: Vec<Time> = run.failure.crashes.clone();
    crashes.reverse();
    let mut kill_worker = run.failure.kill_worker;
    let mut out = Observed::default();
    let mut process = EngineProcess::start(&spec_path, &stderr)?;
    out.incarnations.push(Incarnation { spawned: clock.now(), ..Default::default() });
    let mut garbage = Vec::new();
    loop {
        if cancel.load(Ordering::Relaxed) {
            process.kill();
            return Ok(Err(Interrupted));
        }
        if Instant::now() >= deadline {
            process.kill();
            out.failure = Some(format!("timed out after {}: the engine was killed", human(run.timeout)));
            break;
        }
        let now = clock.now();
        tick(now);
        if let Some(&at) = crashes.last()
            && now >= at
        {
            // the crash's moment, or its time plus the longest wait for it
            let reached = run.failure.crash_during.reached(dir);
            if now < at + CrashMoment::WAIT && !reached {
                // each look walks the engine's directory: often enough for the shortest moment
                // (a write paused for 10 ms), seldom enough to leave the engine its CPU
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            crashes.pop();
            process.kill();
            let killed = clock.now();
            if let Some(i) = out.incarnations.last_mut() {
                i.killed = Some(killed);
                i.moment_missed = !reached;
            }
            // the scenario's restart delay, then a new process
            while clock.now() < killed + run.failure.restart_delay {
                if cancel.load(Ordering::Relaxed) {
                    return Ok(Err(Interrupted));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            process = EngineProcess::start(&spec_path, &stderr)?;
            out.incarnations.push(Incarnation { spawned: clock.now(), ..Default::default() });
            continue;
        }
        if let Some(at) = kill_worker
            && now >= at
        {
            kill_worker = None;
            match kill_one_worker(run) {
                Ok(name) => out.worker_killed = Some((clock.now(), name)),
                Err(why) => {
                    process.kill();
                    out.failure = Some(why);
                    break;
                }
            }
        }
        let next = crashes.last().copied().into_iter().chain(kill_worker).min();
        let wait = next.map_or(SAMPLE_EVERY, |at| (at - now).clamp(MILLISECOND, SAMPLE_EVERY));
        match process.next(Duration::from_nanos(wait as u64)) {
            None => {}
            Some(Event::Report(Report::Sample(s))) => {
                let decided = give_up.filter(|g| g.met_by(&s)).map(|_| (s.at, s.backlog));
                if let Some(i) = out.incarnations.last_mut() {
                    i.samples.push(s);
                }
                if decided.is_some() {
                    process.kill();
                    out.gave_up = decided;
                    break;
                }
            }
            Some(Event::Report(Report::Finished { events, busy, .. })) => {
                out.finished = Some((events, busy));
                process.wait();
                break;
            }
            Some(Event::Report(Report::Failed { message })) => {
                process.wait();
                out.failure = Some(format!("the engine failed: {message}"));
                break;
            }
            Some(Event::Garbage(line)) => garbage.push(line),
            Some(Event::Closed) => {
                let status = process.wait();
                let tail = std::fs::read_to_string(&stderr).unwrap_or_default();
                let tail: Vec<&str> = tail.lines().rev().take(5).collect();
                out.failure = Some(format!(
                    "the engine process exited ({}) without finishing{}{}",
                    status.map_or("status unknown".into(), |s| s.to_string()),
                    if tail.is_empty() {
                        String::new()
                    } else {
                        format!("; its stderr ends: {}", tail.join(" | "))
                    },
                    if garbage.is_empty() {
                        String::new()
                    } else {
                        format!("; it wrote: {}", garbage.join(" | "))
                    },
                ));
                break;
            }
        }
    }
    out.wall = started.elapsed();
    out.harness_cpu = own_cpu() - cpu_before;
    Ok(Ok(out))
}

/// SIGKILLs one worker of the run's engine's cluster on this machine, chosen by the run's seed
/// and key; returns its name, or why there was none to kill.
fn kill_one_worker(run: &RunSpec) -> Result<String, String> {
    use flowmark_external::{Kind, cluster};
    let kind = match &run.engine {
        crate::engines::EngineSpec::Flink(_) => Kind::Flink,
        crate::engines::EngineSpec::Spark(_) => Kind::Spark,
        _ => return Err("kill_worker: the engine has no cluster".into()),
    };
    let dir = cluster::dir();
    let workers = cluster::workers(kind, &dir);
    if workers.is_empty() {
        return Err(format!(
            "kill_worker: no live {} worker has a pid file in {}: is scripts/local-cluster running?",
            kind.name(),
            dir.display()
        ));
    }
    let pick = (run.log.seed ^ flowmark_core::key_hash(&run.key)) as usize % workers.len();
    let victim = &workers[pick];
    let pid = nix::unistd::Pid::from_raw(victim.pid as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL)
        .map_err(|e| format!("kill_worker: SIGKILL of {} (pid {}): {e}", victim.name, victim.pid))?;
    Ok(format!("{} (pid {})", victim.name, victim.pid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowmark_core::time::SECOND;

    #[test]
    fn a_run_is_given_up_only_past_the_backlog_and_from_the_time_the_rule_names() {
        let rule = GiveUp { after: 2 * SECOND, backlog_above: SECOND };
        let sample = |at, backlog| Sample { at, backlog, ..Default::default() };
        assert!(rule.met_by(&sample(2 * SECOND, SECOND + 1)));
        assert!(!rule.met_by(&sample(2 * SECOND, SECOND)), "at the bound itself it goes on");
        assert!(!rule.met_by(&sample(2 * SECOND - 1, 5 * SECOND)), "not during the warm-up");
    }
}
