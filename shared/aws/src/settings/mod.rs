//! Every `SELFHEAL_*` setting, read in one place (placeholder; filled in by the settings work).
