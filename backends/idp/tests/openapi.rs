//! The committed OpenAPI document is the one the code generates.
//! `UPDATE_OPENAPI=1 cargo test -p idp --test openapi` rewrites it.

use std::path::Path;

#[test]
fn the_committed_document_is_generated_from_the_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let generated = backend_kit::openapi::to_json(&idp::openapi());
    backend_kit::testing::contract::assert_committed(&path, &generated);
}
