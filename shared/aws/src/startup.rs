//! Building the engine from the environment, one path for every profile (Lambda, serve, run).
