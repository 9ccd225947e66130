//! Retry with jittered exponential backoff: the one helper every adapter uses (placeholder; filled in by the retry work).
