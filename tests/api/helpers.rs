//! `spawn_app`: the service on a random port against a fresh database.
//!
//! The admin connection comes from `DATABASE_URL` when set (a role that may
//! CREATE DATABASE). Otherwise the tests start a throwaway PostgreSQL cluster
//! with the project's one shell helper for it (`pg_start_test_cluster` in
//! ci/lib/postgres.sh), whose watchdog stops it when the test process exits.

use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use flashbook::authentication::tokens::Tokens;
use flashbook::configuration::{Rate, Settings};
use flashbook::startup::{Application, ShutdownHandle};
pub use flashbook_verify::SaleState;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use tokio_postgres::NoTls;

pub const ADMIN_TOKEN: &str = "test-admin-token-of-at-least-32-bytes";
/// The test service's `FLASHBOOK_TOKEN_KEYS`: one HS256 key, `test`.
pub const TOKEN_KEYS: &str = "test:test-signing-key-of-at-least-32-bytes";

pub struct TestApp {
    pub address: String,
    /// `http://127.0.0.1:<port>` of the separate metrics listener, if any.
    pub metrics_address: Option<String>,
    pub database_url: String,
    pub http: reqwest::Client,
    /// The service's buyer tokens (the same keys): mints a user's token
    /// without a password, as the seed does.
    pub tokens: Arc<Tokens>,
}

/// A signed-up user and the token `POST /sessions` gave them.
#[derive(Debug, Clone)]
pub struct SignedUp {
    pub id: i64,
    pub token: String,
}

/// Settings a test changes before the app starts; everything left `None`
/// keeps the service's own default (`flashbook::configuration`).
#[derive(Debug, Default)]
pub struct AppOptions {
    pub pool_size: Option<usize>,
    pub pool_wait: Option<Duration>,
    pub lock_timeout: Option<Duration>,
    /// 1 books each request in its own transaction; more batches them.
    pub batch_max: Option<usize>,
    pub request_timeout: Option<Duration>,
    /// `FLASHBOOK_METRICS_ADDR`: serve /metrics on its own listener.
    pub metrics_addr: Option<String>,
    pub live_tick: Option<Duration>,
    pub live_max_viewers: Option<usize>,
    /// `FLASHBOOK_HOLD_SWEEP_MS`: how often expired holds are offered on.
    pub hold_sweep: Option<Duration>,
    /// `FLASHBOOK_QUEUE_WAIT_FRACTION`: share of the request timeout a
    /// booking may be expected to queue before `too_busy`.
    pub queue_wait_fraction: Option<f64>,
    /// `FLASHBOOK_ACCOUNT_RATE_PER_MINUTE` (tests default to a high one).
    pub account_rate_per_minute: Option<usize>,
    /// `FLASHBOOK_TOKEN_KEYS` (default [`TOKEN_KEYS`]).
    pub token_keys: Option<String>,
    /// `FLASHBOOK_TOKEN_JWKS_FILE`: an external provider's keys.
    pub jwks_file: Option<String>,
    /// `FLASHBOOK_RATE_PER_TOKEN` / `_PER_ADDRESS` and their bursts.
    pub token_rate: Option<Rate>,
    pub address_rate: Option<Rate>,
    pub live_max_viewers_per_client: Option<usize>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(AppOptions::default()).await
}

pub async fn spawn_app_with(options: AppOptions) -> TestApp {
    spawn_app_with_handle(options).await.0
}

/// The app and a handle that shuts it down as SIGTERM would.
pub async fn spawn_app_with_handle(options: AppOptions) -> (TestApp, ShutdownHandle) {
    let database_url = create_database().await;
    spawn_on(database_url, options).await
}

/// A second replica: another application on the database of `app`, as
/// several replicas share one database in production.
pub async fn spawn_replica(app: &TestApp, options: AppOptions) -> TestApp {
    spawn_on(app.database_url.clone(), options).await.0
}

