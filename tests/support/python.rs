//! The Python package (`bindings-python`) as the tests import it: its native module built by
//! cargo into this build's target directory, assembled with the Python half the way a wheel
//! lays them out (`payin/_native.abi3.so` beside `payin/*.py`, `*.pyi`, `py.typed`).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::BIN;

/// The repository root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// An importable `payin` package in a temporary directory: put [`Package::path`] on
/// `PYTHONPATH`.
pub struct Package {
    dir: tempfile::TempDir,
}

impl Package {
    /// Builds the native module if it is stale and assembles the package.
    pub fn assemble() -> Package {
        let native = build_native();
        let dir = tempfile::tempdir().unwrap();
        let package = dir.path().join("payin");
        std::fs::create_dir(&package).unwrap();
        let sources = repo().join("bindings-python/python/payin");
        for entry in std::fs::read_dir(&sources).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            if name.ends_with(".py") || name.ends_with(".pyi") || name == "py.typed" {
                std::fs::copy(&path, package.join(&name)).unwrap();
            }
        }
        std::fs::copy(&native, package.join("_native.abi3.so")).unwrap();
        Package { dir }
    }

    /// The directory holding `payin/`.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// `cargo build --workspace --all-targets` in the target directory of this test binary (a
/// no-op after `scripts/test.sh`'s build; after `cargo nextest run` alone it adds the cdylib,
/// which test builds skip), then the path of `libpayin_python.so`.
/// The target directory this build uses: `<target>/<profile>/payin`, or
/// `<target>/<triple>/<profile>/payin` when the build names its target (`CARGO_BUILD_TARGET`,
/// as `scripts/test.sh` does for napi), which cargo then keeps naming for nested builds.
pub fn cargo_target_dir() -> PathBuf {
    let profile_dir = Path::new(BIN).parent().expect("the binary is in <target>/<profile>");
    let dir = profile_dir.parent().expect("the profile is in <target>");
    match std::env::var("CARGO_BUILD_TARGET") {
        Ok(triple) if dir.file_name().and_then(|n| n.to_str()) == Some(triple.as_str()) => {
            dir.parent().expect("the triple is in <target>").to_path_buf()
        }
        _ => dir.to_path_buf(),
    }
}

fn build_native() -> PathBuf {
    let profile_dir = Path::new(BIN).parent().expect("the binary is in <target>/<profile>");
    let target_dir = cargo_target_dir();
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let out = Command::new(cargo)
        .args([
            "build",
            "--workspace",
            "--all-targets",
            "--locked",
            "--profile",
            profile,
        ])
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("running {cargo}: {e}"));
    assert!(
        out.status.success(),
        "building the Python package's native module failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let native = profile_dir.join("libpayin_python.so");
    assert!(native.exists(), "{} was not built", native.display());
    native
}
