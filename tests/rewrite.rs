//! Path rewrites: strip a prefix or fill a template; captured values pass through still encoded.

use gateway::rewrite::{captures, Piece, Rewrite, TemplateError};

#[test]
fn strip_prefix() {
    let strip = Rewrite::StripPrefix("/api".into());
    for (path, want) in [
        ("/api/users/1", "/users/1"),
        ("/api", "/"),
        ("/api/", "/"),
        ("/api/a%2Fb", "/a%2Fb"),
        ("/apiv2/x", "/apiv2/x"), // not on a segment boundary: left alone
    ] {
        assert_eq!(strip.apply(path, |_| None), want, "{path}");
    }
}

#[test]
fn templates() {
    let params = [("id", "42"), ("rest", "a/b%20c.txt")];
    let lookup = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    for (template, want) in [
        ("/v1/users/{id}", "/v1/users/42"),
        ("/files/{rest}", "/files/a/b%20c.txt"),
        ("/files/{*rest}", "/files/a/b%20c.txt"),
        ("/{id}/{id}", "/42/42"),
        ("/orders?user_id={id}", "/orders?user_id=42"),
        ("/lit/{{id}}", "/lit/{id}"),
        ("/static", "/static"),
    ] {
        let rewrite = Rewrite::template(template).unwrap();
        assert_eq!(rewrite.apply("/ignored", lookup), want, "{template}");
    }
}

#[test]
fn template_errors() {
    for (template, want) in [
        ("v1/{id}", TemplateError::NotAbsolute),
        ("/v1/{id", TemplateError::Unbalanced),
        ("/v1/id}", TemplateError::Unbalanced),
        ("/v1/{}", TemplateError::Unbalanced),
        ("/v1/{*}", TemplateError::Unbalanced),
        ("/v1/{a{b}", TemplateError::Unbalanced),
    ] {
        assert_eq!(Rewrite::template(template), Err(want), "{template}");
    }
}

#[test]
fn template_pieces_and_params() {
    let rewrite = Rewrite::template("/a/{x}/b/{*y}").unwrap();
    assert_eq!(
        rewrite,
        Rewrite::Template(vec![
            Piece::Literal("/a/".into()),
            Piece::Param("x".into()),
            Piece::Literal("/b/".into()),
            Piece::Param("y".into()),
        ])
    );
    assert_eq!(rewrite.params().collect::<Vec<_>>(), ["x", "y"]);
}

#[test]
fn captured_names() {
    for (pattern, want) in [
        ("/users/{id}", vec!["id"]),
        ("/users/{id}/orders/{order}", vec!["id", "order"]),
        ("/static/{*rest}", vec!["rest"]),
        ("/img-{name}.png", vec!["name"]),
        ("/{{literal}}/{x}", vec!["x"]),
        ("/plain", vec![]),
    ] {
        assert_eq!(captures(pattern), want, "{pattern}");
    }
}
