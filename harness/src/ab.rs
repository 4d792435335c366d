//! `flowmark ab BASE NEW [SUITE]`: an A/B comparison for CI. Each side is a `flowmark` binary
//! — given as a path, or as a git revision of this repository, built once and cached by
//! commit. Both sides make every run of the suite, *interleaved* — for each run the two sides
//! one after the other, in an order that alternates (A B, B A, …) from a seeded start — so that
//! a machine's drift hits both alike. Everything goes into one directory:
//!
//! ```text
//! <dir>/ab.json         the sides (what was asked, binary, revision, CPU tax), suite, order
//! <dir>/base/, new/     one result directory per side (each run made by that side's binary)
//! <dir>/verdict.md      the verdict table (also printed)
//! <dir>/verdict.json    every metric of every configuration, judged
//! <dir>/noise.json      with --calibrate: each metric's noise band
//! ```
//!
//! Exit codes: 0 no regression, 1 a metric regressed or a run of the new side failed or was
//! incorrect, 2 bad input (found before any run starts), 130 interrupted (`--resume DIR`
//! completes it).

use crate::machine;
use crate::suite::Suite;
use anyhow::{Context, Result, bail};
use flowmark_core::rng::SplitMix64;
use flowmark_reports::compare::{self, Comparison, Thresholds, Verdict};
use flowmark_reports::results::{ResultSet, Status};
use serde::{Deserialize, Serialize};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

/// `flowmark ab`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The base side: a path to a `flowmark` binary, or a git revision of this repository.
    base: Option<String>,
    /// The new side, the same way.
    new: Option<String>,
    /// A suite file, or the name of one in `suites/`.
    #[arg(default_value = "ci")]
    suite: String,
    /// Where the directory goes.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Complete an interrupted comparison (its sides and suite are recorded in it).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["base", "new"])]
    resume: Option<PathBuf>,
    /// An A/A comparison (the same binary on both sides): write each metric's noise band to
    /// `noise.json`, for later verdicts (`--noise`).
    #[arg(long)]
    calibrate: bool,
    /// Noise bands from an earlier `--calibrate`: each metric's own threshold.
    #[arg(long, value_name = "FILE")]
    noise: Option<PathBuf>,
    /// The threshold of metrics without a noise band: a change of the median beyond this many
    /// percent (with significance) is a regression.
    #[arg(long, default_value_t = 5.0)]
    threshold: f64,
    /// A CPU tax on the base side's runs (a known slowdown, to validate the gate).
    #[arg(long, value_name = "FRACTION")]
    base_cpu_tax: Option<f64>,
    /// A CPU tax on the new side's runs.
    #[arg(long, value_name = "FRACTION")]
    new_cpu_tax: Option<f64>,
    /// Change a setting of the new side's runs, keeping their keys (`flowmark run --set`):
    /// a known change of behaviour, to validate the gate.
    #[arg(long, value_name = "ENGINE.SETTING=VALUE")]
    new_set: Vec<String>,
    /// Also write the new side's metrics for github-action-benchmark (as `compare --json`).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// One side of the comparison.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Side {
    /// `base` or `new`.
    pub name: String,
    /// What was asked for: a path or a revision.
    pub given: String,
    /// The binary that makes its runs.
    pub binary: PathBuf,
    /// Its git commit, or the binary's own `--version` when given as a path.
    pub revision: String,
    /// Its CPU tax.
    pub cpu_tax: Option<f64>,
    /// Settings changed on its runs.
    #[serde(default)]
    pub set: Vec<String>,
}

/// What `ab.json` records.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Plan {
    /// The two sides.
    pub sides: [Side; 2],
    /// The suite's path as given and its text.
    pub suite_file: String,
    /// Its text (each side's result directory holds it too).
    pub suite_text: String,
    /// The units (run ids and search keys) in the order they run, each with the side first.
    pub order: Vec<(String, usize)>,
}

