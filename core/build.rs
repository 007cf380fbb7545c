//! `sqlx::migrate!` embeds `migrations/` at compile time; a migration file added there must
//! rebuild the crate even though no Rust source changed.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
