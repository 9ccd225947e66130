//! The runbook map (DESIGN §2): model, key grammar and precedence, validation with locations,
//! whether an element can run as one unit, and the JSON Schema kept in sync with the model.

mod diagnostic;
mod fields;
mod key;
mod load;
mod model;
mod schema;
mod shell;

pub use diagnostic::{Diagnostic, Severity};
pub use key::is_valid_key;
pub use load::{load, LoadOptions, RunbookSource};
pub use model::{
    Mode, RunbookEntry, RunbookMap, DEFAULT_DOCUMENT, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_CONCURRENT,
    DEFAULT_TIMEOUT_SECONDS, DEFAULT_WINDOW_MINUTES,
};
pub use schema::schema_json;
pub use shell::{element_problem, ElementProblem};

#[cfg(test)]
mod tests;
