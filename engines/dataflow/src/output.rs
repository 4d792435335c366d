//! Reading the results a run committed.

use crate::error::EngineError;
pub use flowmark_core::output::Emission;
use std::path::Path;

/// Every committed result, in commit order (checkpoint, then task; live files last).
pub fn read_committed(output_dir: &Path) -> Result<Vec<Emission>, EngineError> {
    let dir = output_dir.join("committed");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(EngineError::io("list", &dir))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".tmp"))
        .collect();
    // <sink>.<checkpoint>.<task>: order by checkpoint first
    names.sort_by(|a, b| {
        let key = |n: &str| n.split('.').nth(1).map(str::to_string).unwrap_or_default();
        key(a).cmp(&key(b)).then(a.cmp(b))
    });
    let mut out = Vec::new();
    for name in names {
        let path = dir.join(&name);
        let text = std::fs::read_to_string(&path).map_err(EngineError::io("read", &path))?;
        let sink = name.split('.').next().unwrap_or_default().to_string();
        let commit = name.split('.').nth(1).and_then(|c| c.parse().ok());
        for line in text.lines() {
            let Some((emitted, line)) = flowmark_core::output::parse_line(line) else {
                return Err(EngineError::CorruptCheckpoint {
                    path: path.clone(),
                    reason: format!("result line `{line}` is not <emit>\\t<id>\\t<value>"),
                });
            };
            out.push(Emission { sink: sink.clone(), emitted, line, commit });
        }
    }
    Ok(out)
}
