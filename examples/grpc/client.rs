//! A tiny client of the gRPC example, so that trying it needs nothing to install.
//!
//! ```text
//! RAMPGATE_ADDR=127.0.0.1:3000 cargo run --example grpc_client --features tonic -- hello TOKEN
//! ```
//!
//! Commands: `hello [TOKEN] [NAME]` (`helloworld.Greeter/SayHello`), `stream
//! [TOKEN] [NAME]` (`SayHelloStream`, three greetings) and `health`
//! (`grpc.health.v1.Health/Check`, no token). A refusal prints the gRPC code,
//! the message, and the `www-authenticate` challenge that says what to fix;
//! the exit status is then 1.

/// The generated messages, client and server of `proto/helloworld.proto`.
#[allow(missing_docs, unreachable_pub, dead_code, clippy::all)]
mod helloworld {
    include!("generated/helloworld.rs");
}

use helloworld::HelloRequest;
use helloworld::greeter_client::GreeterClient;
use tonic::Status;
use tonic::metadata::MetadataValue;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = std::env::var("RAMPGATE_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let url = format!("http://{addr}");
    let command = args.first().map(String::as_str).unwrap_or("hello");
    let token = args.get(1).cloned();
    let name = args.get(2).cloned().unwrap_or_else(|| "world".to_owned());
    if let Err(status) = run(&url, command, token, name).await {
        report(&status);
        std::process::exit(1);
    }
}

async fn run(url: &str, command: &str, token: Option<String>, name: String) -> Result<(), Status> {
    let channel = tonic::transport::Endpoint::from_shared(url.to_owned())
        .map_err(|e| Status::invalid_argument(e.to_string()))?
        .connect()
        .await
        .map_err(|e| Status::unavailable(format!("cannot connect to {url}: {e}")))?;
    let request = |times: u32| {
        let mut request = tonic::Request::new(HelloRequest {
            name: name.clone(),
            times,
        });
        if let Some(token) = &token
            && let Ok(value) = MetadataValue::try_from(format!("Bearer {token}"))
        {
            request.metadata_mut().insert("authorization", value);
        }
        request
    };
    match command {
        "health" => {
            let reply = HealthClient::new(channel)
                .check(HealthCheckRequest::default())
                .await?;
            println!("health: {:?}", reply.into_inner().status());
        }
        "stream" => {
            let mut stream = GreeterClient::new(channel)
                .say_hello_stream(request(3))
                .await?
                .into_inner();
            while let Some(reply) = stream.message().await? {
                println!("{}", reply.message);
            }
        }
        _ => {
            let reply = GreeterClient::new(channel).say_hello(request(1)).await?;
            println!("{}", reply.into_inner().message);
        }
    }
    Ok(())
}

fn report(status: &Status) {
    eprintln!("refused: {:?}: {}", status.code(), status.message());
    if let Some(challenge) = status.metadata().get("www-authenticate") {
        eprintln!("www-authenticate: {}", challenge.to_str().unwrap_or("?"));
    }
}
