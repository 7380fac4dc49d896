// The migrations are embedded at compile time (refinery's embed_migrations!),
// so a changed or added migration must rebuild the crate.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
