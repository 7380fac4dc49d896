//! `unsafe_booking`: a booking server that oversells on purpose, for
//! `./run_tests.sh --race-demo` (the same k6 burst against flashbook and
//! against this, side by side). A cargo example, so it is never part of the
//! service, its release binaries or its image:
//!
//!     cargo build --release --example unsafe_booking
//!     DATABASE_URL=postgres://... FLASHBOOK_PORT=8081 target/release/examples/unsafe_booking
//!
//! It reads the service's settings (`DATABASE_URL` or `PG*`, `FLASHBOOK_HOST`,
//! `FLASHBOOK_PORT`, `FLASHBOOK_POOL_SIZE`, ...) and expects a database the
//! service has migrated. The unsafe path itself is `read_check_write.rs`.

mod read_check_write;

use actix_web::{web, App, HttpServer};
use deadpool_postgres::{Manager, Pool};
use flashbook::configuration::Settings;
use tokio_postgres::NoTls;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let settings = Settings::from_env().map_err(std::io::Error::other)?;
    // A bare deadpool pool, as read_check_write.rs takes: the service's own
    // (flashbook::db::Pool) adds the limits and metrics this server skips.
    let manager = Manager::new(settings.database.connection.clone(), NoTls);
    let pool = Pool::builder(manager)
        .max_size(settings.database.pool_size)
        .build()
        .map_err(std::io::Error::other)?;
    let address = (settings.host.clone(), settings.port);
    log::warn!(
        "unsafe_booking on {}:{}: read-check-write, no lock; it oversells on purpose",
        address.0,
        address.1
    );
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(pool.clone()))
            .configure(read_check_write::routes)
    })
    .bind(address)?;
    if let Some(workers) = settings.workers {
        server = server.workers(workers);
    }
    server.run().await
}
