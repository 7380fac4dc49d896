//! Logging: the logger's start-up and the one-line form of an error chain.
//! Every layer logs through here, so none needs the HTTP edge to log an error.

/// Starts `env_logger`: `RUST_LOG` when set, else `default_level`
/// (`info`, `warn`, ...).
pub fn init_logger(default_level: &str) {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_level))
        .init();
}

/// Renders an error and all its sources on one line, for logs.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}
