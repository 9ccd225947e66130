//! Weekly report aggregation (streaming, pure). Filled in by the report work.
