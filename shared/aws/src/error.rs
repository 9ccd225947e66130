//! One place that turns an AWS SDK error into a [`PortError`].
//!
//! Transient (the record goes back to the queue): timeouts, dispatch failures (the service was
//! unreachable), unreadable responses, HTTP 5xx and 429, and throttling codes. Everything else is
//! permanent. The error strings carry the operation, the error code and the service's own message
//! (clipped); never request bodies, parameter values or endpoint URLs.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use selfheal_service::ports::PortError;

use crate::text::clip_chars;

/// Error codes that mean "slow down or try again" across the services used here.
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "InternalServerError",
    "InternalServerException",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
    "TransactionConflictException",
];

/// Whether a service error code is one of the transient ones.
pub fn is_transient_code(code: &str) -> bool {
    TRANSIENT_CODES.contains(&code)
}

/// Maps an SDK error of operation `op` (e.g. `"ssm:SendCommand"`) to a [`PortError`].
pub fn port_error<E>(op: &str, err: &SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ConstructionFailure(_) => {
            PortError::Permanent(format!("{op}: the request could not be built"))
        }
        SdkError::TimeoutError(_) => PortError::Transient(format!("{op}: timed out")),
        SdkError::DispatchFailure(d) => {
            let why = if d.is_timeout() {
                "connection timed out"
            } else if d.is_io() {
                "connection failed"
            } else if d.is_user() {
                "request rejected by the HTTP client"
            } else {
                "dispatch failure"
            };
            PortError::Transient(format!("{op}: service unreachable ({why})"))
        }
        SdkError::ResponseError(r) => PortError::Transient(format!(
            "{op}: unreadable response (HTTP {})",
            r.raw().status().as_u16()
        )),
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            let code = err.code().unwrap_or("unknown");
            let message = err
                .message()
                .map(|m| clip_chars(m, 300))
                .unwrap_or_default();
            let text = if message.is_empty() {
                format!("{op}: {code} (HTTP {status})")
            } else {
                format!("{op}: {code} (HTTP {status}): {message}")
            };
            if status >= 500 || status == 429 || is_transient_code(code) {
                PortError::Transient(text)
            } else {
                PortError::Permanent(text)
            }
        }
        // `SdkError` is non-exhaustive; anything new is treated as "try again later".
        _ => PortError::Transient(format!("{op}: unclassified SDK error")),
    }
}

/// The error code of a service error, if the error is one.
pub fn service_code<E, R>(err: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(_) => err.code(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::is_transient_code;

    #[test]
    fn throttling_codes_are_transient() {
        for c in [
            "ThrottlingException",
            "Throttling",
            "ProvisionedThroughputExceededException",
        ] {
            assert!(is_transient_code(c), "{c}");
        }
        for c in [
            "AccessDeniedException",
            "ValidationException",
            "InvalidInstanceId",
        ] {
            assert!(!is_transient_code(c), "{c}");
        }
    }
}
