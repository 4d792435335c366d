//! `report.html`: one self-contained file — the claims judged on the set first, then the
//! summary table, then the charts (PNG, inlined), then the configuration and the manifest. It
//! loads nothing from the network.

use crate::charts::Chart;
use crate::metrics::{Better, Metric, View, ms};
use crate::results::{ResultSet, Run, Status};
use base64::Engine as _;
use std::collections::BTreeMap;
use std::fmt::Write;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// One row of the summary: an engine configuration on a workload and scenario, averaged over
/// its repetitions.
struct Row<'a> {
    workload: &'a str,
    scenario: String,
    engine: &'a str,
    settings: String,
    runs: Vec<&'a Run>,
}

fn average(runs: &[&Run], metric: &Metric) -> Option<f64> {
    let values: Vec<f64> = runs.iter().filter_map(|r| metric.value(r)).collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Renders the report.
pub fn render(set: &ResultSet, charts: &[Chart]) -> Result<String, std::io::Error> {
    let mut h = head(set, charts.len());
    claims(&mut h, set, charts);
    summary(&mut h, set);
    searches(&mut h, set);
    recoveries(&mut h, set);
    figures(&mut h, charts)?;
    configuration(&mut h, set);
    Ok(h)
}

/// The page's head, its style and script error check, and the set's description.
fn head(set: &ResultSet, charts: usize) -> String {
    let m = &set.manifest;
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>flowmark — {suite}</title>
<style>
body {{ font-family: "DejaVu Sans", Verdana, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 13px; }}
th, td {{ border: 1px solid #ccc; padding: 3px 7px; text-align: right; }}
th {{ background: #eee; }}
td.l, th.l {{ text-align: left; }}
tr.bad td {{ background: #fde0e0; }}
td.best {{ font-weight: bold; background: #dff3df; }}
tr.group td {{ background: #f6f6f6; text-align: left; font-weight: bold; }}
figure {{ margin: 1.5em 0; }}
figure img {{ max-width: 100%; border: 1px solid #ddd; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 12px; }}
</style>
<script>
// a self-check a browser runs: a script error anywhere in the page is recorded on <body>
window.addEventListener('error', function (e) {{
  document.addEventListener('DOMContentLoaded', function () {{ document.body.dataset.scriptError = String(e.message); }});
  if (document.body) {{ document.body.dataset.scriptError = String(e.message); }}
}});
</script></head>
<body data-charts="{charts}">
<h1>flowmark — suite <code>{suite}</code></h1>
<p>Seed {seed}, revision <code>{rev}</code>, {cores} cores ({cpu}), started {started}. {n} runs.
Latencies are of results due in the measured period; <em>due</em> is <code>emit − due</code>
(the instant a zero-cost engine could have emitted the result, from the reference engine),
<em>event</em> is <code>emit − latest event time covered</code>. Bold: the best value of its
column within a workload and scenario. Red rows failed or disagree with the reference.</p>
"#,
        suite = esc(&m.suite),
        charts = charts,
        seed = m.seed,
        rev = esc(&m.revision),
        cores = m.machine.cores,
        cpu = esc(&m.machine.cpu),
        started = esc(&m.started),
        n = set.runs.len(),
    );
    h
}

/// The claims, judged on this set (`crate::claims`): each with its rule, the numbers it rests
/// on, its verdict and links to the charts behind it.
fn claims(h: &mut String, set: &ResultSet, charts: &[Chart]) {
    h.push_str(
        "<h2 id=\"claims\">Claims</h2>\n<p>What is commonly said when continuous dataflow is compared with \
         micro-batching, judged by the rule beside it on this set's numbers (<code>flowmark claims</code> \
         prints the same; <code>docs/claims.md</code> explains each rule).</p>\n<table>\n<tr><th>#</th>\
         <th class=l>claim</th><th class=l>verdict</th><th class=l>rule</th><th class=l>numbers</th>\
         <th class=l>charts</th></tr>\n",
    );
    let mut pair = None;
    for c in crate::claims::judge(set) {
        if pair != Some(c.pair) {
            let _ = writeln!(
                h,
                "<tr><th colspan=6 class=l>On {} ({} against {})</th></tr>",
                esc(c.pair.name),
                esc(c.pair.continuous),
                esc(c.pair.microbatch)
            );
            pair = Some(c.pair);
        }
        let colour = match c.verdict {
            crate::claims::Verdict::Holds => "#dff3df",
            crate::claims::Verdict::Refuted => "#fde0e0",
            crate::claims::Verdict::Depends(_) => "#fff4d6",
            crate::claims::Verdict::NoData(_) => "#eeeeee",
        };
        let detail = c.verdict.detail();
        let evidence: String = c.evidence.iter().map(|e| format!("<li>{}</li>", esc(e))).collect();
        let links: Vec<String> = charts
            .iter()
            .filter(|ch| c.charts.iter().any(|p| ch.name.starts_with(p.as_str())))
            .take(6)
            .map(|ch| format!("<a href=\"#{}\">{}</a>", esc(&ch.name), esc(&ch.title)))
            .collect();
        let _ = writeln!(
            h,
            "<tr class=claim><td>{}</td><td class=l>{}</td><td class=l style=\"background:{colour}\"><b>{}</b>{}</td>\
             <td class=l>{}</td><td class=l><ul>{evidence}</ul></td><td class=l>{}</td></tr>",
            c.number,
            esc(c.statement),
            c.verdict.word(),
            if detail.is_empty() { String::new() } else { format!(": {}", esc(detail)) },
            esc(c.rule),
            links.join("<br>"),
        );
    }
    h.push_str("</table>\n");
}

/// The summary: one row per engine configuration × workload × scenario, one column per
/// metric of the summary view, the best of each ranked column in bold.
fn summary(h: &mut String, set: &ResultSet) {
    // a column no run has a value in (no processing-time run, no change of load) is left out
    let cols: Vec<&Metric> = crate::metrics::in_view(View::Summary)
        .filter(|c| set.runs.iter().any(|r| c.value(r).is_some()))
        .collect();
    let mut rows: BTreeMap<(String, String, String, String), Row> = BTreeMap::new();
    for r in &set.runs {
        let key = (r.workload.clone(), r.situation(), r.engine.clone(), r.settings_string());
        rows.entry(key)
            .or_insert_with(|| Row {
                workload: &r.workload,
                scenario: r.situation(),
                engine: &r.engine,
                settings: r.settings_string(),
                runs: Vec::new(),
            })
            .runs
            .push(r);
    }
    h.push_str(
        "<h2>Summary</h2>\n<table>\n<tr><th class=l>engine</th><th class=l>settings</th><th>runs</th>",
    );
    for c in &cols {
        let _ = write!(h, "<th>{}</th>", c.heading);
    }
    let baseline = |row: &Row| row.runs.iter().any(|r| r.is_baseline());
    h.push_str("<th class=l>correctness</th></tr>\n");
    let mut by_group: BTreeMap<(String, String), Vec<&Row>> = BTreeMap::new();
    for row in rows.values() {
        by_group.entry((row.workload.to_string(), row.scenario.clone())).or_default().push(row);
    }
    for ((workload, scenario), group) in &by_group {
        let _ = writeln!(
            h,
            "<tr class=group><td colspan={}>{} — {}</td></tr>",
            cols.len() + 4,
            esc(workload),
            esc(scenario)
        );
        // the best of each ranked column among the rows that are correct
        let best: Vec<Option<f64>> = cols
            .iter()
            .map(|c| {
                let values = group
                    .iter()
                    .filter(|r| r.runs.iter().all(|x| x.status == Status::Ok) && !baseline(r))
                    .filter_map(|r| average(&r.runs, c));
                match c.better {
                    Some(Better::Smaller) => {
                        values.fold(None, |b: Option<f64>, v| Some(b.map_or(v, |b| b.min(v))))
                    }
                    Some(Better::Bigger) => {
                        values.fold(None, |b: Option<f64>, v| Some(b.map_or(v, |b| b.max(v))))
                    }
                    None => None,
                }
            })
            .collect();
        for row in group {
            let bad = row.runs.iter().any(|r| r.status != Status::Ok);
            let _ = write!(
                h,
                "<tr{}><td class=l>{}</td><td class=l>{}</td><td>{}</td>",
                if bad { " class=bad" } else { "" },
                esc(row.engine),
                esc(&row.settings),
                row.runs.len()
            );
            for (c, b) in cols.iter().zip(&best) {
                match average(&row.runs, c) {
                    Some(v) => {
                        let is_best = !bad
                            && !baseline(row)
                            && b.is_some_and(|b| (b - v).abs() <= 1e-9 * b.abs().max(1.0));
                        let _ =
                            write!(h, "<td{}>{}</td>", if is_best { " class=best" } else { "" }, (c.show)(v));
                    }
                    None => h.push_str("<td>—</td>"),
                }
            }
            let verdict: Vec<String> = row
                .runs
                .iter()
                .map(|r| {
                    let c = &r.metrics.correctness;
                    match &r.status {
                        Status::Ok => format!(
                            "exact ({} results; {} late dropped, {} expected){}",
                            c.correct,
                            c.late_dropped,
                            c.late_expected,
                            r.harness_bound().map_or(String::new(), |why| format!(
                                "; <strong>harness-bound</strong>: {}",
                                esc(&why)
                            ))
                        ),
                        Status::Incorrect(why) => format!("<strong>INCORRECT</strong>: {}", esc(why)),
                        Status::Failed(why) => format!("<strong>FAILED</strong>: {}", esc(why)),
                    }
                })
                .collect();
            let _ = writeln!(h, "<td class=l>{}</td></tr>", verdict.join("<br>"));
        }
    }
    h.push_str("</table>\n");
}

/// The sustainable-throughput searches and their probes.
fn searches(h: &mut String, set: &ResultSet) {
    if !set.searches.is_empty() {
        h.push_str("<h2>Sustainable throughput</h2>\n<table><tr><th class=l>workload</th><th class=l>engine</th><th>sustainable</th><th class=l>probes (rate: max backlog, growth of the least)</th></tr>\n");
        for s in &set.searches {
            let probes: Vec<String> = s
                .probes
                .iter()
                .map(|p| {
                    let growth = p.growth_ms.map_or(String::new(), |g| format!(", {g:+.0} ms"));
                    format!(
                        "{:.0}/s {} ({:.0} ms{growth})",
                        p.rate,
                        if p.sustained { "✓" } else { "✗" },
                        p.max_backlog_ms
                    )
                })
                .collect();
            let _ = writeln!(
                h,
                "<tr><td class=l>{}</td><td class=l>{}</td><td>{}</td><td class=l>{}</td></tr>",
                esc(&s.workload),
                esc(&s.engine),
                esc(&s.figure()),
                esc(&probes.join(", "))
            );
        }
        h.push_str("</table>\n");
    }
}

/// Every recovery and its phases.
fn recoveries(h: &mut String, set: &ResultSet) {
    let recovered: Vec<&Run> = set.runs.iter().filter(|r| !r.recoveries.is_empty()).collect();
    if !recovered.is_empty() {
        h.push_str("<h2>Recoveries</h2>\n<table><tr><th class=l>run</th><th class=l>failure</th><th>at (s)</th><th>detection</th><th>restart delay</th><th>restore</th><th>catch-up</th><th>from the failure</th><th>from the restart</th></tr>\n");
        for r in recovered {
            for x in &r.recoveries {
                let _ = writeln!(
                    h,
                    "<tr><td class=l>{}</td><td class=l>{}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&r.id),
                    esc(&x.kind),
                    x.at_s,
                    x.detection_ms.map_or("—".into(), ms),
                    ms(x.restart_delay_ms),
                    ms(x.restore_ms),
                    x.catch_up_ms.map_or("did not catch up".into(), ms),
                    x.total_ms.map_or("—".into(), ms),
                    x.from_restart_ms.map_or("—".into(), ms),
                );
            }
        }
        h.push_str("</table>\n");
    }
}

/// The charts, inlined as PNG, each linking its SVG.
fn figures(h: &mut String, charts: &[Chart]) -> Result<(), std::io::Error> {
    h.push_str("<h2>Charts</h2>\n");
    let mut section = String::new();
    for c in charts {
        if c.section != section {
            section = c.section.clone();
            let _ = writeln!(h, "<h3>{}</h3>", esc(&section));
        }
        let png = std::fs::read(&c.png)?;
        let _ = writeln!(
            h,
            "<figure id=\"{name}\"><img alt=\"{title}\" src=\"data:image/png;base64,{data}\"><figcaption>{title} (<a href=\"charts/{name}.svg\">SVG</a>)</figcaption></figure>",
            name = esc(&c.name),
            title = esc(&c.title),
            data = base64::engine::general_purpose::STANDARD.encode(png),
        );
    }
    Ok(())
}

/// The suite file and the manifest, and the check that every image decoded.
fn configuration(h: &mut String, set: &ResultSet) {
    let m = &set.manifest;
    let _ = write!(
        h,
        "<h2>Configuration</h2>\n<p>Suite file <code>{}</code>:</p>\n<pre>{}</pre>\n<h2>Manifest</h2>\n<pre>{}</pre>\n",
        esc(&m.suite_file),
        esc(&m.suite_text),
        esc(&serde_json::to_string_pretty(m).unwrap_or_default())
    );
    // the other half of the self-check: every image decoded
    h.push_str(
        r#"<script>
window.addEventListener('load', function () {
  var broken = Array.prototype.filter.call(document.images, function (i) { return !i.complete || i.naturalWidth === 0; });
  document.body.dataset.imagesLoaded = String(document.images.length - broken.length);
  document.body.dataset.imagesBroken = String(broken.length);
});
</script>
</body></html>
"#,
    );
}
