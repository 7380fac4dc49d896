//! Builds and runs the HTTP server. `main` and the tests start it the same way.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::Server;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Logger, Next};
use actix_web::{web, App, HttpServer};
use deadpool_postgres::Pool;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::authentication::AdminToken;
use crate::booking::Booker;
use crate::configuration::{Limits, Settings};
use crate::db::{self, StartupDbError};
use crate::error::ApiError;
use crate::idempotency;
use crate::openapi::ApiDoc;
use crate::routes;

/// How often keys older than the idempotency TTL are deleted.
const IDEMPOTENCY_SWEEP_INTERVAL: Duration = Duration::from_secs(600);

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
        let admin_token = settings.admin_token.clone().unwrap_or_else(|| {
            let token = AdminToken::generate();
            log::warn!(
                "FLASHBOOK_ADMIN_TOKEN is not set; admin routes accept this generated token until restart: {}",
                token.expose()
            );
            token
        });
        tokio::spawn(sweep_expired_idempotency_keys(
            pool.clone(),
            settings.limits.idempotency_ttl,
        ));
        let shared = SharedState {
            booker: Booker::new(pool.clone(), settings.batch_max),
            pool,
            admin_token,
            limits: settings.limits,
        };
        let server = serve(listener, shared, settings.workers).map_err(bind_error)?;
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// What every worker's handlers share.
struct SharedState {
    pool: Pool,
    booker: Booker,
    admin_token: AdminToken,
    limits: Limits,
}

fn serve(
    listener: TcpListener,
    shared: SharedState,
    workers: Option<usize>,
) -> std::io::Result<Server> {
    let pool = web::Data::new(shared.pool);
    let booker = web::Data::new(shared.booker);
    let admin_token = web::Data::new(shared.admin_token);
    let limits = web::Data::new(shared.limits);
    let request_timeout = shared.limits.request_timeout;
    let mut server = HttpServer::new(move || {
        // One registration gives the routes and the document's paths.
        let (app, document) = App::new()
            .wrap(from_fn(move |request, next| {
                bound_request_time(request_timeout, request, next)
            }))
            .wrap(Logger::new(r#"%a "%r" %s %b %Dms"#))
            .app_data(pool.clone())
            .app_data(booker.clone())
            .app_data(admin_token.clone())
            .app_data(limits.clone())
            .into_utoipa_app()
            .openapi(ApiDoc::openapi())
            .configure(routes::configure)
            .split_for_parts();
        let allowed = routes::AllowedMethods::from_document(&document);
        app.service(web::redirect("/swagger-ui", "/swagger-ui/").permanent())
            .service(SwaggerUi::new("/swagger-ui/{_:.*}").url("/api-docs/openapi.json", document))
            .default_service(routes::fallback(allowed))
    })
    // A flash sale opens thousands of connections at once.
    .backlog(4096)
    .shutdown_timeout(SHUTDOWN_GRACE_SECONDS);
    if let Some(workers) = workers {
        server = server.workers(workers);
    }
    Ok(server.listen(listener)?.run())
}

/// Answers `503 request_timeout` when a request outlives its bound. The
/// database side is bounded too (statement and lock timeouts), so an abandoned
/// transaction rolls back on its own.
async fn bound_request_time(
    limit: Duration,
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    match tokio::time::timeout(limit, next.call(request)).await {
        Ok(response) => response,
        Err(_) => Err(ApiError::RequestTimeout(limit).into()),
    }
}

async fn sweep_expired_idempotency_keys(pool: Pool, ttl: Duration) {
    let mut interval = tokio::time::interval(IDEMPOTENCY_SWEEP_INTERVAL);
    loop {
        interval.tick().await;
        match idempotency::delete_expired(&pool, ttl).await {
            Ok(0) => {}
            Ok(deleted) => log::info!("deleted {deleted} expired idempotency keys"),
            Err(error) => log::warn!("deleting expired idempotency keys failed: {error}"),
        }
    }
}
