//! A throwaway `redis-server` for the tests that need one (this crate's `tests/redis_store.rs`,
//! and bearer-sim's `tests/fleet_processes.rs`, which includes this file): a free loopback port,
//! no persistence, killed when dropped. Without the program on `PATH` it panics saying how to
//! install it, so a test run with `--include-ignored` fails rather than passes.

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

/// What a test that needs it says when it is missing.
pub const NEEDS_REDIS: &str = "needs redis-server (apt-get install redis-server)";

/// A `redis-server` of this test, killed when dropped.
pub struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts one on a free port.
    pub fn start() -> RedisServer {
        let found = std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|dir| dir.join("redis-server").is_file())
        });
        assert!(found, "{NEEDS_REDIS}");
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .expect("a free port")
                .port();
            if let Some(server) = RedisServer::start_on(port) {
                return server;
            }
        }
        panic!("redis-server did not start on a free port");
    }

    /// Starts one on `port`; `None` when it could not (the port was taken). Returns once the
    /// server logs that it accepts connections, read from its standard output (which a thread
    /// then drains): no polling.
    pub fn start_on(port: u16) -> Option<RedisServer> {
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("{NEEDS_REDIS}: {error}"));
        let mut log = BufReader::new(child.stdout.take().expect("its standard output"));
        let mut line = String::new();
        loop {
            line.clear();
            match log.read_line(&mut line) {
                Ok(0) | Err(_) => {
                    // It exited before it was ready: the port was taken meanwhile.
                    let _ = child.wait();
                    return None;
                }
                Ok(_) if line.contains("Ready to accept connections") => break,
                Ok(_) => {}
            }
        }
        std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));
        Some(RedisServer { child, port })
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its URL, database 0.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Sends it `signal` (`-STOP`, `-CONT`, …).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Kills it.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&mut self) {
        self.stop();
        *self = RedisServer::start_on(self.port).expect("redis-server starts again");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
