//! Contract changes, one edit per row, and how each is classified.

use serde_json::{json, Value};

use super::*;

fn base() -> Value {
    json!({"openapi": "3.1.0", "info": {"version": "1.0.0"}, "paths": {
        "/orders": {
            "get": {
                "parameters": [{"name": "user_id", "in": "query", "required": false, "schema": {"type": "integer"}}],
                "responses": {"200": {"content": {"application/json": {"schema": {
                    "type": "array", "items": {"$ref": "#/components/schemas/Order"}}}}}}
            },
            "post": {
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/NewOrder"}}}},
                "responses": {
                    "201": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}},
                    "422": {"content": {"application/problem+json": {"schema": {"type": "object"}}}}
                }
            }
        },
        "/orders/{id}": {"get": {
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
            "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}}}
        }}
    }, "components": {"schemas": {
        "Order": {"type": "object", "required": ["id", "item", "state"], "properties": {
            "id": {"type": "integer"}, "item": {"type": "string"},
            "note": {"type": ["string", "null"]},
            "state": {"type": "string", "enum": ["open", "shipped"]}}},
        "NewOrder": {"type": "object", "required": ["item"], "properties": {
            "item": {"type": "string"}, "quantity": {"type": "integer"}}}
    }}})
}

fn changes(edit: impl FnOnce(&mut Value)) -> Vec<String> {
    let old = Contract::parse(&base().to_string()).unwrap();
    let mut doc = base();
    edit(&mut doc);
    let new = Contract::parse(&doc.to_string()).unwrap();
    diff(&old, &new).iter().map(ToString::to_string).collect()
}

/// An edit of the base document.
type Edit = Box<dyn FnOnce(&mut Value)>;

fn order(doc: &mut Value) -> &mut Value {
    &mut doc["components"]["schemas"]["Order"]
}

#[test]
fn an_unchanged_contract_has_no_changes() {
    assert_eq!(changes(|_| {}), Vec::<String>::new());
    // renaming a path parameter changes nothing a client sends
    let renamed = changes(|d| {
        let item = d["paths"]["/orders/{id}"].take();
        d["paths"]["/orders/{order_id}"] = item;
        d["paths"]["/orders/{order_id}"]["get"]["parameters"][0]["name"] = json!("order_id");
        d["paths"].as_object_mut().unwrap().remove("/orders/{id}");
    });
    assert_eq!(renamed, Vec::<String>::new());
}

#[test]
fn breaking_changes() {
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|d| {
                d["paths"]["/orders/{id}"].as_object_mut().unwrap().remove("get");
            }),
            "breaking   GET /orders/{id}: operation removed",
        ),
        (
            Box::new(|d| {
                d["paths"]["/orders"]["get"]["parameters"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": "tenant", "in": "header", "required": true}));
            }),
            "breaking   GET /orders: new required header parameter `tenant`",
        ),
        (
            Box::new(|d| d["paths"]["/orders"]["get"]["parameters"][0]["required"] = json!(true)),
            "breaking   GET /orders: query parameter `user_id` is now required",
        ),
        (
            Box::new(|d| d["paths"]["/orders"]["get"]["parameters"][0]["schema"] = json!({"type": "string"})),
            "breaking   GET /orders: query parameter `user_id` retyped from integer to string",
        ),
        (
            Box::new(|d| {
                order(d)["properties"].as_object_mut().unwrap().remove("item");
            }),
            "breaking   GET /orders: response 200 body[] field `item` removed",
        ),
        (
            Box::new(|d| order(d)["properties"]["id"] = json!({"type": "string"})),
            "breaking   GET /orders: response 200 body[].id retyped from integer to string",
        ),
        (
            Box::new(|d| order(d)["required"] = json!(["id", "state"])),
            "breaking   GET /orders: response 200 body[] field `item` may now be missing",
        ),
        (
            Box::new(|d| order(d)["properties"]["item"] = json!({"type": ["string", "null"]})),
            "breaking   GET /orders: response 200 body[].item retyped from string to null or string",
        ),
        (
            Box::new(|d| order(d)["properties"]["state"]["enum"] = json!(["open", "shipped", "lost"])),
            "breaking   GET /orders: response 200 body[].state may now be \"lost\"",
        ),
        (
            Box::new(|d| {
                let new_order = &mut d["components"]["schemas"]["NewOrder"];
                new_order["properties"]["currency"] = json!({"type": "string"});
                new_order["required"] = json!(["item", "currency"]);
            }),
            "breaking   POST /orders: request body: required field `currency` added",
        ),
        (
            Box::new(|d| d["components"]["schemas"]["NewOrder"]["required"] = json!(["item", "quantity"])),
            "breaking   POST /orders: request body field `quantity` is now required",
        ),
        (
            Box::new(|d| {
                d["paths"]["/orders"]["post"]["responses"].as_object_mut().unwrap().remove("201");
            }),
            "breaking   POST /orders: response 201 removed",
        ),
    ];
    for (edit, want) in cases {
        let got = changes(edit);
        assert_eq!(got.first().map(String::as_str), Some(want), "{got:#?}");
    }
}

#[test]
fn compatible_changes() {
    let cases: Vec<(Edit, Vec<&str>)> = vec![
        (
            Box::new(|d| d["paths"]["/customers"] = json!({"get": {"responses": {}}})),
            vec!["compatible GET /customers: operation added"],
        ),
        (
            Box::new(|d| {
                d["paths"]["/orders"]["get"]["parameters"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": "limit", "in": "query", "schema": {"type": "integer"}}));
            }),
            vec!["compatible GET /orders: new optional query parameter `limit`"],
        ),
        (
            Box::new(|d| {
                order(d)["properties"]["currency"] = json!({"type": "string"});
                order(d)["required"] = json!(["id", "item", "state", "currency"]);
            }),
            vec![
                "compatible GET /orders: response 200 body[]: required field `currency` added",
                "compatible POST /orders: response 201 body: required field `currency` added",
                "compatible GET /orders/{id}: response 200 body: required field `currency` added",
            ],
        ),
        (
            Box::new(|d| d["components"]["schemas"]["NewOrder"]["properties"]["gift"] = json!({"type": "boolean"})),
            vec!["compatible POST /orders: request body: optional field `gift` added"],
        ),
        (
            Box::new(|d| d["components"]["schemas"]["NewOrder"]["required"] = json!([])),
            vec!["compatible POST /orders: request body field `item` is now optional"],
        ),
        (
            Box::new(|d| order(d)["properties"]["note"] = json!({"type": "string"})),
            vec![
                "compatible GET /orders: response 200 body[].note retyped from null or string to string",
                "compatible POST /orders: response 201 body.note retyped from null or string to string",
                "compatible GET /orders/{id}: response 200 body.note retyped from null or string to string",
            ],
        ),
        (
            Box::new(|d| d["paths"]["/orders"]["get"]["responses"]["400"] = json!({"description": "bad"})),
            vec!["compatible GET /orders: response 400 added"],
        ),
    ];
    for (edit, want) in cases {
        assert_eq!(changes(edit), want);
    }
}
