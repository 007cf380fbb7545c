//! The client is what the Python and Node packages ship: its normal dependency tree must hold
//! the wire types and an HTTP client only — no database driver, chain library, HTTP server or
//! MCP runtime.

use std::process::Command;

/// Crates (and crate families, by prefix) that must never reach the client's tree.
const FORBIDDEN: [&str; 5] = ["sqlx", "alloy", "axum", "rmcp", "payin-core"];

/// Every package in `cargo tree -e normal -p <package>`, one name per entry.
fn normal_dependencies(package: &str) -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "-p",
            package,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn forbidden_in(packages: &[String]) -> Vec<&String> {
    packages
        .iter()
        .filter(|p| {
            FORBIDDEN
                .iter()
                .any(|f| p.as_str() == *f || p.starts_with(&format!("{f}-")))
        })
        .collect()
}

#[test]
fn the_client_depends_on_no_database_chain_server_or_mcp_crate() {
    for package in ["payin-client", "payin-types"] {
        let tree = normal_dependencies(package);
        assert!(
            tree.iter().any(|p| p == package),
            "{package} not in its own tree: {tree:?}"
        );
        assert_eq!(forbidden_in(&tree), Vec::<&String>::new(), "{package}");
    }
}

#[test]
fn the_client_verifies_tls_with_the_operating_system_trust_store() {
    let tree = normal_dependencies("payin-client");
    assert!(tree.iter().any(|p| p == "rustls-platform-verifier"), "{tree:?}");
}

#[test]
fn the_check_would_catch_the_engine() {
    // The rule must be able to fail: payin-core brings sqlx and alloy.
    let tree = normal_dependencies("payin-core");
    let found: Vec<&str> = forbidden_in(&tree).iter().map(|s| s.as_str()).collect();
    assert!(found.contains(&"sqlx") && found.contains(&"alloy"), "{found:?}");
}
