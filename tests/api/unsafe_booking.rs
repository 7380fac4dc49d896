//! A deliberately unsafe booking endpoint, compiled only into this test
//! binary: it counts the seats sold without any lock, then inserts. It exists
//! to prove that the concurrency test fails when the booking path is wrong.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use deadpool_postgres::{Manager, Pool};
use serde::Deserialize;
use serde_json::json;
use tokio_postgres::NoTls;

#[derive(Deserialize)]
struct BookingRequest {
    event_id: i64,
    user_id: i64,
}

/// Serves `POST /bookings` the unsafe way; returns its base URL.
pub async fn spawn_unsafe_booking_server(database_url: &str) -> String {
    let manager = Manager::new(database_url.parse().unwrap(), NoTls);
    let pool = Pool::builder(manager).max_size(32).build().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(pool.clone()))
            .route("/bookings", web::post().to(read_check_write))
    })
    .workers(2)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    format!("http://127.0.0.1:{port}")
}

/// The classic trap: the count is read without a lock, so every buyer that
/// reads before the others write sees a free seat. It leaves the counter
/// alone, since the counter's CHECK constraint would otherwise stop it.
async fn read_check_write(
    pool: web::Data<Pool>,
    request: web::Json<BookingRequest>,
) -> HttpResponse {
    let client = pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM bookings WHERE event_id = $1 AND status = 'confirmed'),
                    (SELECT capacity::BIGINT FROM events WHERE id = $1)",
            &[&request.event_id],
        )
        .await
        .unwrap();
    let (sold, capacity): (i64, i64) = (row.get(0), row.get(1));
    if sold >= capacity {
        return HttpResponse::Conflict().json(json!({"code": "sold_out"}));
    }
    // The time a real service spends between its read and its write, made
    // long enough that the race shows however loaded the test machine is.
    tokio::time::sleep(Duration::from_millis(20)).await;
    match client
        .execute(
            "INSERT INTO bookings (event_id, user_id) VALUES ($1, $2)",
            &[&request.event_id, &request.user_id],
        )
        .await
    {
        Ok(_) => HttpResponse::Created().json(json!({})),
        Err(_) => HttpResponse::Conflict().json(json!({"code": "already_booked"})),
    }
}
