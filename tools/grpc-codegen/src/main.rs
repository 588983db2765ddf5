//! Compiles examples/grpc/proto/helloworld.proto with protox (pure Rust, no
//! protoc) and writes the tonic + prost code and the file descriptor set (for
//! server reflection) to examples/grpc/generated/.

use prost::Message;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let proto_dir = root.join("examples/grpc/proto");
    let out = root.join("examples/grpc/generated");
    let fds = protox::compile([proto_dir.join("helloworld.proto")], [&proto_dir])?;
    std::fs::write(out.join("helloworld_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .out_dir(&out)
        .compile_fds(fds)?;
    println!("wrote {}", out.display());
    Ok(())
}
