//! Runs the `orders-v2` sample service on 127.0.0.1:$PORT (default 9104).

#[tokio::main]
async fn main() -> std::io::Result<()> {
    orders::serve(orders_v2::REVISION).await
}
