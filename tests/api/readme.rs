//! README.md is where a newcomer starts: every file and SQL function it
//! names must exist. A file is named in an inline code span (`src/db/`,
//! `run_tests.sh`) or as the first word of a line in a fenced block (the
//! Layout tree); a SQL function by its bare name in a code span. A function
//! counts as gone when some migration created it and the migrated database no
//! longer has it (`book_seat`, dropped by V6, is the case this was written
//! for).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;
use tokio_postgres::NoTls;

use crate::helpers::spawn_app;

const NOT_IN_THE_TREE: [&str; 3] = ["target/", ".flashbook/", "node_modules/"];
const FILE_EXTENSIONS: [&str; 14] = [
    "rs",
    "sql",
    "sh",
    "js",
    "mjs",
    "py",
    "yml",
    "yaml",
    "toml",
    "cfg",
    "html",
    "md",
    "json",
    "Dockerfile",
];

/// The Layout's tree is the map a newcomer reads first: every module of the
/// service (each entry of `src/`) and every top-level folder is on it.
#[test]
fn readme_layout_shows_every_module_and_top_level_folder() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md readable");
    let layout = readme
        .split("\n## Layout")
        .nth(1)
        .expect("README.md has a Layout section");
    // Every word of its fenced tree; a folder is shown by any path under it.
    let words: Vec<&str> = layout
        .split("```")
        .skip(1)
        .step_by(2)
        .flat_map(str::split_whitespace)
        .map(|word| word.trim_end_matches(','))
        .collect();
    let shown = |path: &str| words.iter().any(|word| word.starts_with(path));
    let mut missing = Vec::new();
    for (folder, prefix) in [(root.join("src"), "src/"), (root.to_path_buf(), "")] {
        for entry in std::fs::read_dir(&folder)
            .expect("folder readable")
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_dir = entry.path().is_dir();
            if prefix.is_empty()
                && (!is_dir || name.starts_with('.') || name == "target" || name == "node_modules")
            {
                continue;
            }
            let path = format!("{prefix}{name}{}", if is_dir { "/" } else { "" });
            if !shown(&path) {
                missing.push(path);
            }
        }
    }
    missing.sort();
    assert!(
        missing.is_empty(),
        "README.md's Layout does not show: {missing:?}"
    );
}

#[tokio::test]
async fn readme_names_only_files_and_sql_functions_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md readable");
    let names = named_in(&readme);

    let tree = files_in(root);
    let paths: Vec<&String> = names
        .iter()
        .filter(|name| looks_like_a_path(name, root))
        .collect();
    // The Layout alone names dozens: far fewer means the parsing broke.
    assert!(
        paths.len() >= 40,
        "found only {} file names in README.md: {paths:?}",
        paths.len()
    );
    let missing_files: Vec<&&String> = paths
        .iter()
        .filter(|name| !path_exists(name, root, &tree))
        .collect();

    let app = spawn_app().await;
    let (client, connection) = tokio_postgres::connect(&app.database_url, NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(connection);
    let current: BTreeSet<String> = client
        .query(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
             WHERE n.nspname = 'public'",
            &[],
        )
        .await
        .expect("list the database's functions")
        .iter()
        .map(|row| row.get(0))
        .collect();
    let ever_created = functions_created_by_migrations(root);
    let gone_functions: BTreeSet<&String> = names
        .iter()
        .map(|name| name.trim_end_matches("()"))
        .filter_map(|name| ever_created.get(name))
        .filter(|name| !current.contains(*name))
        .collect();

    assert!(
        missing_files.is_empty() && gone_functions.is_empty(),
        "README.md names files that do not exist: {missing_files:?}; \
         and SQL functions the migrated database no longer has: {gone_functions:?}"
    );
}

/// Inline code spans outside fenced blocks, and the first word of each line
/// inside them.
fn named_in(readme: &str) -> BTreeSet<String> {
    let span = Regex::new(r"`([^`\n]+)`").expect("valid pattern");
    let mut names = BTreeSet::new();
    let mut fenced = false;
    for line in readme.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            names.extend(line.split_whitespace().next().map(str::to_owned));
        } else {
            names.extend(span.captures_iter(line).map(|c| c[1].trim().to_owned()));
        }
    }
    names
}

/// A path is a span without spaces or placeholders whose first part is in the
/// repository's top level, or which ends in a source file's extension.
fn looks_like_a_path(name: &str, root: &Path) -> bool {
    let name = name.trim_start_matches("./");
    if name.is_empty()
        || name.contains(|c: char| c.is_whitespace() || "<>*{}$:=?#()+,'\"|".contains(c))
        || name.starts_with('/')
        || NOT_IN_THE_TREE
            .iter()
            .any(|prefix| name.starts_with(prefix))
    {
        return false;
    }
    let first = name.split('/').next().unwrap_or_default();
    let has_extension = FILE_EXTENSIONS
        .iter()
        .any(|extension| name.ends_with(&format!(".{extension}")) || name == *extension);
    (name.contains('/') && root.join(first).exists()) || has_extension
}

/// A path with a directory must exist from the root; a bare file name
/// (`batch.rs`) somewhere in the tree.
fn path_exists(name: &str, root: &Path, tree: &[PathBuf]) -> bool {
    let name = name.trim_start_matches("./");
    if name.contains('/') {
        return root.join(name).exists();
    }
    tree.iter()
        .any(|path| path.file_name().is_some_and(|file| file == name))
}

fn files_in(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut directories = vec![root.to_path_buf()];
    while let Some(directory) = directories.pop() {
        let entries = std::fs::read_dir(&directory).expect("directory readable");
        for entry in entries.flatten() {
            let path = entry.path();
            let hidden_or_built = entry
                .file_name()
                .to_str()
                .is_some_and(|name| name == "target" || name == "node_modules" || name == ".git");
            if hidden_or_built {
                continue;
            }
            if path.is_dir() {
                directories.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// Every function name a `CREATE [OR REPLACE] FUNCTION` under migrations/
/// ever defined.
fn functions_created_by_migrations(root: &Path) -> BTreeSet<String> {
    let create = Regex::new(r"(?i)create\s+(?:or\s+replace\s+)?function\s+(?:public\.)?(\w+)")
        .expect("valid pattern");
    files_in(&root.join("migrations"))
        .iter()
        .filter(|path| path.extension().is_some_and(|extension| extension == "sql"))
        .flat_map(|path| {
            let text = std::fs::read_to_string(path).expect("migration readable");
            create
                .captures_iter(&text)
                .map(|c| c[1].to_lowercase())
                .collect::<Vec<_>>()
        })
        .collect()
}
