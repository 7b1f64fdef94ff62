// Nothing to build: this makes cargo fetch protoc-bin-vendored, whose protoc
// .cargo/protoc runs for the Spark Connect client's generated code.
fn main() {
    let _ = protoc_bin_vendored::protoc_bin_path();
    println!("cargo:rerun-if-changed=build.rs");
}
