//! The `promlite` binary: thin glue from command-line flags to the `promlite` facade.

fn main() {
    println!("promlite: under construction");
}
