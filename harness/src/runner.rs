//! Running a suite: every run of its plan, one after another, each written to the result
//! directory as it finishes — raw data first, the run's record last — so that an interrupted
//! suite keeps every run it finished and `--resume` completes it.

use crate::limits;
use crate::observe::Interrupted;
use crate::pipeline;
use crate::progress::Progress;
use crate::spec::RunSpec;
use crate::suite::Suite;
use crate::suite::rates::Offered;
use anyhow::Result;
use flowmark_reports::results::{self, Manifest, ResultSet, Status};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// How a suite ended.
pub enum Outcome {
    /// Every run finished; `ok` when all were correct and none failed.
    Done {
        /// All runs ok.
        ok: bool,
    },
    /// Ctrl-C: the finished runs are kept.
    Interrupted,
}

/// Which of a suite's runs to make, and how.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Only the runs with these ids and the searches with these keys (all when empty).
    pub only: Vec<String>,
    /// A CPU tax levied on every run (its key unchanged).
    pub cpu_tax: Option<f64>,
    /// Settings changed on every run of an engine, as `engine.setting=value` (its key
    /// unchanged: a known change of behaviour, for validating a performance gate).
    pub set: Vec<String>,
}

/// Applies `engine.setting=value` to `spec` when it is that engine's: the setting is one of
/// the engine's own (as its process is told them), the value in the suite's notation.
fn apply(spec: &mut crate::spec::EngineSpec, change: &str) -> Result<()> {
    let Some((target, value)) = change.split_once('=') else {
        anyhow::bail!("--set `{change}`: expected engine.setting=value");
    };
    let Some((engine, setting)) = target.split_once('.') else {
        anyhow::bail!("--set `{change}`: expected engine.setting=value");
    };
    if crate::engines::named(engine).is_none() {
        anyhow::bail!(
            "--set `{change}`: unknown engine `{engine}`; the engines are: {}",
            crate::engines::names()
        );
    }
    if spec.name() != engine {
        return Ok(());
    }
    let mut json = serde_json::to_value(&*spec)?;
    let fields = json.as_object_mut().expect("an engine's settings are a table");
    if !fields.contains_key(setting) {
        let names: Vec<&String> = fields.keys().filter(|k| *k != "engine").collect();
        anyhow::bail!("--set `{change}`: {engine} has no setting `{setting}`; it has {names:?}");
    }
    let parsed = serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.into()));
    fields.insert(setting.into(), parsed);
    *spec = serde_json::from_value(json).map_err(|e| anyhow::anyhow!("--set `{change}`: {e}"))?;
    Ok(())
}

impl Selection {
    /// The runs of `suite` it selects, in the suite's order; an id the suite does not plan is
    /// an error naming it.
    pub fn plan(&self, suite: &Suite) -> Result<Vec<RunSpec>> {
        let (plan, searches) = (suite.plan(), suite.searches());
        let known = |id: &String| plan.iter().any(|r| &r.id == id) || searches.iter().any(|r| &r.key == id);
        if let Some(id) = self.only.iter().find(|id| !known(id)) {
            anyhow::bail!("suite `{}` has no run or search `{id}`", suite.name);
        }
        self.select(plan, |r| &r.id)
    }

    /// The searches of `suite` it selects.
    pub fn searches(&self, suite: &Suite) -> Result<Vec<RunSpec>> {
        self.select(suite.searches(), |r| &r.key)
    }

    fn select(&self, mut runs: Vec<RunSpec>, name: impl Fn(&RunSpec) -> &String) -> Result<Vec<RunSpec>> {
        if !self.only.is_empty() {
            runs.retain(|r| self.only.contains(name(r)));
        }
        for r in &mut runs {
            if let Some(fraction) = self.cpu_tax {
                r.failure.cpu_tax = Some(flowmark_core::CpuTax { fraction });
            }
            for change in &self.set {
                apply(&mut r.engine, change)?;
            }
        }
        Ok(runs)
    }
}