/// Runs `flowmark ab`.
pub fn main(args: &Args, cancel: &AtomicBool) -> Result<ExitCode> {
    let thresholds = crate::thresholds(args.threshold, args.noise.as_deref())?;
    let (dir, plan) = match &args.resume {
        Some(dir) => (dir.clone(), load(dir)?),
        None => prepare(args)?,
    };
    say!(
        "flowmark ab: {} ({}) against {} ({}), {} runs each, interleaved, into {}",
        plan.sides[1].given,
        short(&plan.sides[1].revision),
        plan.sides[0].given,
        short(&plan.sides[0].revision),
        plan.order.len() / 2,
        dir.display()
    );
    if !run_interleaved(&dir, &plan, cancel)? {
        say!("interrupted: complete it with\n  flowmark ab --resume {}", dir.display());
        return Ok(ExitCode::from(crate::INTERRUPTED));
    }
    let base = ResultSet::load(&dir.join("base"))?;
    let new = ResultSet::load(&dir.join("new"))?;
    let comparison = compare::compare(&base, &new, &thresholds)?;
    if args.calibrate {
        let noise = noise_bands(&comparison, args.threshold / 100.0);
        let path = dir.join("noise.json");
        std::fs::write(&path, serde_json::to_string_pretty(&noise)?)
            .with_context(|| format!("writing {}", path.display()))?;
        say!("noise bands (an A/A comparison): {}", path.display());
        for (metric, band) in &noise.noise {
            say!("  {metric:<24} ±{:.1} %", band * 100.0);
        }
    }
    let broken: Vec<&str> =
        new.runs.iter().filter(|r| r.status != Status::Ok).map(|r| r.id.as_str()).collect();
    let incorrect = if broken.is_empty() {
        String::new()
    } else {
        format!(
            "**The new side's results are not all correct**: {} run(s) failed or disagree with the reference ({}).\n\n",
            broken.len(),
            broken.join(", ")
        )
    };
    let searches = searches(&base, &new);
    say_raw!("{incorrect}{}{searches}", comparison.markdown_summary());
    let markdown = format!("{incorrect}{}{searches}", comparison.markdown());
    flowmark_core::durable::write_atomic(&dir.join("verdict.md"), markdown.as_bytes(), None)?;
    let verdict = verdict_json(&plan, &comparison, &broken);
    flowmark_core::durable::write_atomic(&dir.join("verdict.json"), verdict.as_bytes(), None)?;
    if let Some(path) = &args.json {
        crate::write_benchmark_json(&comparison, path)?;
    }
    say!("verdict, every configuration's rows included: {}", dir.join("verdict.md").display());
    let regressed = comparison.regressed() && !args.calibrate;
    Ok(if regressed || !broken.is_empty() { ExitCode::from(crate::RUN_FAILED) } else { ExitCode::SUCCESS })
}

/// The sustainable rates both sides' searches found, side by side: shown, not judged (one
/// search a side, each a coarse bracket).
fn searches(base: &ResultSet, new: &ResultSet) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for b in &base.searches {
        let Some(n) = new
            .searches
            .iter()
            .find(|n| n.engine == b.engine && n.workload == b.workload && n.settings == b.settings)
        else {
            continue;
        };
        if out.is_empty() {
            out.push_str("\nSustainable throughput (one search a side: shown, not judged)\n\n| engine | workload | base | new |\n|---|---|---:|---:|\n");
        }
        let _ = writeln!(out, "| {} | {} | {} | {} |", b.engine, b.workload, b.figure(), n.figure());
    }
    out
}

fn short(revision: &str) -> &str {
    &revision[..revision.len().min(12)]
}

/// Resolves the sides and the suite, checks that both sides plan it alike, and writes the
/// directory's plan — all before any run starts.
fn prepare(args: &Args) -> Result<(PathBuf, Plan)> {
    let (Some(base), Some(new)) = (&args.base, &args.new) else {
        bail!("give BASE and NEW (a flowmark binary or a git revision each), or --resume DIR");
    };
    for (flag, tax) in [("--base-cpu-tax", args.base_cpu_tax), ("--new-cpu-tax", args.new_cpu_tax)] {
        if let Some(f) = tax
            && !(f.is_finite() && (0.0..=10.0).contains(&f))
        {
            bail!("{flag} must lie in [0, 10], got {f}");
        }
    }
    let path = crate::suite_path(&args.suite);
    let suite = Suite::load(&path)?;
    let changed = crate::runner::Selection { set: args.new_set.clone(), ..Default::default() };
    changed.plan(&suite).context("--new-set")?;
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut sides = [resolve("base", base, args.base_cpu_tax)?, resolve("new", new, args.new_cpu_tax)?];
    sides[1].set = args.new_set.clone();
    let dir = machine::new_dir(&args.out, &format!("ab-{}", suite.name));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let suite_file = dir.join("suite.toml");
    std::fs::write(&suite_file, &text).with_context(|| format!("writing {}", suite_file.display()))?;
    let units = plan_of(&sides[0], &suite_file)?;
    let other = plan_of(&sides[1], &suite_file)?;
    if units != other {
        let first = units.iter().zip(&other).find(|(a, b)| a != b).map_or_else(
            || format!("{} runs against {}", units.len(), other.len()),
            |(a, b)| format!("`{a}` against `{b}`"),
        );
        let _ = std::fs::remove_dir_all(&dir);
        bail!(
            "the sides plan suite `{}` differently ({first}): they cannot be compared run by run",
            suite.name
        );
    }
    // a run's configuration; a search is its own
    let configurations: std::collections::HashMap<String, String> =
        suite.plan().into_iter().map(|r| (r.id, r.key)).collect();
    let order = interleave(&units, |u| configurations.get(u).map_or(u, String::as_str), suite.seed);
    for side in &sides {
        let manifest = flowmark_reports::results::Manifest {
            revision: side.revision.clone(),
            command: format!("{} (side {} of flowmark ab)", side.binary.display(), side.name),
            ..machine::manifest(&suite.name, &path.display().to_string(), &text, suite.seed, units.len())
        };
        ResultSet::write_manifest(&dir.join(&side.name), &manifest)?;
    }
    let plan = Plan { sides, suite_file: path.display().to_string(), suite_text: text, order };
    flowmark_core::durable::write_atomic(
        &dir.join("ab.json"),
        serde_json::to_string_pretty(&plan)?.as_bytes(),
        None,
    )?;
    Ok((dir, plan))
}

