//! Logging: the logger's start-up and the one-line form of an error chain.
//! Every layer logs through here, so none needs the HTTP edge to log an error.

use log::{Level, Log, Metadata, Record};

/// Starts `env_logger`: `RUST_LOG` when set, else `default_level`
/// (`info`, `warn`, ...), with each of `client_mistakes` at debug level.
pub fn init_logger(default_level: &str, client_mistakes: &'static [ClientMistake]) {
    let logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_level))
            .build();
    let max_level = logger.filter();
    let logger = ClientMistakesAtDebug {
        logger,
        client_mistakes,
    };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(max_level);
    }
}

/// A line a library logs at error level about a client's mistake (which
/// the client was answered for): any client could fill the error log with
/// it, so it is logged at debug level. The line's target and how its text
/// starts.
#[derive(Debug)]
pub struct ClientMistake {
    pub target: &'static str,
    pub prefix: &'static str,
}

fn level_of(record: &Record<'_>, client_mistakes: &[ClientMistake]) -> Level {
    let mistake = |mistake: &ClientMistake| {
        record.target() == mistake.target && record.args().to_string().starts_with(mistake.prefix)
    };
    if record.level() == Level::Error && client_mistakes.iter().any(mistake) {
        Level::Debug
    } else {
        record.level()
    }
}

struct ClientMistakesAtDebug {
    logger: env_logger::Logger,
    client_mistakes: &'static [ClientMistake],
}

impl Log for ClientMistakesAtDebug {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.logger.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        let level = level_of(record, self.client_mistakes);
        if level == record.level() {
            return self.logger.log(record);
        }
        let demoted = Record::builder()
            .level(level)
            .target(record.target())
            .args(*record.args())
            .module_path(record.module_path())
            .file(record.file())
            .line(record.line())
            .build();
        if self.logger.enabled(demoted.metadata()) {
            self.logger.log(&demoted);
        }
    }

    fn flush(&self) {
        self.logger.flush();
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

    const MISTAKES: [ClientMistake; 1] = [ClientMistake {
        target: "a_library::reader",
        prefix: "stream error",
    }];

    fn level(target: &str, level: Level, message: std::fmt::Arguments<'_>) -> Level {
        let record = Record::builder()
            .target(target)
            .level(level)
            .args(message)
            .build();
        level_of(&record, &MISTAKES)
    }

    #[test]
    fn a_clients_mistake_is_debug_and_nothing_else_moves() {
        let parse = "invalid Header provided";
        assert_eq!(
            level(
                "a_library::reader",
                Level::Error,
                format_args!("stream error: {parse}")
            ),
            Level::Debug
        );
        let stream = "broken body";
        for (target, level_in, message) in [
            (
                "a_library::reader",
                Level::Error,
                format_args!("payload stream error: {stream}"),
            ),
            (
                "flashbook::sale",
                Level::Error,
                format_args!("stream error: {stream}"),
            ),
            (
                "a_library::reader",
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
