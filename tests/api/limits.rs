//! The service's own abuse limits (`src/http/limits.rs`): a request rate per
//! address and per bearer token, a cap on each client's open live views,
//! reads that cannot take the connections bookings need; and the headers
//! every answer carries.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use flashbook::configuration::Rate;
use reqwest::{Client, Response};

use crate::helpers::{assert_problem, spawn_app_with, AppOptions};

/// A client whose requests come from another loopback address.
fn client_from(address: Ipv4Addr) -> Client {
    Client::builder()
        .local_address(IpAddr::V4(address))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn assert_too_many_requests(response: Response) {
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_problem(response, 429, "too_many_requests").await;
}

#[tokio::test]
async fn an_address_over_its_rate_gets_429_and_another_address_does_not() {
    let app = spawn_app_with(AppOptions {
        address_rate: Some(Rate {
            per_second: 1,
            burst: 3,
        }),
        ..AppOptions::default()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(app.get("/health").await.status(), 200);
    }
    assert_too_many_requests(app.get("/health").await).await;
    // A token does not lift its address's limit.
    let with_token = app
        .http
        .get(app.url("/health"))
        .bearer_auth("a-fresh-token")
        .send()
        .await
        .unwrap();
    assert_too_many_requests(with_token).await;

    let neighbour = client_from(Ipv4Addr::new(127, 0, 0, 2));
    let response = neighbour.get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200, "another address has its own bucket");
}

#[tokio::test]
async fn each_bearer_token_has_its_own_rate() {
    let app = spawn_app_with(AppOptions {
        token_rate: Some(Rate {
            per_second: 1,
            burst: 2,
        }),
        ..AppOptions::default()
    })
    .await;
    let health = |token: &'static str| app.http.get(app.url("/health")).bearer_auth(token).send();
    for _ in 0..2 {
        assert_eq!(health("buyer-a").await.unwrap().status(), 200);
    }
    assert_too_many_requests(health("buyer-a").await.unwrap()).await;
    assert_eq!(health("buyer-b").await.unwrap().status(), 200);
    // Without a token, only the address counts, and it is far from its limit.
    assert_eq!(app.get("/health").await.status(), 200);
}

#[tokio::test]
async fn a_client_holds_at_most_its_share_of_live_views() {
    let app = spawn_app_with(AppOptions {
        live_tick: Some(Duration::from_millis(100)),
        live_max_viewers_per_client: Some(1),
        ..AppOptions::default()
    })
    .await;
    let event = app.create_sale(10).await;
    let path = format!("/events/{event}/live");
    let watch = |token: &str| app.http.get(app.url(&path)).bearer_auth(token).send();
    let viewer_a = app.token(app.create_user("viewer-a@example.com").await);
    let viewer_b = app.token(app.create_user("viewer-b@example.com").await);

    let first = watch(&viewer_a).await.unwrap();
    assert_eq!(first.status(), 200);
    let refused = watch(&viewer_a).await.unwrap();
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_problem(refused, 429, "too_many_open").await;
    let other = watch(&viewer_b).await.unwrap();
    assert_eq!(other.status(), 200, "another buyer has its own share");
    // A made-up token is not another client: it counts as the address,
    // whose one view the first anonymous one takes.
    let anonymous = app.http.get(app.url(&path)).send().await.unwrap();
    assert_eq!(anonymous.status(), 200);
    assert_problem(watch("made-up-token").await.unwrap(), 429, "too_many_open").await;

    // The slot is given back when the stream ends: the server notices the
    // closed connection at its next frame (one tick).
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let again = watch(&viewer_a).await.unwrap();
        if again.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the closed view kept its slot");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The guarantee of `db::read_client`: reads may hold only their share of
/// the pool. Here every read of a venue is stuck behind a table lock (as a
/// slow query would be), each on a pooled connection; a booking still gets
/// one of the others at once. Without the split, the stuck reads take all
/// four and the booking waits out the pool wait (2 s) and gets a 503.
#[tokio::test]
async fn a_flood_of_reads_leaves_bookings_their_connections() {
    let app = spawn_app_with(AppOptions {
        pool_size: Some(4),
        ..AppOptions::default()
    })
    .await;
    let event = app.create_sale(10).await;
    let user = app.create_user("buyer@example.com").await;
    let venues: serde_json::Value = app.get("/venues").await.json().await.unwrap();
    let venue = venues["items"][0]["id"].as_i64().unwrap();

    let mut locker = app.db().await;
    let lock = locker.transaction().await.unwrap();
    lock.batch_execute("LOCK TABLE venues IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let reads: Vec<_> = (0..20)
        .map(|_| {
            let request = app.http.get(app.url(&format!("/venues/{venue}"))).send();
            tokio::spawn(request)
        })
        .collect();
    // Let the reads reach the lock (and the pool) first.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    let booking = app.book(event, user).await;
    let took = started.elapsed();
    assert_eq!(booking.status(), 201, "booked while the reads were stuck");
    assert!(took < Duration::from_secs(1), "the booking took {took:?}");

    lock.rollback().await.unwrap();
    for read in reads {
        let status = read.await.unwrap().unwrap().status();
        // Stuck reads end when the lock goes, or at the pool wait (503).
        assert!(status == 200 || status == 503, "a read answered {status}");
    }
}

#[tokio::test]
async fn every_answer_says_nosniff_and_no_store_and_the_dashboard_sends_a_strict_policy() {
    let app = spawn_app_with(AppOptions::default()).await;
    let user = app.create_user("cached@example.com").await;
    for (path, status) in [
        ("/health", 200),
        ("/no-such-route", 404),
        ("/venues/0", 422),
        ("/me", 401),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
    // A buyer's own answer, and a token (OAuth 2.0 asks no-store of both).
    let me = app.get_as(user, "/me").await;
    assert_eq!(me.headers()["cache-control"], "no-store");
    let signed_up = app
        .post(
            "/users",
            serde_json::json!({"email": "new@example.com", "name": "New", "password": "a long enough password"}),
        )
        .await;
    assert_eq!(signed_up.headers()["cache-control"], "no-store");
    let session = app
        .post(
            "/sessions",
            serde_json::json!({"email": "new@example.com", "password": "a long enough password"}),
        )
        .await;
    assert_eq!(session.status(), 200);
    assert_eq!(session.headers()["cache-control"], "no-store");
    let dashboard = app.get("/dashboard/").await;
    assert_eq!(dashboard.headers()["x-content-type-options"], "nosniff");
    let policy = dashboard.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'sha256-",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
}
