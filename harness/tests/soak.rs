//! A short crash soak (`suites/soak.toml` is the long one): both engines on word count and
//! NEXMark q5, SIGKILLed three times a run — anywhere, mid-write, between a checkpoint's or
//! batch's begin and commit — and every run exactly the reference's results.

mod common;

const SUITE: &str = r#"
name = "soak-short"
seed = 31
warmup = "500ms"
measure = "4s"
timeout = "90s"
partitions = 2
engines = ["dataflow", "microbatch"]
rates = [20000]

[[workloads]]
workload = "wordcount"

[[workloads]]
workload = "nexmark"
query = "q5"

[[disorder]]
name = "uniform"
delay = { model = "uniform", max = "100ms" }

[[failures]]
kind = "crash"
name = "anywhere"
random = 3

[[failures]]
kind = "crash"
name = "mid-write"
random = 3
during = "checkpoint-write"

[[failures]]
kind = "crash"
name = "between-logs"
random = 3
during = "between-logs"

[dataflow]
parallelism = [2]
checkpoint_interval = ["300ms"]

[microbatch]
parallelism = [2]
batch_interval = ["300ms"]
"#;

#[test]
fn every_run_of_a_short_crash_soak_is_exactly_once() {
    let runs = common::run_records("soak", SUITE);
    assert_eq!(runs.len(), 12, "2 engines × 2 workloads × 3 scenarios");
    for r in &runs {
        let c = &r["metrics"]["correctness"];
        assert_eq!(r["status"]["status"], "ok", "{}: {}", r["id"], r["status"]);
        for k in ["missing", "duplicated", "wrong", "unexpected"] {
            assert_eq!(c[k], 0, "{}: {k}: {c}", r["id"]);
        }
        assert_eq!(r["metrics"]["starts"], 4, "{}: three crashes, three restarts", r["id"]);
        for rec in r["recoveries"].as_array().unwrap() {
            assert!(rec.get("moment_missed").is_none(), "{}: each crash came at its moment: {rec}", r["id"]);
        }
    }
}
