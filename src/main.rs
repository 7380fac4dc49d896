use flashbook::configuration::Settings;
use flashbook::startup::Application;

// Each request allocates and frees a few dozen small blocks across threads;
// glibc's malloc spent 12 % of the batched booking path's CPU on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() {
    flashbook::telemetry::init_logger("info", &flashbook::http::CLIENT_MISTAKES);

    if let Err(error) = run().await {
        log::error!("{}", flashbook::telemetry::error_chain(error.as_ref()));
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_env()?;
    log::info!("starting with {settings:?}");
    raise_open_file_limit();
    let application = Application::build(settings).await?;
    log::info!("listening on port {}", application.port());
    application.run_until_stopped().await?;
    Ok(())
}

/// Every open connection is a file descriptor, and the soft limit a shell or
/// container starts with is often 1,024: raised to the hard limit here, so a
/// crowd of 10,000 open connections is not refused with EMFILE. The figure is
/// logged because it is what one replica can hold (README, "Benchmarks");
/// raising the hard limit itself is the operator's (docker-compose.yml's
/// `ulimits`, `docker run --ulimit nofile=...`, systemd's `LimitNOFILE`).
#[cfg(unix)]
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read or write the struct passed,
    // which lives on this stack frame for the whole call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        let error = std::io::Error::last_os_error();
        log::warn!("cannot read the open-file limit: {error}");
        return;
    }
    let before = limit.rlim_cur;
    if before < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            let error = std::io::Error::last_os_error();
            log::warn!(
                "open-file limit stays {before}: raising it to the hard limit {} failed: {error}",
                limit.rlim_max
            );
            return;
        }
    }
    log::info!(
        "open-file limit {} (was {before}, hard limit {}): about that many open connections, \
         less the pool's and the listeners' descriptors",
        limit.rlim_cur,
        limit.rlim_max
    );
}

#[cfg(not(unix))]
fn raise_open_file_limit() {}
