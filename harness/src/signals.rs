//! Stopping cleanly. SIGINT (Ctrl-C), SIGTERM and SIGHUP all stop the harness the same way:
//! the run in progress is killed with its engine's whole process group (a JVM included),
//! nothing of it is kept, and the result directory stays resumable. A second signal exits at
//! once; the engine processes then die with the harness (`flowmark_core::lifeline`).
//!
//! SIGHUP is left alone when it was ignored at start (`nohup flowmark run …`): a suite started
//! that way outlives the terminal, as its user asked.
//!
//! A harness started by `flowmark ab` (tied to it, `flowmark_core::lifeline::tie`) also stops
//! when `ab` dies.

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The exit code of an interrupted command.
pub const INTERRUPTED: u8 = 130;

/// A flag that the first stopping signal sets.
pub fn cancel_flag() -> Arc<AtomicBool> {
    let cancel = Arc::new(AtomicBool::new(false));
    let mut wanted = vec![SIGINT, SIGTERM];
    if !hangup_ignored() {
        wanted.push(SIGHUP);
    }
    match Signals::new(&wanted) {
        Ok(mut signals) => {
            let flag = cancel.clone();
            let watch = move || {
                for signal in signals.forever() {
                    stop(&flag, name(signal));
                }
            };
            let _ = std::thread::Builder::new().name("signals".into()).spawn(watch);
        }
        Err(e) => eprintln!("flowmark: cannot handle Ctrl-C ({e}); it will end the harness at once"),
    }
    if flowmark_core::lifeline::tied() {
        let flag = cancel.clone();
        flowmark_core::lifeline::watch_parent(move || {
            stop(&flag, "its parent ended");
            // whatever comes of the run in progress, nobody is left to wait for it: a second
            // look a little later ends the process if the first did not
            std::thread::sleep(std::time::Duration::from_secs(30));
            stop(&flag, "its parent ended");
        });
    }
    cancel
}

fn stop(flag: &AtomicBool, why: &str) {
    if flag.swap(true, Ordering::Relaxed) {
        eprintln!("\nflowmark: {why} again; exiting now");
        std::process::exit(i32::from(INTERRUPTED));
    }
    eprintln!("\nflowmark: {why}: stopping after killing the current run (Ctrl-C again to exit at once)");
}

fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "interrupted",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        _ => "signalled",
    }
}

/// Whether SIGHUP was ignored when the process started (`nohup`): bit 0 of `SigIgn` in
/// `/proc/self/status`, a mask in hexadecimal.
fn hangup_ignored() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return false };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & 1 << (SIGHUP - 1) != 0)
}
