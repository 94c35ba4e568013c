//! The one error type of lamsach, and the one place where errors become exit codes.
//!
//! Every message is a single plain sentence that names the file and the problem. Messages
//! never contain personal data (IDs, names): at most a column header, a line or row number.

use std::fmt;
use std::path::{Path, PathBuf};

/// Exit code for a run that completed (findings are not errors).
pub const EXIT_OK: i32 = 0;
/// Exit code for an internal error (a bug, or an output that could not be written).
pub const EXIT_INTERNAL: i32 = 1;
/// Exit code for bad usage or bad input.
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code for a run that wrote every output but breached a configured threshold.
pub const EXIT_THRESHOLD: i32 = 3;

#[derive(Debug)]
pub enum Error {
    /// The command line or the config file is wrong.
    Usage(String),
    /// An input file is missing, unreadable or malformed.
    Input { path: PathBuf, message: String },
    /// Writing an output failed.
    Output { path: PathBuf, message: String },
    /// Something that should not happen.
    Internal(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A problem with an input file, in one line: a library's text quoted in the message (a
    /// Parquet footer's damaged column name) may hold line breaks or other control
    /// characters, which become spaces.
    pub fn input(path: &Path, message: impl Into<String>) -> Self {
        let mut message: String = message.into();
        if message.chars().any(char::is_control) {
            message = message
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
        }
        Error::Input {
            path: path.to_path_buf(),
            message,
        }
    }

    pub fn output(path: &Path, err: impl fmt::Display) -> Self {
        Error::Output {
            path: path.to_path_buf(),
            message: err.to_string(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }

    pub fn internal(message: impl fmt::Display) -> Self {
        Error::Internal(message.to_string())
    }

    /// The exit code the binary returns for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Input { .. } => EXIT_BAD_INPUT,
            Error::Output { .. } | Error::Internal(_) => EXIT_INTERNAL,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "{m}"),
            Error::Input { path, message } => write!(f, "{}: {message}", path.display()),
            Error::Output { path, message } => {
                write!(f, "could not write {}: {message}", path.display())
            }
            Error::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// Return early with an error: `bail!(usage: "--threads must be at least 1")`,
/// `bail!(input: path, "line {line} cannot be parsed")`.
#[macro_export]
macro_rules! bail {
    (usage: $($arg:tt)+) => {
        return Err($crate::error::Error::usage(format!($($arg)+)))
    };
    (input: $path:expr, $($arg:tt)+) => {
        return Err($crate::error::Error::input($path, format!($($arg)+)))
    };
}

/// Return early with an error unless a condition holds:
/// `ensure!(n > 0, usage: "--threads must be at least 1")`.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($rest:tt)+) => {
        if !$cond {
            $crate::bail!($($rest)+);
        }
    };
}

#[cfg(test)]
mod tests {
    /// A library's text with a line break in it (a damaged Parquet footer's column name, as
    /// the reader fuzz test met it) still makes a one-line message.
    #[test]
    fn an_input_error_is_one_line() {
        let e = super::Error::input(
            std::path::Path::new("f.parquet"),
            "the file is not a readable Parquet file (expected field named r\necord_id)",
        );
        assert_eq!(e.to_string().lines().count(), 1, "{e}");
        assert!(e.to_string().contains("named r ecord_id"), "{e}");
    }
}
