//! Builds and runs the HTTP server. `main` and the tests start it the same way.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, Condition, DefaultHeaders, Logger};
use actix_web::{web, App, HttpServer};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::admission::PassSecret;
use crate::authentication::passwords::{PasswordError, Passwords};
use crate::authentication::tokens::{SigningKey, TokenError, Tokens};
use crate::authentication::AdminToken;
use crate::configuration::{Limits, Settings};
use crate::db::{self, Pool, StartupDbError};
use crate::http::limits::{ClientSlots, RateLimiter, RequestRates, TokenHasher};
use crate::http::openapi::ApiDoc;
use crate::http::sessions::AccountLimit;
use crate::http::{self, AllowedMethods};
use crate::live::LiveHub;
use crate::metrics::Metrics;
use crate::sale::{workers::Served, Sales, SalesSettings, Workers};
use crate::sold_out::SoldOut;
use crate::waiting_room::WaitingRooms;

/// Seconds in-flight requests get to finish after SIGTERM/SIGINT.
const SHUTDOWN_GRACE_SECONDS: u64 = 10;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] StartupDbError),
    #[error("cannot set up buyer tokens")]
    Tokens(#[from] TokenError),
    #[error(transparent)]
    Passwords(#[from] PasswordError),
    #[error("cannot read which events have a waiting room")]
    WaitingRooms(#[source] db::DbError),
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
    /// `GET /metrics` on its own listener (`FLASHBOOK_METRICS_ADDR`).
    metrics_server: Option<(u16, Server)>,
    live: Arc<LiveHub>,
    /// The background tasks; stopped when this is dropped.
    workers: Workers,
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
        let pass_secret = settings.pass_secret.clone().unwrap_or_else(|| {
            log::warn!(
                "FLASHBOOK_PASS_SECRET is not set; admission passes are signed with a generated \
                 secret, good on this process only until restart (set the same secret on every replica)"
            );
            PassSecret::generate()
        });
        let tokens = Arc::new(buyer_tokens(&settings)?);
        let passwords = Arc::new(Passwords::new()?);
        let account_limit = Arc::new(AccountLimit(RateLimiter::per_minute(
            settings.account_rate_per_minute,
        )));
        // Read before serving, so no request is judged with an empty set.
        let active_rooms = async {
            let client = db::client(&pool).await?;
            db::waiting_room::active_events(&client).await
        }
        .await
        .map_err(StartupError::WaitingRooms)?;
        let rooms = Arc::new(WaitingRooms::new(active_rooms, pass_secret));
        let metrics = Arc::new(Metrics::new(&pool));
        let sold_out = Arc::new(SoldOut::new(
            metrics.sold_out_memory_answers.clone(),
            metrics.sold_out_listener_up.clone(),
        ));
        let live = Arc::new(LiveHub::new(
            pool.clone(),
            Arc::clone(&metrics),
            &settings.limits,
        ));
        let sales = Sales::new(
            pool.clone(),
            Arc::clone(&sold_out),
            Arc::clone(&metrics),
            Arc::clone(&live),
            Arc::new(http::HttpWording),
            SalesSettings {
                batch_max: settings.batch_max,
                queue_budget: settings.limits.queue_budget(),
                idempotency_ttl: settings.limits.idempotency_ttl,
            },
        );
        let workers = Workers::start(Served {
            sales: &sales,
            pool: &pool,
            rooms: &rooms,
            sold_out: &sold_out,
            metrics: &metrics.sale,
            database: &settings.database,
            limits: &settings.limits,
        });
        let metrics_server = settings
            .metrics_addr
            .as_deref()
            .map(|address| serve_metrics(address, Arc::clone(&metrics)))
            .transpose()?;
        let shared = SharedState {
            sales,
            pool,
            admin_token,
            tokens,
            passwords,
            account_limit,
            limits: settings.limits,
            metrics,
            live: Arc::clone(&live),
            rooms,
            metrics_on_api_port: metrics_server.is_none(),
        };
        let server = serve(listener, shared, settings.workers).map_err(bind_error)?;
        Ok(Self {
            port,
            server,
            metrics_server,
            live,
            workers,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate metrics listener, when there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_server.as_ref().map(|(port, _)| *port)
    }

    /// Stops this application as SIGTERM does, for tests.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        let mut servers = vec![self.server.handle()];
        servers.extend(
            self.metrics_server
                .as_ref()
                .map(|(_, server)| server.handle()),
        );
        ShutdownHandle {
            servers,
            live: Arc::clone(&self.live),
        }
    }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully: open live
    /// views end at once, other requests get the grace period.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let live = Arc::clone(&self.live);
        // actix-web's servers see the same signal and stop themselves.
        let end_live_views = tokio::spawn(async move {
            shutdown_signal().await;
            log::info!("shutting down: ending open live views");
            live.shut_down();
        });
        let result = match self.metrics_server {
            Some((_, metrics_server)) => tokio::try_join!(self.server, metrics_server).map(|_| ()),
            None => self.server.await,
        };
        end_live_views.abort();
        drop(self.workers);
        result
    }
}

/// What SIGTERM does: end the live views (their streams would otherwise
/// hold the graceful shutdown for its whole grace period), then stop the
/// servers gracefully.
#[derive(Clone)]
pub struct ShutdownHandle {
    servers: Vec<actix_web::dev::ServerHandle>,
    live: Arc<LiveHub>,
}

impl ShutdownHandle {
    pub async fn stop(&self) {
        self.live.shut_down();
        for server in &self.servers {
            server.stop(true).await;
        }
    }
}

/// The buyer tokens of `settings`: its keys, or a generated one (logged:
/// its tokens die with the process, and each replica would have its own).
fn buyer_tokens(settings: &Settings) -> Result<Tokens, TokenError> {
    let keys = settings.tokens.keys.clone().unwrap_or_else(|| {
        log::warn!(
            "FLASHBOOK_TOKEN_KEYS is not set; buyer tokens are signed with a generated key, \
             good on this process only until restart (replicas must share a key: set \
             FLASHBOOK_TOKEN_KEYS=kid:secret on every one)"
        );
        vec![SigningKey::generate()]
    });
    Tokens::new(&settings.tokens, &keys)
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(error) => {
                log::warn!("cannot listen for SIGTERM: {error}");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// `GET /metrics` alone on its own listener, so it can stay off the public
/// balancer. One worker: a scrape every few seconds needs no more.
fn serve_metrics(address: &str, metrics: Arc<Metrics>) -> Result<(u16, Server), StartupError> {
    let bind_error = |source| StartupError::Bind {
        address: address.to_owned(),
        source,
    };
    let listener = TcpListener::bind(address).map_err(bind_error)?;
    let port = listener.local_addr().map_err(bind_error)?.port();
    let metrics = web::Data::from(metrics);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(metrics.clone())
            .service(http::metrics::metrics)
            .wrap(safe_headers())
    })
    .workers(1)
    .shutdown_timeout(SHUTDOWN_GRACE_SECONDS)
    .listen(listener)
    .map_err(bind_error)?
    .run();
    log::info!("serving GET /metrics on {address} (not on the API port)");
    Ok((port, server))
}

/// `http::SAFE_HEADERS` on every answer that does not set its own.
fn safe_headers() -> DefaultHeaders {
    http::SAFE_HEADERS
        .into_iter()
        .fold(DefaultHeaders::new(), |headers, header| headers.add(header))
}

/// What every worker's handlers share.
struct SharedState {
    pool: Pool,
    sales: Sales,
    admin_token: AdminToken,
    tokens: Arc<Tokens>,
    passwords: Arc<Passwords>,
    account_limit: Arc<AccountLimit>,
    limits: Limits,
    metrics: Arc<Metrics>,
    live: Arc<LiveHub>,
    rooms: Arc<WaitingRooms>,
    metrics_on_api_port: bool,
}

fn serve(
    listener: TcpListener,
    shared: SharedState,
    workers: Option<usize>,
) -> std::io::Result<Server> {
    let pool = web::Data::new(shared.pool);
    let sales = web::Data::new(shared.sales);
    let admin_token = web::Data::new(shared.admin_token);
    let tokens = web::Data::from(shared.tokens);
    let passwords = web::Data::from(shared.passwords);
    let account_limit = web::Data::from(shared.account_limit);
    let limits = web::Data::new(shared.limits);
    let metrics = web::Data::from(shared.metrics);
    let live = web::Data::from(shared.live);
    let rooms = web::Data::from(shared.rooms);
    let rates = web::Data::new(RequestRates {
        per_address: RateLimiter::new(shared.limits.address_rate),
        per_token: RateLimiter::new(shared.limits.token_rate),
        hasher: TokenHasher::default(),
    });
    // The live views' per-client slots (the only `ClientSlots` served).
    let live_viewers = web::Data::new(ClientSlots::new(shared.limits.live_max_viewers_per_client));
    let metrics_on_api_port = shared.metrics_on_api_port;
    let request_timeout = shared.limits.request_timeout;
    let access_log = log::log_enabled!(target: "actix_web::middleware::logger", log::Level::Info);
    let mut server = HttpServer::new(move || {
        let observed = metrics.clone();
        let limited = rates.clone();
        // One registration gives the routes and the document's paths. The
        // rate limit is innermost of these, so the log and the time bound
        // see its 429s too.
        let (app, document) = App::new()
            .wrap(from_fn(move |request, next| {
                http::limits::limit_request_rate(limited.clone(), request, next)
            }))
            .wrap(from_fn(move |request, next| {
                http::bound_request_time(request_timeout, request, next)
            }))
            // The access log renders each request's line before it knows
            // whether the logger keeps it: off unless its level is on.
            .wrap(Condition::new(
                access_log,
                Logger::new(r#"%a "%r" %s %b %Dms"#),
            ))
            .app_data(pool.clone())
            .app_data(sales.clone())
            .app_data(admin_token.clone())
            .app_data(tokens.clone())
            .app_data(passwords.clone())
            .app_data(account_limit.clone())
            .app_data(limits.clone())
            .app_data(metrics.clone())
            .app_data(live.clone())
            .app_data(rooms.clone())
            .app_data(rates.clone())
            .app_data(live_viewers.clone())
            .into_utoipa_app()
            .openapi(ApiDoc::openapi())
            .configure(|cfg| http::configure(cfg, metrics_on_api_port))
            .split_for_parts();
        let allowed = AllowedMethods::from_document(&document);
        let templates = allowed.clone();
        let slash_routes = allowed.clone();
        // Wrapped after the routes, so outermost: metrics sees every answer,
        // the request timeout's 503 included; and the trailing slash is gone,
        // and a HEAD is a GET, before anything else sees the request.
        app.wrap(from_fn(move |request, next| {
            http::metrics::observe_request(observed.clone(), templates.clone(), request, next)
        }))
        .wrap(from_fn(move |request, next| {
            http::trim_trailing_slash(slash_routes.clone(), request, next)
        }))
        .wrap(from_fn(http::head_as_get))
        .wrap(safe_headers())
        .service(http::redirect_keeping_query(
            "/swagger-ui",
            "/swagger-ui/",
            StatusCode::PERMANENT_REDIRECT,
        ))
        .service(http::redirect_keeping_query(
            "/dashboard",
            "/dashboard/",
            StatusCode::TEMPORARY_REDIRECT,
        ))
        .service(
            SwaggerUi::new("/swagger-ui/{_:.*}")
                .external_url_unchecked("/api-docs/openapi.json", http::openapi::served(&document)),
        )
        .default_service(http::fallback(allowed))
    })
    // A flash sale opens thousands of connections at once.
    .backlog(4096)
    .shutdown_timeout(SHUTDOWN_GRACE_SECONDS);
    if let Some(workers) = workers {
        server = server.workers(workers);
    }
    Ok(server.listen(listener)?.run())
}
