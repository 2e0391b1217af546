//! `redirector`: routes as code (see `cli/src/lib.rs` for the commands).
fn main() {
    std::process::exit(redirector_cli::run(std::env::args().skip(1).collect()));
}
