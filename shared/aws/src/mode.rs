//! [`ParameterMode`]: the kill switch ([`ModeSource`]) read from an SSM parameter.
//!
//! The parameter holds `enforce`, `dry-run` or `off`. It is read at most every
//! [`CACHE_TTL`] (2 s: the engine reads it before every phase it sends, DESIGN principle 10). A configured parameter that cannot be read, or that holds anything
//! else, means `dry-run` (fail closed); such a failure is remembered only [`FAILURE_TTL`] so a
//! fixed parameter takes effect quickly. With no parameter configured the caller picks the mode
//! ([`ParameterMode::fixed`]).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ssm::types::ParameterType;
use selfheal_service::ports::{GlobalMode, ModeSource};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::port_error;
use crate::text::clip_chars;

/// How long a successfully read mode is reused.
pub const CACHE_TTL: Duration = Duration::from_secs(2);
/// How long a failed read (answered as `dry-run`) is reused.
pub const FAILURE_TTL: Duration = Duration::from_secs(2);

/// The global mode, from a parameter or fixed.
#[derive(Debug)]
pub struct ParameterMode {
    source: Source,
}

#[derive(Debug)]
enum Source {
    Fixed(GlobalMode),
    Parameter {
        client: aws_sdk_ssm::Client,
        name: String,
        cache: Mutex<Option<(GlobalMode, Instant)>>,
    },
}

impl ParameterMode {
    /// Reads the mode from the SSM parameter `name` (String type, no decryption).
    pub fn new(client: aws_sdk_ssm::Client, name: impl Into<String>) -> Self {
        Self {
            source: Source::Parameter {
                client,
                name: name.into(),
                cache: Mutex::new(None),
            },
        }
    }

    /// Always `mode` (no parameter configured).
    pub fn fixed(mode: GlobalMode) -> Self {
        Self {
            source: Source::Fixed(mode),
        }
    }

    /// [`ParameterMode::new`] when a parameter name is configured, else `fixed(unconfigured)`.
    pub fn from_setting(
        client: aws_sdk_ssm::Client,
        name: Option<String>,
        unconfigured: GlobalMode,
    ) -> Self {
        match name {
            Some(name) => Self::new(client, name),
            None => Self::fixed(unconfigured),
        }
    }
}

/// Reads the parameter once; `Err` carries a log-safe reason.
async fn read(client: &aws_sdk_ssm::Client, name: &str) -> Result<GlobalMode, String> {
    let out = client
        .get_parameter()
        .name(name)
        .with_decryption(false)
        .send()
        .await
        .map_err(|e| port_error("ssm:GetParameter", &e).to_string())?;
    let param = out
        .parameter()
        .ok_or_else(|| "the answer carried no parameter".to_owned())?;
    let value = param.value().unwrap_or("");
    GlobalMode::parse(value).ok_or_else(|| {
        if matches!(param.r#type(), Some(ParameterType::SecureString)) {
            "it is a SecureString; expected a String holding enforce, dry-run or off".to_owned()
        } else {
            format!(
                "unknown value {:?}; expected enforce, dry-run or off",
                clip_chars(value, 32)
            )
        }
    })
}

#[async_trait]
impl ModeSource for ParameterMode {
    async fn mode(&self) -> GlobalMode {
        let (client, name, cache) = match &self.source {
            Source::Fixed(mode) => return *mode,
            Source::Parameter {
                client,
                name,
                cache,
            } => (client, name, cache),
        };
        // Held across the read so concurrent callers share one GetParameter.
        let mut cached = cache.lock().await;
        if let Some((mode, until)) = *cached {
            if Instant::now() < until {
                return mode;
            }
        }
        let (mode, ttl) = match read(client, name).await {
            Ok(mode) => (mode, CACHE_TTL),
            Err(reason) => {
                tracing::warn!(
                    parameter = %name,
                    %reason,
                    "mode parameter unreadable: running as dry-run"
                );
                (GlobalMode::DryRun, FAILURE_TTL)
            }
        };
        *cached = Some((mode, Instant::now() + ttl));
        mode
    }
}
