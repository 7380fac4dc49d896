//! Logging: the logger's start-up and the one-line form of an error chain.
//! Every layer logs through here, so none needs the HTTP edge to log an error.

use log::{Level, Log, Metadata, Record};

/// Starts `env_logger`: `RUST_LOG` when set, else `default_level`
/// (`info`, `warn`, ...), with a client's malformed requests at debug level
/// ([`level_of`]).
pub fn init_logger(default_level: &str) {
    let logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_level))
            .build();
    let max_level = logger.filter();
    if log::set_boxed_logger(Box::new(ClientMistakesAtDebug(logger))).is_ok() {
        log::set_max_level(max_level);
    }
}

/// actix-http reports a request it could not read (a malformed line or
/// header, a body framed two ways, a connection reset) as "stream error" at
/// error level, where any client could fill the error log with its own
/// mistakes. The client got its `400`; the line is debug.
const CLIENT_MISTAKE_TARGET: &str = "actix_http::h1::dispatcher";
const CLIENT_MISTAKE_PREFIX: &str = "stream error";

fn level_of(record: &Record<'_>) -> Level {
    if record.level() == Level::Error
        && record.target() == CLIENT_MISTAKE_TARGET
        && record.args().to_string().starts_with(CLIENT_MISTAKE_PREFIX)
    {
        Level::Debug
    } else {
        record.level()
    }
}

struct ClientMistakesAtDebug(env_logger::Logger);

impl Log for ClientMistakesAtDebug {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.0.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        let level = level_of(record);
        if level == record.level() {
            return self.0.log(record);
        }
        let demoted = Record::builder()
            .level(level)
            .target(record.target())
            .args(*record.args())
            .module_path(record.module_path())
            .file(record.file())
            .line(record.line())
            .build();
        if self.0.enabled(demoted.metadata()) {
            self.0.log(&demoted);
        }
    }

    fn flush(&self) {
        self.0.flush();
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn level(target: &str, level: Level, message: std::fmt::Arguments<'_>) -> Level {
        level_of(
            &Record::builder()
                .target(target)
                .level(level)
                .args(message)
                .build(),
        )
    }

    #[test]
    fn a_clients_malformed_request_is_debug_and_nothing_else_moves() {
        let parse = "invalid Header provided";
        assert_eq!(
            level(
                CLIENT_MISTAKE_TARGET,
                Level::Error,
                format_args!("stream error: {parse}")
            ),
            Level::Debug
        );
        let stream = "broken body";
        for (target, level_in, message) in [
            (
                CLIENT_MISTAKE_TARGET,
                Level::Error,
                format_args!("Response payload stream error: {stream}"),
            ),
            (
                "flashbook::sale",
                Level::Error,
                format_args!("stream error: {stream}"),
            ),
            (
                CLIENT_MISTAKE_TARGET,
                Level::Warn,
                format_args!("stream error: {stream}"),
            ),
        ] {
            assert_eq!(
                level(target, level_in, message),
                level_in,
                "{target} {message}"
            );
        }
    }
}
