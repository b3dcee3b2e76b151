//! Contract tests: the running service (on a loopback socket) answers as its committed
//! OpenAPI document says, for every operation in it.

use std::path::Path;

use backend_kit::testing::contract::verify;

#[path = "support/contract_cases.rs"]
mod contract_cases;

#[tokio::test]
async fn the_running_service_keeps_its_contract() {
    let contract = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    verify(orders::app(), &contract, &contract_cases::cases()).await;
}
