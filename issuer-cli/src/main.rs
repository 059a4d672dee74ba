//! govid-issuer: the HR office tool.

fn main() {
    eprintln!("govid-issuer: not yet implemented");
    std::process::exit(2);
}
