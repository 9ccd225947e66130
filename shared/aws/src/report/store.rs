//! [`ReportStore`] in S3: the HTML page and the chart's PNG (a public URL under a base, or a
//! presigned GET URL). A presigned URL's signature is never logged: only the bucket and key are.

use std::time::Duration;

use async_trait::async_trait;
use selfheal_service::report::ReportStore;

/// How long a presigned chart URL is valid: one week, the most SigV4 allows. (A URL signed with
/// temporary credentials — the Lambda role's — stops working when they expire, which can be
/// sooner; Slack fetches the image when the message is posted.)
pub const PNG_URL_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// [`ReportStore`] in an S3 bucket.
#[derive(Debug, Clone)]
pub struct S3ReportStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// Where the bucket's objects are served publicly (a CloudFront distribution, a website
    /// endpoint): chart URLs are `url_base/key`. `None`: presigned GET URLs.
    url_base: Option<String>,
}

impl S3ReportStore {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            url_base: None,
        }
    }

    /// Chart URLs under a public `url_base` (e.g. `https://reports.example.com`, the same base
    /// as `SELFHEAL_REPORT_URL_BASE`) instead of presigned URLs. A blank base is ignored.
    pub fn with_url_base(mut self, url_base: impl Into<String>) -> Self {
        let base = url_base.into();
        let base = base.trim().trim_end_matches('/');
        self.url_base = (!base.is_empty()).then(|| base.to_owned());
        self
    }

    /// The public URL base, if any.
    pub fn url_base(&self) -> Option<&str> {
        self.url_base.as_deref()
    }
}

/// `base/key`, with the key's characters outside `A-Za-z0-9-._~/` percent-encoded.
fn public_url(base: &str, key: &str) -> String {
    let mut url = String::with_capacity(base.len() + 1 + key.len());
    url.push_str(base);
    url.push('/');
    for b in key.trim_start_matches('/').bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            url.push(char::from(b));
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

fn put_failed(e: impl std::error::Error) -> String {
    format!(
        "s3:PutObject failed: {}",
        aws_sdk_s3::error::DisplayErrorContext(&e)
    )
}

#[async_trait]
impl ReportStore for S3ReportStore {
    async fn put_html(&self, key: &str, html: String) -> Result<String, String> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("text/html; charset=utf-8")
            .cache_control("no-cache")
            .body(aws_sdk_s3::primitives::ByteStream::from(html.into_bytes()))
            .send()
            .await
            .map_err(put_failed)?;
        Ok(format!("s3://{}/{key}", self.bucket))
    }

    async fn put_png(&self, key: &str, png: Vec<u8>) -> Result<Option<String>, String> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("image/png")
            .body(aws_sdk_s3::primitives::ByteStream::from(png))
            .send()
            .await
            .map_err(put_failed)?;
        if let Some(base) = &self.url_base {
            return Ok(Some(public_url(base, key)));
        }
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(PNG_URL_TTL)
            .map_err(|e| format!("cannot presign s3://{}/{key}: {e}", self.bucket))?;
        // The request's URI carries the signature: it is returned, never logged or put in an
        // error.
        let presigned = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| {
                format!(
                    "cannot presign s3://{}/{key}: {}",
                    self.bucket,
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                )
            })?;
        tracing::debug!(bucket = %self.bucket, key, "chart uploaded; presigned GET URL made");
        Ok(Some(presigned.uri().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::public_url;

    #[test]
    fn public_urls_encode_only_unsafe_key_characters() {
        assert_eq!(
            public_url(
                "https://r.example.com",
                "selfheal/reports/chart-2025-01-05.png"
            ),
            "https://r.example.com/selfheal/reports/chart-2025-01-05.png"
        );
        assert_eq!(
            public_url("https://r.example.com", "a b/c?d#e+é.png"),
            "https://r.example.com/a%20b/c%3Fd%23e%2B%C3%A9.png"
        );
    }
}