/// Runs `suite` into `dir` (a new result directory, or one being resumed), skipping runs it
/// already holds.
pub fn run_suite(
    suite: &Suite,
    selection: &Selection,
    manifest: &Manifest,
    dir: &Path,
    cancel: &AtomicBool,
) -> Result<Outcome> {
    let plan = selection.plan(suite)?;
    // the real engines' jobs compile once, before the first run (and before anything is
    // written), and say so if the engines are not installed
    let mut prepared = Vec::new();
    for engine in plan.iter().map(|r| r.engine.engine()) {
        if !prepared.contains(&engine.name()) {
            engine.prepare()?;
            prepared.push(engine.name());
        }
    }
    ResultSet::write_manifest(dir, manifest)?;
    let done: Vec<bool> = plan.iter().map(|r| results::run_path(dir, &r.id).exists()).collect();
    let already = done.iter().filter(|d| **d).count();
    let progress = Progress::new(plan.len() as u64, already as u64);
    if already > 0 {
        progress.line(&format!("resuming: {already} of {} runs already done", plan.len()));
    }
    let work_root = work_root("flowmark-work");
    // loads relative to the sustainable rate need the searches' results first
    let searches_first = suite.searches_first();
    if searches_first && !run_searches(suite, selection, dir, cancel)? {
        let _ = std::fs::remove_dir_all(&work_root);
        ResultSet::load(dir)?.write_tables()?;
        return Ok(Outcome::Interrupted);
    }
    for (run, done) in plan.iter().zip(done) {
        if done {
            continue;
        }
        let resolved;
        let run = match &run.pending {
            None => run,
            Some(offered) => match scaled(run, offered, dir) {
                Ok(r) => {
                    resolved = r;
                    &resolved
                }
                Err(why) => {
                    progress.line(&format!("{}: not run: {why}", run.id));
                    continue;
                }
            },
        };
        progress.start_run(&run.id, run.end());
        // repetitions share their truth: it is kept in the result directory for the next one
        let keep_truth = *suite.repetitions.get_ref() > 1;
        let record = match pipeline::run(run, dir, &work_root, keep_truth, cancel, &progress)? {
            Ok(r) => r,
            Err(Interrupted) => {
                progress.finish();
                let _ = std::fs::remove_dir_all(&work_root);
                ResultSet::load(dir)?.write_tables()?;
                return Ok(Outcome::Interrupted);
            }
        };
        progress.end_run(&flowmark_reports::metrics::summary_line(&record));
        ResultSet::write_run(dir, &record)?;
        ResultSet::load(dir)?.write_tables()?;
    }
    progress.finish();
    let _ = std::fs::remove_dir_all(&work_root);
    if !searches_first && !run_searches(suite, selection, dir, cancel)? {
        ResultSet::load(dir)?.write_tables()?;
        return Ok(Outcome::Interrupted);
    }
    let set = ResultSet::load(dir)?;
    set.write_tables()?;
    Ok(Outcome::Done { ok: set.runs.iter().all(|r| r.status == Status::Ok) })
}

