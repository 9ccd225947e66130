//! The runbook map (DESIGN §2): model, key grammar and precedence, validation with locations,
//! and the JSON Schema kept in sync with the model.

mod diagnostic;
mod key;
mod load;
mod model;
mod schema;

pub use diagnostic::{Diagnostic, Severity};
pub use key::is_valid_key;
pub use load::{load, LoadOptions, RunbookSource};
pub use model::{
    Mode, RunbookEntry, RunbookMap, DEFAULT_DOCUMENT, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_CONCURRENT,
    DEFAULT_TIMEOUT_SECONDS, DEFAULT_WINDOW_MINUTES,
};
pub use schema::schema_json;

#[cfg(test)]
mod tests;