async fn spawn_on(database_url: String, options: AppOptions) -> (TestApp, ShutdownHandle) {
    let settings = settings_for(&database_url, &options);
    let keys = settings.tokens.keys.clone().expect("test keys are set");
    let tokens = Arc::new(Tokens::new(&settings.tokens, &keys).expect("test keys are valid"));
    let application = Application::build(settings)
        .await
        .expect("application starts");
    let shutdown = application.shutdown_handle();
    let address = format!("http://127.0.0.1:{}", application.port());
    let metrics_address = application
        .metrics_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    tokio::spawn(application.run_until_stopped());
    let app = TestApp {
        address,
        metrics_address,
        database_url,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        tokens,
    };
    (app, shutdown)
}

pub fn settings_for(database_url: &str, options: &AppOptions) -> Settings {
    let url = database_url.to_owned();
    let mut settings = Settings::from_lookup(move |name| match name {
        "DATABASE_URL" => Some(url.clone()),
        "FLASHBOOK_PORT" => Some("0".into()),
        "FLASHBOOK_WORKERS" => Some("2".into()),
        "FLASHBOOK_ADMIN_TOKEN" => Some(ADMIN_TOKEN.into()),
        "FLASHBOOK_TOKEN_KEYS" => Some(options.token_keys.as_deref().unwrap_or(TOKEN_KEYS).into()),
        "FLASHBOOK_TOKEN_JWKS_FILE" => options.jwks_file.clone(),
        // Tests sign up many users from one address; tests/api/accounts.rs
        // checks the limit with a service of its own.
        "FLASHBOOK_ACCOUNT_RATE_PER_MINUTE" => Some(
            options
                .account_rate_per_minute
                .unwrap_or(10_000)
                .to_string(),
        ),
        _ => None,
    })
    .expect("test settings are valid");
    let database = &mut settings.database;
    database.pool_size = options.pool_size.unwrap_or(database.pool_size);
    database.read_pool_size = database.read_pool_size.min(database.pool_size);
    database.pool_wait = options.pool_wait.unwrap_or(database.pool_wait);
    database.lock_timeout = options.lock_timeout.unwrap_or(database.lock_timeout);
    settings.batch_max = options.batch_max.unwrap_or(settings.batch_max);
    settings.limits.request_timeout = options
        .request_timeout
        .unwrap_or(settings.limits.request_timeout);
    settings.metrics_addr = options.metrics_addr.clone();
    let limits = &mut settings.limits;
    limits.live_tick = options.live_tick.unwrap_or(limits.live_tick);
    limits.live_max_viewers = options.live_max_viewers.unwrap_or(limits.live_max_viewers);
    limits.hold_sweep = options.hold_sweep.unwrap_or(limits.hold_sweep);
    limits.queue_wait_fraction = options
        .queue_wait_fraction
        .unwrap_or(limits.queue_wait_fraction);
    limits.token_rate = options.token_rate.unwrap_or(limits.token_rate);
    limits.address_rate = options.address_rate.unwrap_or(limits.address_rate);
    limits.live_max_viewers_per_client = options
        .live_max_viewers_per_client
        .unwrap_or(limits.live_max_viewers_per_client);
    settings
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("GET sent")
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("POST sent")
    }

    /// A buyer token for `user_id`, signed with the service's key.
    pub fn token(&self, user_id: i64) -> String {
        self.tokens.issue(user_id).expect("token signed").token
    }

    /// A request as buyer `user_id` (with their token).
    pub fn as_buyer(
        &self,
        method: reqwest::Method,
        user_id: i64,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(self.token(user_id))
    }

    /// A POST as buyer `user_id`.
    pub async fn post_as(&self, user_id: i64, path: &str, body: Value) -> Response {
        self.as_buyer(reqwest::Method::POST, user_id, path)
            .json(&body)
            .send()
            .await
            .expect("POST sent")
    }

    /// A GET as buyer `user_id`.
    pub async fn get_as(&self, user_id: i64, path: &str) -> Response {
        self.as_buyer(reqwest::Method::GET, user_id, path)
            .send()
            .await
            .expect("GET sent")
    }

    /// The buyer of row `id` of `table` (bookings, holds, waitlist_entries),
    /// read from the database: a test acting on a row as its owner.
    pub async fn owner(&self, table: &str, id: i64) -> i64 {
        self.db()
            .await
            .query_one(
                &format!("SELECT user_id FROM {table} WHERE id = $1"),
                &[&id],
            )
            .await
            .unwrap_or_else(|error| panic!("{table} {id} has an owner: {error}"))
            .get(0)
    }

    /// A GET of a buyer's row (`/bookings/7`, `/holds/7`, `/waitlist/7`) as
    /// its owner.
    pub async fn get_as_owner(&self, path: &str) -> Response {
        let user_id = self.owner_of_path(path).await;
        self.get_as(user_id, path).await
    }

    /// A DELETE of a buyer's row as its owner.
    pub async fn delete_as_owner(&self, path: &str) -> Response {
        let user_id = self.owner_of_path(path).await;
        self.delete_as(user_id, path).await
    }

    async fn owner_of_path(&self, path: &str) -> i64 {
        let mut segments = path.trim_start_matches('/').split('/');
        let (Some(resource), Some(id)) = (segments.next(), segments.next()) else {
            panic!("{path} names no row");
        };
        let table = match resource {
            "bookings" => "bookings",
            "holds" => "holds",
            "waitlist" => "waitlist_entries",
            "queue" => {
                let sql = "SELECT user_id FROM queue_tickets WHERE ticket = $1";
                let row = self.db().await.query_one(sql, &[&id]).await;
                return row.expect("the ticket exists").get(0);
            }
            other => panic!("{other} rows have no owner"),
        };
        self.owner(table, id.parse().expect("a numeric id")).await
    }

    /// A DELETE as buyer `user_id`.
    pub async fn delete_as(&self, user_id: i64, path: &str) -> Response {
        self.as_buyer(reqwest::Method::DELETE, user_id, path)
            .send()
            .await
            .expect("DELETE sent")
    }

    /// A GET with the admin token.
    pub async fn get_as_admin(&self, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("GET sent")
    }

    /// A POST with the admin token, for the admin routes.
    pub async fn post_as_admin(&self, path: &str, body: Value) -> Response {
        self.http
            .post(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .expect("POST sent")
    }

    pub async fn book_with_key(&self, event_id: i64, user_id: i64, key: &str) -> Response {
        self.as_buyer(reqwest::Method::POST, user_id, "/bookings")
            .header("Idempotency-Key", key)
            .json(&json!({"event_id": event_id}))
            .send()
            .await
            .expect("POST sent")
    }

    /// The served OpenAPI document.
    pub async fn openapi_document(&self) -> Value {
        self.get("/api-docs/openapi.json")
            .await
            .json()
            .await
            .expect("the OpenAPI document is JSON")
    }

    pub async fn book(&self, event_id: i64, user_id: i64) -> Response {
        self.post_as(user_id, "/bookings", json!({"event_id": event_id}))
            .await
    }

    pub async fn create_venue(&self, capacity: i64) -> i64 {
        let response = self
            .post_as_admin("/venues", json!({"name": "Arena", "capacity": capacity}))
            .await;
        created_id(response).await
    }

    pub async fn create_event(&self, venue_id: i64, capacity: i64) -> i64 {
        let body = json!({"venue_id": venue_id, "name": "Gig", "starts_at": "2030-06-01T20:00:00Z", "capacity": capacity});
        created_id(self.post_as_admin("/events", body).await).await
    }

    /// A venue and an event with `capacity` seats.
    pub async fn create_sale(&self, capacity: i64) -> i64 {
        let venue = self.create_venue(capacity).await;
        self.create_event(venue, capacity).await
    }

    /// A venue and an event with `capacity` seats and these sale settings
    /// (`max_per_user`, `hold_seconds`, `offer_seconds`).
    pub async fn create_sale_with(&self, capacity: i64, settings: Value) -> i64 {
        let venue = self.create_venue(capacity).await;
        let mut body = json!({"venue_id": venue, "name": "Gig", "starts_at": "2030-06-01T20:00:00Z", "capacity": capacity});
        body.as_object_mut().unwrap().extend(
            settings
                .as_object()
                .expect("settings are an object")
                .clone(),
        );
        created_id(self.post_as_admin("/events", body).await).await
    }

    /// A PATCH with the admin token.
    pub async fn patch_as_admin(&self, path: &str, body: Value) -> Response {
        self.http
            .patch(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .expect("PATCH sent")
    }

    /// `POST /holds` for `quantity` seats.
    pub async fn hold(&self, event_id: i64, user_id: i64, quantity: i64) -> Response {
        self.post_as(
            user_id,
            "/holds",
            json!({"event_id": event_id, "quantity": quantity}),
        )
        .await
    }

    /// `POST /bookings` for `quantity` seats.
    pub async fn book_seats(&self, event_id: i64, user_id: i64, quantity: i64) -> Response {
        self.post_as(
            user_id,
            "/bookings",
            json!({"event_id": event_id, "quantity": quantity}),
        )
        .await
    }

    /// `POST /holds/{id}/confirm` as the hold's buyer.
    pub async fn confirm_hold(&self, hold_id: i64) -> Response {
        let user_id = self.owner("holds", hold_id).await;
        self.as_buyer(
            reqwest::Method::POST,
            user_id,
            &format!("/holds/{hold_id}/confirm"),
        )
        .send()
        .await
        .expect("POST sent")
    }

    /// `POST /events/{id}/waitlist` for `quantity` seats.
    pub async fn join_waitlist(&self, event_id: i64, user_id: i64, quantity: i64) -> Response {
        self.post_as(
            user_id,
            &format!("/events/{event_id}/waitlist"),
            json!({"quantity": quantity}),
        )
        .await
    }

    /// `GET /waitlist/{id}` as JSON, as the entry's buyer.
    pub async fn waitlist_entry(&self, entry_id: i64) -> Value {
        let user_id = self.owner("waitlist_entries", entry_id).await;
        let response = self.get_as(user_id, &format!("/waitlist/{entry_id}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// `GET /events/{id}` as JSON.
    pub async fn event(&self, event_id: i64) -> Value {
        let response = self.get(&format!("/events/{event_id}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Signs up (`POST /users`) and signs in (`POST /sessions`): the new
    /// user's id and token.
    pub async fn sign_up(&self, email: &str) -> SignedUp {
        let password = "a password for tests";
        let response = self
            .post(
                "/users",
                json!({"email": email, "name": "Buyer", "password": password}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let response = self
            .post("/sessions", json!({"email": email, "password": password}))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let session: Value = response.json().await.unwrap();
        SignedUp {
            id: session["user_id"].as_i64().expect("a user id"),
            token: session["token"].as_str().expect("a token").to_owned(),
        }
    }

    /// A signed-up user's id (`sign_up`).
    pub async fn create_user(&self, email: &str) -> i64 {
        self.sign_up(email).await.id
    }

    /// Inserts `count` users directly (ids come back in order), for load tests.
    pub async fn insert_users(&self, count: i64) -> Vec<i64> {
        let rows = self
            .db()
            .await
            .query(
                "INSERT INTO users (email, name)
                 SELECT 'load-' || gen_random_uuid() || '@example.com', 'Load ' || n FROM generate_series(1, $1::BIGINT) n
                 RETURNING id",
                &[&count],
            )
            .await
            .unwrap();
        rows.iter().map(|row| row.get(0)).collect()
    }

    /// A direct connection to this test's database, for checking what it holds.
    pub async fn db(&self) -> tokio_postgres::Client {
        connect(&self.database_url).await
    }

    /// A connection to the server's `postgres` database, outside this test's one.
    pub async fn admin_db(&self) -> tokio_postgres::Client {
        connect(&with_dbname(&self.database_url, "postgres")).await
    }

    /// What the database holds for the event, as the exact-sale check reads it.
    pub async fn sale_state(&self, event_id: i64) -> SaleState {
        SaleState::read(&self.db().await, event_id)
            .await
            .expect("read the sale state")
            .expect("the event exists")
    }
}

/// The id of what a `201` made; its `Location` must name it.
pub async fn created_id(response: Response) -> i64 {
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response
        .headers()
        .get("location")
        .map(|value| value.to_str().unwrap().to_owned());
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let location = location.expect("a 201 says where the thing it made is (Location)");
    assert!(
        location.ends_with(&format!("/{id}")),
        "Location {location} does not name {id}"
    );
    id
}

/// Asserts a problem+json response with this status and code; returns its body.
pub async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "status for expected {code}"
    );
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string());
    body
}

pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connect to PostgreSQL");
    tokio::spawn(connection);
    client
}

async fn create_database() -> String {
    let admin_url = admin_database_url();
    let name = format!("flashbook_test_{}", uuid::Uuid::new_v4().simple());
    connect(admin_url)
        .await
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    with_dbname(admin_url, &name)
}

/// Replaces the database name in a `postgres://` URL.
fn with_dbname(url: &str, dbname: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{dbname}?{query}"),
        None => format!("{base}/{dbname}"),
    }
}

fn admin_database_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        std::env::var("DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty())
            .unwrap_or_else(start_throwaway_cluster)
    })
}

fn start_throwaway_cluster() -> String {
    let helpers = concat!(env!("CARGO_MANIFEST_DIR"), "/ci/lib/postgres.sh");
    let output = Command::new("bash")
        .args(["-c", r#"source "$1" && pg_start_test_cluster "$2""#, "bash"])
        .arg(helpers)
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("run bash");
    assert!(
        output.status.success(),
        "could not start a PostgreSQL for the tests ({helpers}); install one (apt-get install \
         postgresql) or set DATABASE_URL to a server the tests may create databases on"
    );
    String::from_utf8(output.stdout)
        .expect("a URL")
        .trim()
        .to_owned()
}

/// Holds the event row's lock, as a long booking transaction would, until the
/// returned transaction ends.
pub async fn lock_event_row(
    client: &mut tokio_postgres::Client,
    event: i64,
) -> tokio_postgres::Transaction<'_> {
    let lock = client.transaction().await.unwrap();
    lock.execute("SELECT 1 FROM events WHERE id = $1 FOR UPDATE", &[&event])
        .await
        .unwrap();
    lock
}

/// Sends `requests` in order, 100 ms apart, while the event row's lock is
/// held, and then releases it: the first waits on the lock in a batch of its
/// own, and the others queue behind it and are decided together in the next
/// batch (when the app batches). Their answers, in order.
pub async fn behind_the_event_lock(
    app: &TestApp,
    event: i64,
    requests: Vec<reqwest::RequestBuilder>,
) -> Vec<Response> {
    let mut blocker = app.db().await;
    let lock = lock_event_row(&mut blocker, event).await;
    let count = requests.len() as u64;
    let answers = futures_util::future::join_all(requests.into_iter().enumerate().map(
        |(place, request)| async move {
            tokio::time::sleep(Duration::from_millis(100 * place as u64)).await;
            request.send().await.expect("request sent")
        },
    ));
    let release = async {
        tokio::time::sleep(Duration::from_millis(100 * count + 400)).await;
        lock.rollback().await.unwrap();
    };
    tokio::join!(answers, release).0
}
