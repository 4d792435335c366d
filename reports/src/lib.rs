//! # flowmark-reports
//!
//! Reads result directories from disk — [`results`] defines them — and renders what people
//! look at from them: [`charts`] (PNG and SVG), the self-contained [`html`] report, and the
//! [`compare`]ison of two result sets with a regression verdict for CI. It depends on no
//! engine: a result set can be re-rendered or compared long after the run.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod charts;
pub mod claims;
pub mod compare;
pub mod html;
pub mod metrics;
pub mod results;
pub mod stats;

pub use results::{Manifest, ResultSet, ResultsError, Run};

use std::path::{Path, PathBuf};

/// A report that could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The result directory cannot be read.
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// A chart could not be drawn.
    #[error(transparent)]
    Chart(#[from] charts::ChartError),
    /// Writing the report failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What [`render`] wrote.
#[derive(Debug)]
pub struct Rendered {
    /// `report.html`.
    pub html: PathBuf,
    /// The charts, in `charts/`.
    pub charts: Vec<charts::Chart>,
}

/// Renders the charts and `report.html` of the result directory `dir`, from its files alone.
pub fn render(dir: &Path) -> Result<Rendered, ReportError> {
    let set = ResultSet::load(dir)?;
    let charts = charts::render(&set, &dir.join("charts"))?;
    let html = html::render(&set, &charts)
        .map_err(|source| ReportError::Write { path: dir.join("charts"), source })?;
    let path = dir.join("report.html");
    flowmark_core::durable::write_atomic(&path, html.as_bytes(), None).map_err(|e| ReportError::Write {
        path: path.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(Rendered { html: path, charts })
}

/// A file-name-safe form of a string.
pub fn slug(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
}
