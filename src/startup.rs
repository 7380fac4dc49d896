//! Builds and runs the HTTP server. `main` and the tests start it the same way.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::Logger;
use actix_web::{web, App, HttpServer};
use deadpool_postgres::Pool;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::booking::Booker;
use crate::configuration::Settings;
use crate::db::{self, StartupDbError};
use crate::openapi::ApiDoc;
use crate::routes;

/// Seconds in-flight requests get to finish after SIGTERM/SIGINT.
const SHUTDOWN_GRACE_SECONDS: u64 = 10;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] StartupDbError),
    #[error("cannot listen on {address}")]
    Bind {
        address: String,
        #[source]
        source: std::io::Error,
    },
}

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Connects to the database, applies migrations, and binds the listener
    /// (port 0 picks a free port, which `port()` then reports).
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let pool = db::connect_and_migrate(&settings.database).await?;
        let address = format!("{}:{}", settings.host, settings.port);
        let bind_error = |source| StartupError::Bind {
            address: address.clone(),
            source,
        };
        let listener = TcpListener::bind(&address).map_err(bind_error)?;
        let port = listener.local_addr().map_err(bind_error)?.port();
        let booker = Booker::new(pool.clone(), settings.batch_max);
        let server = serve(listener, pool, booker, settings.workers).map_err(bind_error)?;
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn serve(
    listener: TcpListener,
    pool: Pool,
    booker: Booker,
    workers: Option<usize>,
) -> std::io::Result<Server> {
    let pool = web::Data::new(pool);
    let booker = web::Data::new(booker);
    let openapi = ApiDoc::openapi();
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(Logger::new(r#"%a "%r" %s %b %Dms"#))
            .app_data(pool.clone())
            .app_data(booker.clone())
            .configure(routes::configure)
            .service(
                SwaggerUi::new("/swagger-ui/{_:.*}").url("/api-docs/openapi.json", openapi.clone()),
            )
            .default_service(web::to(routes::route_not_found))
    })
    // A flash sale opens thousands of connections at once.
    .backlog(4096)
    .shutdown_timeout(SHUTDOWN_GRACE_SECONDS);
    if let Some(workers) = workers {
        server = server.workers(workers);
    }
    Ok(server.listen(listener)?.run())
}
