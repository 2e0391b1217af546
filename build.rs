//! Bakes the release (git sha) into the worker as `REDIRECTOR_RELEASE`.
//! CI and the deploy scripts may set `REDIRECTOR_RELEASE` themselves; otherwise the
//! sha of HEAD is used, with `-dirty` when the work tree has changes, or `unknown`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=REDIRECTOR_RELEASE");
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/index");
        if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={dir}/{head_ref}");
        }
    }
    let release = std::env::var("REDIRECTOR_RELEASE").ok().filter(|r| !r.is_empty()).unwrap_or_else(|| {
        match git(&["rev-parse", "HEAD"]) {
            Some(sha) if !sha.is_empty() => {
                let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
                if dirty { format!("{sha}-dirty") } else { sha }
            }
            _ => "unknown".to_string(),
        }
    });
    println!("cargo:rustc-env=REDIRECTOR_RELEASE={release}");
}
