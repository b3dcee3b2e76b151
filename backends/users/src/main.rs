//! Runs the `users` sample service on 127.0.0.1:$PORT (default 9101).

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = backend_kit::port(users::DEFAULT_PORT);
    backend_kit::serve(users::SERVICE, port, users::app()).await
}