fn load(dir: &Path) -> Result<Plan> {
    let path = dir.join("ab.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("resuming: reading {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not the plan of a flowmark ab", path.display()))
}

/// Each unit with the two sides one after the other, in an order balanced two ways. Along the
/// sequence the first side alternates — A B, B A, A B, … from a start the seed picks — so that
/// a drift of the machine hits both sides alike. And within each configuration (`group` of a
/// unit: its runs' repetitions) the first side alternates too, so that whatever going first
/// or second does to a run — a warm cache, the previous run's teardown still under way — falls
/// on both sides of every configuration the verdict compares, half of its runs each. (Plain
/// alternation along the sequence puts a configuration's every repetition in the same order
/// when a repetition holds an even number of units; an A/A comparison then found one side's
/// CPU time 8 % above the other's in two configurations.)
///
/// The first side of a unit is `start + g + k` mod 2, for the `g`-th configuration to appear
/// and its `k`-th unit: within a repetition the configurations alternate, and each repetition
/// flips them all. With an even number of configurations the sequence then repeats a side
/// once where one repetition ends and the next begins (A B, B A | B A, A B): both balances
/// cannot hold at once there, and the one the verdict rests on wins.
fn interleave<'a>(
    units: &'a [String],
    group: impl Fn(&'a str) -> &'a str,
    seed: u64,
) -> Vec<(String, usize)> {
    let start = SplitMix64::from_state(seed).below(2) as usize;
    let mut seen: std::collections::HashMap<&str, (usize, usize)> = std::collections::HashMap::new();
    let mut order = Vec::with_capacity(2 * units.len());
    for u in units {
        let next = seen.len();
        let (g, k) = seen.entry(group(u)).or_insert((next, 0));
        let first = (start + *g + *k) % 2;
        *k += 1;
        order.extend([(u.clone(), first), (u.clone(), 1 - first)]);
    }
    order
}

/// A side: a binary given by path (checked to be flowmark), or a git revision built once into
/// `target/ab/<commit>/flowmark`.
fn resolve(name: &str, given: &str, cpu_tax: Option<f64>) -> Result<Side> {
    let path = Path::new(given);
    let side = |binary: PathBuf, revision: String| Side {
        name: name.into(),
        given: given.into(),
        binary,
        revision,
        cpu_tax,
        set: Vec::new(),
    };
    if path.is_file() {
        let binary = path.canonicalize().with_context(|| format!("{name}: {given}"))?;
        let version = flowmark_version(&binary).with_context(|| {
            format!("{name}: `{given}` is not a flowmark binary that can take part in `flowmark ab`")
        })?;
        return Ok(side(binary, version));
    }
    let Some(commit) = git(&["rev-parse", "--verify", "--quiet", &format!("{given}^{{commit}}")]) else {
        bail!("{name}: `{given}` is neither a file nor a git revision of this repository");
    };
    let binary =
        build(&commit).with_context(|| format!("{name}: revision `{given}` ({})", short(&commit)))?;
    Ok(side(binary, commit))
}

/// The binary's `--version`, if it is flowmark and knows the options `ab` drives it with.
fn flowmark_version(binary: &Path) -> Result<String> {
    let out = Command::new(binary).arg("--version").output().context("it cannot be run")?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || !version.starts_with("flowmark ") {
        bail!("`--version` does not say flowmark");
    }
    let help = Command::new(binary).args(["run", "--help"]).output().context("it cannot be run")?;
    let help = String::from_utf8_lossy(&help.stdout);
    if !help.contains("--only") || !help.contains("--cpu-tax") {
        bail!("{version} predates `flowmark ab` (its `run` has no --only and --cpu-tax)");
    }
    Ok(version)
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Builds `commit` in a worktree of its own (release profile, a target directory shared by
/// every revision built), once: the binary is cached under `target/ab/<commit>/`.
fn build(commit: &str) -> Result<PathBuf> {
    let top = git(&["rev-parse", "--show-toplevel"]).context("not inside a git checkout")?;
    let root = Path::new(&top).join("target").join("ab");
    let binary = root.join(commit).join("flowmark");
    if binary.is_file() {
        return Ok(binary);
    }
    let tree = root.join("src").join(commit);
    let _ = Command::new("git").args(["worktree", "remove", "--force"]).arg(&tree).output();
    let added = Command::new("git")
        .args(["worktree", "add", "--detach", "--force"])
        .arg(&tree)
        .arg(commit)
        .output()
        .context("running git worktree")?;
    if !added.status.success() {
        bail!("git worktree add failed: {}", String::from_utf8_lossy(&added.stderr).trim());
    }
    eprintln!("flowmark ab: building {} (once; cached in {})", short(commit), binary.display());
    let built = Command::new("cargo")
        .args(["build", "--release", "-p", "flowmark", "--target-dir"])
        .arg(root.join("target"))
        .current_dir(&tree)
        .stdout(Stdio::null())
        .output()
        .context("running cargo")?;
    let _ = Command::new("git").args(["worktree", "remove", "--force"]).arg(&tree).output();
    if !built.status.success() {
        let stderr = String::from_utf8_lossy(&built.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect();
        bail!("it does not build:\n{}", tail.join("\n"));
    }
    std::fs::create_dir_all(binary.parent().expect("under target/ab"))?;
    std::fs::copy(root.join("target/release/flowmark"), &binary)
        .with_context(|| format!("caching the binary in {}", binary.display()))?;
    Ok(binary)
}

/// The units of work a side's binary plans for the suite: run ids, then search keys.
fn plan_of(side: &Side, suite: &Path) -> Result<Vec<String>> {
    let out = Command::new(&side.binary)
        .arg("plan")
        .arg(suite)
        .output()
        .with_context(|| format!("{}: running {}", side.name, side.binary.display()))?;
    if !out.status.success() {
        bail!(
            "{} side ({}) cannot plan the suite: {}",
            side.name,
            side.given,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    serde_json::from_slice(&out.stdout)
        .with_context(|| format!("{}: `flowmark plan` said something else", side.name))
}

/// Makes every unit not yet done, side by side in the plan's order; `false` when interrupted.
fn run_interleaved(dir: &Path, plan: &Plan, cancel: &AtomicBool) -> Result<bool> {
    let total = plan.order.len();
    for (k, (unit, s)) in plan.order.iter().enumerate() {
        let side = &plan.sides[*s];
        let side_dir = dir.join(&side.name);
        if done(&side_dir, unit) {
            continue;
        }
        if cancel.load(Ordering::Relaxed) {
            return Ok(false);
        }
        say!("[{}/{total}] {} {unit}", k + 1, side.name);
        let log = dir.join("logs").join(format!("{}.{unit}.log", side.name));
        std::fs::create_dir_all(dir.join("logs"))?;
        let mut cmd = Command::new(&side.binary);
        cmd.arg("run").arg("--resume").arg(&side_dir).arg("--only").arg(unit);
        if let Some(tax) = side.cpu_tax {
            cmd.arg("--cpu-tax").arg(tax.to_string());
        }
        for change in &side.set {
            cmd.arg("--set").arg(change);
        }
        let file = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        // in a process group of its own, so that a signal reaches it once, from here; it stops
        // when this process dies
        let child = flowmark_core::lifeline::tie(&mut cmd)
            .stdout(file.try_clone()?)
            .stderr(file)
            .process_group(0)
            .spawn()
            .with_context(|| format!("running {}", side.binary.display()))?;
        let status = wait_passing_on_stop(child, cancel)?;
        match status.code() {
            Some(0 | 1) if done(&side_dir, unit) => {}
            Some(c) if c == i32::from(crate::INTERRUPTED) => return Ok(false),
            _ if cancel.load(Ordering::Relaxed) => return Ok(false),
            _ => bail!(
                "the {} side stopped at `{unit}` ({status}); its output is in {}",
                side.name,
                log.display()
            ),
        }
    }
    Ok(true)
}

/// Waits for a side's harness; when this one is told to stop, tells it to (SIGTERM: it kills
/// its run and exits, leaving its directory resumable).
fn wait_passing_on_stop(mut child: std::process::Child, cancel: &AtomicBool) -> Result<ExitStatus> {
    let mut told = false;
    loop {
        if let Some(status) = child.try_wait().context("waiting for a side's harness")? {
            return Ok(status);
        }
        if cancel.load(Ordering::Relaxed) && !told {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            told = true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Whether a side's result directory holds `unit` (a run, or a search).
fn done(side_dir: &Path, unit: &str) -> bool {
    flowmark_reports::results::run_path(side_dir, unit).exists()
        || side_dir.join("throughput").join(format!("{unit}.json")).exists()
}

/// How far beyond the change an A/A comparison showed a metric's threshold lies.
pub const NOISE_MARGIN: f64 = 1.25;

/// The smallest noise band: a change below 1 % is never a regression, however significant.
pub const NOISE_FLOOR: f64 = 0.01;

/// Each measured metric's noise band from an A/A comparison (two sides that differ in nothing
/// but chance), from its row over every configuration (the row that decides): the change of
/// its median that chance alone made, with a margin ([`NOISE_MARGIN`]), at least
/// [`NOISE_FLOOR`].
///
/// The band is what a change must exceed *besides* being significant: the test already holds
/// chance's false alarms at its level, and the band keeps out what the test cannot see — a
/// difference between two sides that differ in nothing (the order they ran in, a drift the
/// interleaving did not cancel). Taking the far end of the A/A interval instead counts the
/// noise twice, once in the band and once in the test, and misses a 10 % CPU tax (docs/ci.md).
pub fn noise_bands(comparison: &Comparison, default: f64) -> Thresholds {
    let mut t = Thresholds::uniform(default);
    for r in comparison.rows.iter().filter(|r| r.key == compare::ALL && r.p.is_some() && r.change.is_finite())
    {
        t.noise.insert(r.metric.to_string(), (r.change.abs() * NOISE_MARGIN).max(NOISE_FLOOR));
    }
    t
}

fn verdict_json(plan: &Plan, comparison: &Comparison, broken: &[&str]) -> String {
    let rows: Vec<serde_json::Value> = comparison
        .rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "run": r.key, "metric": r.metric, "unit": r.unit,
                "base": finite(r.base), "new": finite(r.new), "change": finite(r.change),
                "interval": r.interval.map(|(lo, hi)| [finite(lo), finite(hi)]),
                "p": r.p, "threshold": r.threshold, "runs": [r.n.0, r.n.1],
                "verdict": r.verdict.word(),
            })
        })
        .collect();
    let count = |v: Verdict| comparison.rows.iter().filter(|r| r.verdict == v).count();
    serde_json::to_string_pretty(&serde_json::json!({
        "regressed": comparison.regressed(),
        "incorrect_or_failed": broken,
        "counts": {
            "regressed": count(Verdict::Regressed), "improved": count(Verdict::Improved),
            "unchanged": count(Verdict::Unchanged), "undecided": count(Verdict::Undecided),
        },
        "sides": plan.sides,
        "metrics": rows,
    }))
    .expect("json")
}

/// A number JSON can hold (an infinite change is written as null).
fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowmark_reports::compare::Row;
    use flowmark_reports::metrics::Better;

    fn row(key: &str, metric: &'static str, change: f64, p: Option<f64>) -> Row {
        Row {
            key: key.into(),
            metric,
            unit: "ms",
            better: Better::Smaller,
            base: 1.0,
            new: 1.0 + change,
            n: (4, 4),
            change,
            interval: None,
            p,
            threshold: 0.05,
            verdict: Verdict::Unchanged,
        }
    }

    #[test]
    fn a_noise_band_is_the_pooled_a_a_change_with_a_margin_and_a_floor() {
        let mut wide = row(compare::ALL, "cpu_per_m_events_s", 0.02, Some(0.3));
        wide.interval = Some((-0.04, 0.09));
        let comparison = Comparison {
            rows: vec![
                row(compare::ALL, "due_p99_ms", -0.4, Some(0.9)),
                row("one-configuration", "due_p99_ms", 0.9, Some(0.5)),
                wide,
                row(compare::ALL, "checkpoint_ms", 0.0079, Some(0.9)),
                row(compare::ALL, "commit_ms", 0.0081, Some(0.9)),
                row(compare::ALL, "recovery_ms", f64::INFINITY, Some(1.0)),
                row(compare::ALL, "missing", 3.0, None),
            ],
            only_base: Vec::new(),
            only_new: Vec::new(),
            thresholds: Thresholds::uniform(0.05),
            alpha: 0.05,
        };
        let t = noise_bands(&comparison, 0.05);
        assert!((t.noise["due_p99_ms"] - 0.4 * NOISE_MARGIN).abs() < 1e-12, "the pooled row only: {t:?}");
        assert!((t.noise["cpu_per_m_events_s"] - 0.025).abs() < 1e-12, "the change, not its interval: {t:?}");
        assert_eq!(t.noise["checkpoint_ms"], NOISE_FLOOR, "0.79 % × 1.25 is below the floor");
        assert!(t.noise["commit_ms"] > NOISE_FLOOR, "0.81 % × 1.25 is above it");
        assert!(!t.noise.contains_key("recovery_ms"), "an infinite change is no band");
        assert!(!t.noise.contains_key("missing"), "counts have no band");
        assert!(t.of("cpu_per_m_events_s") < 0.05, "a band replaces the default, below it too");
        assert_eq!(t.of("event_p99_ms"), 0.05);
    }

    /// `configs` configurations × `reps` repetitions, repetitions outermost, as a suite plans.
    fn runs(configs: usize, reps: usize) -> Vec<String> {
        (0..reps).flat_map(|r| (0..configs).map(move |c| format!("c{c}.{r}"))).collect()
    }

    fn configuration(unit: &str) -> &str {
        unit.rsplit_once('.').map_or(unit, |(c, _)| c)
    }

    #[test]
    fn the_sides_alternate_from_a_seeded_start() {
        let units = runs(4, 1);
        let order = interleave(&units, configuration, 7);
        assert_eq!(order.len(), 8);
        for (i, pair) in order.chunks(2).enumerate() {
            assert_eq!(pair[0].0, units[i]);
            assert_eq!(pair[1].0, units[i]);
            assert_ne!(pair[0].1, pair[1].1, "both sides of each unit");
            if i > 0 {
                assert_ne!(pair[0].1, order[2 * (i - 1)].1, "A B then B A");
            }
        }
        let firsts: std::collections::BTreeSet<usize> =
            (0..16).map(|s| interleave(&units, configuration, s)[0].1).collect();
        assert_eq!(firsts.len(), 2, "the seed picks which side starts");
        assert_eq!(interleave(&units, configuration, 7), order, "and the same seed the same order");
    }

    #[test]
    fn every_configuration_runs_each_side_first_equally_often_and_the_sequence_still_alternates() {
        for (configs, reps) in [(8, 4), (3, 4), (2, 6), (1, 4), (5, 3), (4, 1)] {
            let units = runs(configs, reps);
            let order = interleave(&units, configuration, 11);
            let firsts: Vec<usize> = order.chunks(2).map(|pair| pair[0].1).collect();
            for (r, round) in firsts.chunks(configs).enumerate() {
                assert!(
                    round.windows(2).all(|w| w[0] != w[1]),
                    "{configs} × {reps}: the first side alternates within repetition {r}: {firsts:?}"
                );
            }
            let repeats = firsts.windows(2).filter(|w| w[0] == w[1]).count();
            let boundaries = if configs % 2 == 0 { reps - 1 } else { 0 };
            assert_eq!(repeats, boundaries, "{configs} × {reps}: a side repeats only between repetitions");
            for c in 0..configs {
                let base_first = units
                    .iter()
                    .zip(&firsts)
                    .filter(|(u, f)| configuration(u) == format!("c{c}") && **f == 0)
                    .count();
                assert!(
                    base_first == reps / 2 || base_first == reps.div_ceil(2),
                    "{configs} × {reps}: configuration c{c} went base-first {base_first} times"
                );
            }
        }
        // units that are their own groups (searches) alternate among themselves
        let mut units = runs(3, 2);
        units.extend(["search-a".into(), "search-b".into()]);
        let firsts: Vec<usize> = interleave(&units, configuration, 3).chunks(2).map(|p| p[0].1).collect();
        assert_ne!(firsts[6], firsts[7], "{firsts:?}");
    }
}
