//! Runs the `orders` sample service on 127.0.0.1:$PORT (default 9102).

#[tokio::main]
async fn main() -> std::io::Result<()> {
    orders::serve(orders::V1).await
}
