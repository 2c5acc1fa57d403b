//! Child server processes (Prometheus, VictoriaMetrics) that are always stopped: a guard
//! terminates the process by PID when dropped, so an error or a panic never leaves one behind.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{io_err, Error, Result};
use crate::http::HttpClient;

/// How long a server gets to exit after SIGTERM before it is killed.
const TERM_GRACE: Duration = Duration::from_secs(60);

/// A running server. Its stdout and stderr go to a log file.
pub struct ServerProcess {
    name: String,
    program: PathBuf,
    child: Option<Child>,
    log_path: PathBuf,
}

impl ServerProcess {
    /// Starts `program args...`, logging to `log_path` (truncated).
    pub fn spawn(name: &str, program: &Path, args: &[String], log_path: &Path) -> Result<Self> {
        let log = File::create(log_path).map_err(io_err(log_path))?;
        let log_err = log.try_clone().map_err(io_err(log_path))?;
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| Error::Program {
                program: program.to_path_buf(),
                message: format!("cannot start: {e}"),
            })?;
        Ok(Self {
            name: name.to_string(),
            program: program.to_path_buf(),
            child: Some(child),
            log_path: log_path.into(),
        })
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Polls `GET path` until it answers 200, the process exits, or `timeout` passes.
    pub fn wait_ready(
        &mut self,
        client: &HttpClient,
        path: &str,
        timeout: Duration,
    ) -> Result<Duration> {
        let started = Instant::now();
        loop {
            if let Ok((200, _)) = client.get(path) {
                return Ok(started.elapsed());
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(Error::Program {
                        program: self.program.clone(),
                        message: format!(
                            "exited with {status} before becoming ready; log tail:\n{}",
                            self.log_tail(20)
                        ),
                    });
                }
            }
            if started.elapsed() > timeout {
                return Err(Error::NotReady {
                    engine: self.name.clone(),
                    waited_secs: timeout.as_secs(),
                    log_tail: self.log_tail(20),
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Stops the server: SIGTERM by PID (so it can flush and release its data directory), then
    /// SIGKILL if it is still running after a grace period.
    pub fn stop(mut self) -> Result<()> {
        self.terminate()
    }

    fn terminate(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if let Ok(Some(_)) = child.try_wait() {
            return Ok(());
        }
        // std offers only SIGKILL; ask politely first with kill(1), addressing our own child's PID.
        let termed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if termed {
            let deadline = Instant::now() + TERM_GRACE;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        child.kill().map_err(|e| Error::Program {
            program: self.program.clone(),
            message: format!("kill: {e}"),
        })?;
        child.wait().map_err(|e| Error::Program {
            program: self.program.clone(),
            message: format!("wait: {e}"),
        })?;
        Ok(())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Errors cannot be reported from drop; terminate() already escalates to SIGKILL.
        let _ = self.terminate();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alive(pid: u32) -> bool {
        Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z ")
    }

    #[test]
    fn dropping_the_guard_stops_the_process() {
        let dir = tempfile::tempdir().unwrap();
        let server = ServerProcess::spawn(
            "sleep",
            Path::new("/bin/sleep"),
            &["300".into()],
            &dir.path().join("log"),
        )
        .unwrap();
        let pid = server.pid().unwrap();
        assert!(alive(pid));
        drop(server);
        assert!(!alive(pid), "process {pid} survived its guard");
    }

    #[test]
    fn a_server_that_exits_early_reports_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut server = ServerProcess::spawn(
            "sh",
            Path::new("/bin/sh"),
            &["-c".into(), "echo bad flag >&2; exit 3".into()],
            &dir.path().join("log"),
        )
        .unwrap();
        let port = crate::http::free_port().unwrap();
        let client = HttpClient::new(format!("http://127.0.0.1:{port}"), Duration::from_secs(1));
        let err = server
            .wait_ready(&client, "/-/ready", Duration::from_secs(30))
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("before becoming ready") && msg.contains("bad flag"),
            "{msg}"
        );
    }

    #[test]
    fn a_missing_program_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = ServerProcess::spawn(
            "x",
            Path::new("/nonexistent/prometheus"),
            &[],
            &dir.path().join("log"),
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("cannot start"), "{err}");
    }
}
