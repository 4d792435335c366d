//! A process that ends when the process that started it does.
//!
//! The harness starts every engine in a process group of its own, so that a SIGKILL of the
//! group ends the engine with whatever it started (a JVM). When the harness itself dies
//! without killing that group — SIGKILLed, or exiting at a second Ctrl-C — the engine would
//! be orphaned and run on. A [`watch_parent`] thread notices: once the process's parent is no
//! longer the one that started it (the orphan was re-parented), it calls its `orphaned`
//! action, which ends the process (and its group).
//!
//! Polling `getppid` keeps this in safe code; Linux's parent-death signal (`PR_SET_PDEATHSIG`)
//! would have to be set between fork and exec.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::{Pid, getpgrp, getpid, getppid};
use std::process::Command;
use std::time::Duration;

/// How often the parent is looked at: an orphan lives at most this long.
pub const POLL: Duration = Duration::from_millis(100);

/// The environment variable that names the process a child is tied to ([`tie`]).
pub const PARENT: &str = "FLOWMARK_PARENT";

/// Tells the process `cmd` starts who its parent is, so that it can tell from the start
/// whether it has been orphaned — even when that happened before it began to watch.
pub fn tie(cmd: &mut Command) -> &mut Command {
    cmd.env(PARENT, getpid().to_string())
}

/// Whether this process was started by [`tie`].
pub fn tied() -> bool {
    std::env::var_os(PARENT).is_some()
}

/// Starts a thread that calls `orphaned` once this process's parent is gone: no longer the
/// process that [`tie`]d it (or, for a process started otherwise, its parent now).
pub fn watch_parent(orphaned: impl FnOnce() + Send + 'static) {
    let tied = std::env::var(PARENT).ok().and_then(|p| p.parse::<i32>().ok()).map(Pid::from_raw);
    let parent = tied.unwrap_or_else(getppid);
    let watch = move || {
        while getppid() == parent {
            std::thread::sleep(POLL);
        }
        orphaned();
    };
    // without the thread the process merely lacks this safeguard
    let _ = std::thread::Builder::new().name("parent-watch".into()).spawn(watch);
}

/// What an engine process does when orphaned: SIGKILLs its process group when it leads one
/// (what it started dies with it), else itself.
pub fn end_group() {
    let me = getpid();
    if getpgrp() == me {
        let _ = killpg(me, Signal::SIGKILL);
    }
    let _ = nix::sys::signal::kill(me, Signal::SIGKILL);
}

/// Whether `pid` names a live process (a zombie counts as ended): for tests and tools that
/// watch processes from outside.
pub fn alive(pid: Pid) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // the state follows the command in parentheses, which may itself hold spaces
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// The live processes whose parent is `pid`.
pub fn children(pid: Pid) -> Vec<Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // pid (command) state ppid …
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let mut fields = rest.split_whitespace();
        let (state, ppid) = (fields.next(), fields.next().and_then(|p| p.parse::<i32>().ok()));
        if ppid == Some(pid.as_raw()) && state != Some("Z") {
            out.push(Pid::from_raw(child));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_not() {
        assert!(alive(getpid()));
        let mut child = Command::new("true").spawn().unwrap();
        let pid = Pid::from_raw(child.id() as i32);
        child.wait().unwrap();
        assert!(!alive(pid));
    }

    #[test]
    fn a_child_is_found_among_the_children_while_it_runs() {
        let mut child = Command::new("sleep").arg("5").spawn().unwrap();
        let pid = Pid::from_raw(child.id() as i32);
        assert!(children(getpid()).contains(&pid));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!children(getpid()).contains(&pid));
    }

    #[test]
    fn a_zombie_is_not_alive() {
        let child = Command::new("true").spawn().unwrap();
        let pid = Pid::from_raw(child.id() as i32);
        // exited but not reaped
        let started = std::time::Instant::now();
        while alive(pid) && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!alive(pid));
        drop(child);
    }
}
