//! Runs the `orders` sample service on 127.0.0.1:$PORT (default 9102).

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = backend_kit::port(orders::DEFAULT_PORT);
    backend_kit::serve(orders::SERVICE, port, orders::app()).await
}
