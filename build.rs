// The migrations are embedded at compile time (refinery's embed_migrations!,
// and the function references listed below), so a changed or added
// migration must rebuild the crate.
use std::fmt::Write;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=migrations/functions");
    write_function_references();
}

/// Writes `$OUT_DIR/function_references.rs`: every
/// `migrations/functions/<name>.sql` as `("<name>", include_str!(...))`, in
/// name order, for the migration runner (src/db/migrations.rs).
fn write_function_references() {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/functions");
    let mut files: Vec<_> = std::fs::read_dir(&directory)
        .expect("migrations/functions/ is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "sql"))
        .collect();
    files.sort();
    let mut list = String::from("&[\n");
    for path in files {
        let name = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .expect("a UTF-8 file name");
        writeln!(
            list,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    list.push(']');
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("function_references.rs");
    std::fs::write(out, list).expect("OUT_DIR is writable");
}
