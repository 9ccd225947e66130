//! AWS adapters of the weekly report (being moved here from functions/weekly-reporter).
