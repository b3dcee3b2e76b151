//! Runs the `idp` sample identity provider on 127.0.0.1:$PORT (default 9103).

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = backend_kit::port(idp::DEFAULT_PORT);
    backend_kit::serve(idp::SERVICE, port, idp::app()).await
}
