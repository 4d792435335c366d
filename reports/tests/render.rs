//! The report of a small fixture result directory (a real quick-suite run of word count,
//! trimmed): every chart exists as a valid PNG and SVG, the HTML embeds them, and a headless
//! browser shows them with no script error.

use base64::Engine as _;
use std::path::Path;
use std::process::Command;

/// A copy of the fixture in a directory of the test's own (`name`): tests run in parallel.
fn fixture(name: &str) -> tempfile::TempDir {
    let scratch_dir = tempfile::Builder::new().prefix(&format!("flowmark-report-{name}-")).tempdir().unwrap();
    let dir = scratch_dir.path();
    std::fs::create_dir_all(dir.join("runs")).unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixture");
    std::fs::copy(from.join("manifest.json"), dir.join("manifest.json")).unwrap();
    for e in std::fs::read_dir(from.join("runs")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join("runs").join(e.file_name())).unwrap();
    }
    scratch_dir
}

fn is_png(bytes: &[u8]) -> bool {
    bytes.len() > 1000 && bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR"
}

#[test]
fn every_chart_is_a_valid_png_and_svg_and_the_html_embeds_them() {
    let scratch_dir = fixture("charts");
    let dir = scratch_dir.path();
    let rendered = flowmark_reports::render(dir).unwrap();
    assert!(
        rendered.charts.len() >= 7,
        "latency, timeline, rates, throughput, anatomy, checkpoints, correctness"
    );
    let html = std::fs::read_to_string(&rendered.html).unwrap();
    for kind in ["latency-", "timeline-", "rates-", "throughput-", "anatomy-", "checkpoints-", "correctness"]
    {
        assert!(rendered.charts.iter().any(|c| c.name.starts_with(kind)), "a {kind} chart");
    }
    for chart in &rendered.charts {
        let png = std::fs::read(&chart.png).unwrap();
        assert!(is_png(&png), "{} is a PNG", chart.png.display());
        let svg = std::fs::read_to_string(&chart.svg).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{}", chart.svg.display());
        assert!(svg.contains("<text"), "{} has labels", chart.svg.display());
        let embedded =
            format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(&png));
        assert!(html.contains(&embedded), "the HTML embeds {}", chart.name);
    }
    assert!(html.contains("<h2>Summary</h2>") && html.contains("class=best"), "summary with the best marked");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "self-contained: nothing from the network"
    );
    let summary = html.find("<h2>Summary</h2>").unwrap();
    assert!(summary < html.find("<h2>Charts</h2>").unwrap() && html.find("<h2>Manifest</h2>").is_some());
}

/// Chromium, if the machine has it (`scripts/setup` installs it; CI requires it).
fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()));
    if found.is_none() && std::env::var_os("FLOWMARK_REQUIRE_BROWSER").is_some() {
        panic!("FLOWMARK_REQUIRE_BROWSER is set but no chromium is installed: run scripts/setup");
    }
    found
}

#[test]
fn the_report_opens_in_a_headless_browser_with_every_image_and_no_script_error() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no chromium on this machine (scripts/setup installs it; .ci/run requires it)");
        return;
    };
    let scratch_dir = fixture("browser");
    let dir = scratch_dir.path();
    let rendered = flowmark_reports::render(dir).unwrap();
    let url = format!("file://{}", rendered.html.display());
    let headless = |extra: &[&str]| {
        Command::new(browser)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"])
            .arg(format!("--user-data-dir={}", dir.join("browser-profile").display()))
            .args(extra)
            .arg(&url)
            .output()
            .unwrap()
    };
    // the page's own check runs on load: every image decoded, no script error
    let out = headless(&["--virtual-time-budget=5000", "--dump-dom"]);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let attr = |name: &str| {
        let start = dom.find(&format!("{name}=\"")).map(|i| i + name.len() + 2)?;
        Some(dom[start..].split('"').next()?.to_string())
    };
    assert_eq!(attr("data-script-error"), None, "a script error");
    assert_eq!(attr("data-images-broken").as_deref(), Some("0"), "a broken image");
    assert_eq!(attr("data-images-loaded"), Some(rendered.charts.len().to_string()), "every chart shown");
    let shot = dir.join("screenshot.png");
    let out = headless(&[&format!("--screenshot={}", shot.display()), "--window-size=1280,2400"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(is_png(&std::fs::read(&shot).unwrap()), "the screenshot is a PNG");
    eprintln!("screenshot: {}", shot.display());
}
