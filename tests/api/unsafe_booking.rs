//! A deliberately unsafe booking endpoint, compiled only into this test
//! binary (and the `unsafe_booking` example of `./run_tests.sh --race-demo`,
//! which serves the same file): it counts the seats sold without any lock,
//! then inserts. It exists to prove that the concurrency test fails when the
//! booking path is wrong.

#[path = "../../examples/unsafe_booking/read_check_write.rs"]
mod read_check_write;

use std::net::TcpListener;

use actix_web::{web, App, HttpServer};
use deadpool_postgres::{Manager, Pool};
use tokio_postgres::NoTls;

/// Serves `POST /bookings` the unsafe way; returns its base URL.
pub async fn spawn_unsafe_booking_server(database_url: &str) -> String {
    let manager = Manager::new(database_url.parse().unwrap(), NoTls);
    let pool = Pool::builder(manager).max_size(32).build().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(pool.clone()))
            .configure(read_check_write::routes)
    })
    .workers(2)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    format!("http://127.0.0.1:{port}")
}
