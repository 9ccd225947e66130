//! The weekly report flow (being moved here from functions/weekly-reporter).
