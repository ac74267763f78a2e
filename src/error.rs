//! The core error type and the status codes it carries across the C boundary.

use std::fmt;

/// What went wrong, in the categories the C ABI reports (`sm_status`).
///
/// The numeric values are part of the public contract and never change.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Status {
    Ok = 0,
    /// NULL where not allowed, invalid UTF-8, bad config, bad URL, CR/LF in a
    /// header, cross-origin URL ...
    InvalidArgument = 1,
    /// A client handle that is 0, unknown or already freed.
    InvalidHandle = 2,
    /// The token endpoint refused the credentials (an OAuth2 error answer).
    Auth = 3,
    /// The token endpoint kept answering 429/5xx after the retries.
    Unavailable = 4,
    /// DNS, connect, TLS, connection reset.
    Network = 5,
    Timeout = 6,
    /// An unusable answer: token response not JSON, no access_token, body too large ...
    Protocol = 7,
    /// A bug in libstarmile, such as a caught panic.
    Internal = 99,
}

impl Status {
    /// The name used in every binding, e.g. `"SM_ERR_AUTH"`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "SM_OK",
            Status::InvalidArgument => "SM_ERR_INVALID_ARGUMENT",
            Status::InvalidHandle => "SM_ERR_INVALID_HANDLE",
            Status::Auth => "SM_ERR_AUTH",
            Status::Unavailable => "SM_ERR_UNAVAILABLE",
            Status::Network => "SM_ERR_NETWORK",
            Status::Timeout => "SM_ERR_TIMEOUT",
            Status::Protocol => "SM_ERR_PROTOCOL",
            Status::Internal => "SM_ERR_INTERNAL",
        }
    }

    /// The status with this numeric value, if there is one.
    pub fn from_code(code: i32) -> Option<Status> {
        const ALL: [Status; 9] = [
            Status::Ok,
            Status::InvalidArgument,
            Status::InvalidHandle,
            Status::Auth,
            Status::Unavailable,
            Status::Network,
            Status::Timeout,
            Status::Protocol,
            Status::Internal,
        ];
        ALL.into_iter().find(|s| *s as i32 == code)
    }
}

/// An error with its status and a human-readable message.
///
/// Messages never contain the client secret or an access token: every message
/// built from a server's answer passes through [`crate::secret::Redactor`] first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    status: Status,
    message: String,
}

impl Error {
    pub fn new(status: Status, message: impl Into<String>) -> Error {
        Error {
            status,
            message: message.into(),
        }
    }

    pub fn invalid_argument(message: impl Into<String>) -> Error {
        Error::new(Status::InvalidArgument, message)
    }

    pub fn protocol(message: impl Into<String>) -> Error {
        Error::new(Status::Protocol, message)
    }

    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(Status::Internal, message)
    }

    pub fn status(&self) -> Status {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error with `context` put in front of its message.
    pub fn context(self, context: &str) -> Error {
        Error {
            status: self.status,
            message: format!("{context}: {}", self.message),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status.name(), self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
