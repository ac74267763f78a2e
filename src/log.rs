//! `STARMILE_LOG=error|warn|info|debug`: log lines on stderr.
//!
//! Callers pass only text that holds no secret: our own words, or server text
//! that went through [`crate::secret::Redactor`].

use once_cell::sync::Lazy;

#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Level {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
}

static MAX_LEVEL: Lazy<Option<Level>> = Lazy::new(|| {
    match std::env::var("STARMILE_LOG")
        .ok()?
        .to_ascii_lowercase()
        .as_str()
    {
        "error" => Some(Level::Error),
        "warn" | "warning" => Some(Level::Warn),
        "info" => Some(Level::Info),
        "debug" | "trace" => Some(Level::Debug),
        _ => None,
    }
});

pub fn enabled(level: Level) -> bool {
    MAX_LEVEL.is_some_and(|max| level <= max)
}

pub fn write(level: Level, message: std::fmt::Arguments<'_>) {
    let name = match level {
        Level::Error => "ERROR",
        Level::Warn => "WARN",
        Level::Info => "INFO",
        Level::Debug => "DEBUG",
    };
    // One write per line: processes sharing a stderr (PHP-FPM workers, a
    // multiprocessing pool) then never interleave inside a line.
    let line = format!("starmile[{}] {name}: {message}\n", std::process::id());
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
}

/// `log!(Level::Info, "fetched a token in {} ms", ms)`
macro_rules! log {
    ($level:expr, $($arg:tt)+) => {
        if $crate::log::enabled($level) {
            $crate::log::write($level, format_args!($($arg)+));
        }
    };
}
pub(crate) use log;
