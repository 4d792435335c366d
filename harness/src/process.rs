//! An engine process under test: started in its own process group, read line by line, killed
//! as a group.

use anyhow::{Context, Result};
use flowmark_core::protocol::Report;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::io::BufRead;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

/// What the engine process said or did.
#[derive(Debug)]
pub enum Event {
    /// A report line.
    Report(Report),
    /// A line that is not a report (kept for the error message).
    Garbage(String),
    /// Its stdout closed: it exited or was killed.
    Closed,
}

/// A running engine process.
pub struct EngineProcess {
    child: Child,
    events: Receiver<Event>,
    reaped: Option<ExitStatus>,
}

impl EngineProcess {
    /// Starts `flowmark worker <spec>` in a new process group; its stderr is appended to
    /// `stderr`.
    pub fn start(spec: &Path, stderr: &Path) -> Result<EngineProcess> {
        let exe = std::env::current_exe().context("locating the flowmark binary")?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(stderr)
            .with_context(|| format!("opening {}", stderr.display()))?;
        let mut child = flowmark_core::lifeline::tie(&mut Command::new(exe))
            .arg("worker")
            .arg(spec)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .process_group(0)
            .spawn()
            .context("starting the engine process")?;
        let stdout = child.stdout.take().context("the engine process has no stdout")?;
        let (tx, events) = channel();
        std::thread::Builder::new()
            .name("engine-stdout".into())
            .spawn(move || {
                for line in std::io::BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let event = match serde_json::from_str::<Report>(&line) {
                        Ok(r) => Event::Report(r),
                        Err(_) => Event::Garbage(line),
                    };
                    if tx.send(event).is_err() {
                        return;
                    }
                }
                let _ = tx.send(Event::Closed);
            })
            .context("starting the engine reader")?;
        Ok(EngineProcess { child, events, reaped: None })
    }

    /// The next event, waiting at most `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<Event> {
        match self.events.recv_timeout(timeout) {
            Ok(e) => Some(e),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => Some(Event::Closed),
        }
    }

    /// SIGKILLs the whole process group and reaps the process.
    pub fn kill(&mut self) {
        if self.reaped.is_none() {
            let _ = killpg(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
            self.reaped = self.child.wait().ok();
        }
    }

    /// Waits for the process to exit.
    pub fn wait(&mut self) -> Option<ExitStatus> {
        if self.reaped.is_none() {
            self.reaped = self.child.wait().ok();
        }
        self.reaped
    }
}

impl Drop for EngineProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