/// Runs the suite's sustainable-throughput searches that `dir` does not hold yet; false when
/// interrupted.
fn run_searches(suite: &Suite, selection: &Selection, dir: &Path, cancel: &AtomicBool) -> Result<bool> {
    let Some(t) = &suite.throughput else { return Ok(true) };
    for base in selection.searches(suite)? {
        if results::search_path(dir, &base.key).exists() {
            continue;
        }
        let plan = t.get_ref().plan();
        let progress = Progress::new(u64::from(plan.steps) + plan.fractions.len() as u64, 0);
        progress.line(&format!("sustainable throughput of {}", base.key));
        if crate::throughput::search(&base, &plan, dir, cancel, &progress)?.is_err() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `run` with its load set from the sustainable rate its search found (in `dir`); why not,
/// when the search is missing or sustained nothing.
fn scaled(run: &RunSpec, offered: &Offered, dir: &Path) -> Result<RunSpec, String> {
    let key = run.search_key();
    let search = ResultSet::read_search(dir, &key).map_err(|e| {
        format!("its load is relative to the sustainable rate of {key}, which cannot be read: {e:#}")
    })?;
    if search.sustainable <= 0.0 {
        return Err(format!(
            "its load is relative to the sustainable rate of {key}, and the search sustained no rate"
        ));
    }
    let profile = offered.resolve(run.warmup, Some(search.sustainable)).ok_or("a level stayed unknown")?;
    let mut out = run.clone();
    out.offer(profile);
    if let Some(why) = limits::refuses(&out.workload, &out.log, out.rate, out.end()) {
        return Err(why);
    }
    Ok(out)
}

/// This process's scratch directory `<prefix>-<pid>` in the temporary directory, after
/// removing those of processes that no longer run (a harness SIGKILLed mid-run leaves its own
/// behind; its `--resume` runs as another process).
pub fn work_root(prefix: &str) -> PathBuf {
    let tmp = std::env::temp_dir();
    for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(pid) =
            name.to_str().and_then(|n| n.strip_prefix(prefix)?.strip_prefix('-')?.parse::<i32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() as i32
            && !flowmark_core::lifeline::alive(nix::unistd::Pid::from_raw(pid))
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    tmp.join(format!("{prefix}-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scratch_directory_left_by_a_dead_process_is_removed_and_a_live_ones_kept() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let tmp = std::env::temp_dir();
        let (gone, mine) = (tmp.join(format!("flowmark-sweeptest-{dead}")), tmp.join("flowmark-sweeptest-1"));
        std::fs::create_dir_all(gone.join("run")).unwrap();
        std::fs::create_dir_all(&mine).unwrap();
        let root = work_root("flowmark-sweeptest");
        assert_eq!(root, tmp.join(format!("flowmark-sweeptest-{}", std::process::id())));
        assert!(!gone.exists(), "the dead process's directory is removed");
        assert!(mine.exists(), "process 1 runs: its directory stays");
        std::fs::remove_dir_all(mine).unwrap();
    }
    use std::path::Path;

    fn suite() -> Suite {
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../suites/ci.toml")).unwrap();
        Suite::parse(Path::new("ci.toml"), &text).unwrap()
    }

    #[test]
    fn a_changed_setting_or_a_tax_leaves_the_keys_alone() {
        let s = suite();
        let plain = Selection::default().plan(&s).unwrap();
        let changed = Selection {
            set: vec!["dataflow.buffer_timeout=200ms".into()],
            cpu_tax: Some(0.1),
            ..Default::default()
        }
        .plan(&s)
        .unwrap();
        assert_eq!(plain.len(), changed.len());
        for (a, b) in plain.iter().zip(&changed) {
            assert_eq!((&a.id, &a.key), (&b.id, &b.key));
            assert_eq!(b.failure.cpu_tax, Some(flowmark_core::CpuTax { fraction: 0.1 }));
            if b.engine.name() == "dataflow" {
                assert_eq!(b.engine.settings()["buffer_timeout"], "200ms");
            } else {
                assert_eq!(a.engine, b.engine, "another engine's runs are untouched");
            }
        }
    }

    #[test]
    fn a_bad_change_or_an_unknown_run_is_named() {
        let s = suite();
        let err = |set: &str| {
            Selection { set: vec![set.into()], ..Default::default() }.plan(&s).unwrap_err().to_string()
        };
        assert!(err("storm.x=1").contains("unknown engine `storm`"));
        assert!(err("dataflow.speed=1").contains("no setting `speed`"));
        assert!(err("dataflow.buffer_timeout=fast").contains("fast"));
        assert!(err("buffer_timeout").contains("engine.setting=value"));
        let only =
            Selection { only: vec!["nope.0".into()], ..Default::default() }.plan(&s).unwrap_err().to_string();
        assert!(only.contains("no run or search `nope.0`"), "{only}");
        let search = s.searches()[0].key.clone();
        let picked = Selection { only: vec![search.clone()], ..Default::default() };
        assert!(picked.plan(&s).unwrap().is_empty(), "a search key selects no run…");
        assert_eq!(picked.searches(&s).unwrap().len(), 1, "… but its search");
    }
}
