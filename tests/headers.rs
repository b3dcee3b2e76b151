//! Request ids: which client ids pass, and the generated ones. (Hop-by-hop removal is
//! tested on real `Headers` objects in src/edge/tests.rs and end to end.)

use gateway::headers::is_valid_request_id;
use gateway::request_id::RequestIds;

#[test]
fn client_request_ids_are_checked() {
    let long = "a".repeat(129);
    for (id, ok) in [
        ("6a62d773-e378-4207-93bf-4d412a32d6e0", true),
        ("req_01HX:abc/def+g=", true),
        ("", false),
        ("has space", false),
        ("quote\"", false),
        ("new\nline", false),
        (long.as_str(), false),
        (&long[..128], true),
    ] {
        assert_eq!(is_valid_request_id(id), ok, "{id:?}");
    }
}

#[test]
fn generated_request_ids_are_uuid_v4_and_distinct() {
    let mut ids = RequestIds::new(7);
    let generated: Vec<String> = (0..1000).map(|_| ids.next_id()).collect();
    for id in &generated {
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(&id[14..15], "4", "version nibble in {id}");
        assert!("89ab".contains(&id[19..20]), "variant in {id}");
        assert!(is_valid_request_id(id));
    }
    let mut unique = generated.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), generated.len());
    assert!((0..1000).all(|_| ids.below(3) < 3));
}
