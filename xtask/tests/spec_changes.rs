//! What `cargo xtask codegen` does with the spec changes OpenFunnel could
//! make next: each edit to the vendored files either regenerates faithfully
//! (the generated type is asserted) or is refused with an error that names
//! the file and the key or JSON pointer. Nothing changes unnoticed.

use serde_json::{Value, json};
use xtask::codegen::{SPEC_DIR, repository_root};
use xtask::generate::generate_client;
use xtask::normalise::{SpecFile, normalise};
use xtask::spec_files::load_spec_dir;

const INTENT_FILE: &str = "openapi/upstream/tech-intent-search-status.yaml";
const SUPPLEMENT: &str = "openapi/supplement/openfunnel-rs-supplement.yaml";
const ROW: &str = "/components/schemas/TechIntentCompanyRow";

/// The vendored files, with `edit` applied to the one named `file`.
fn edited(file: &str, edit: impl FnOnce(&mut Value)) -> Vec<SpecFile> {
    let root = repository_root();
    let mut files = load_spec_dir(&root, &root.join(SPEC_DIR)).expect("openapi/ loads");
    let target = files
        .iter_mut()
        .find(|spec| spec.name == file)
        .unwrap_or_else(|| panic!("no {file}"));
    edit(&mut target.doc);
    files
}

/// The generated client for `files`, as formatted Rust.
fn generated(files: &[SpecFile]) -> String {
    let document = normalise(files).unwrap_or_else(|error| panic!("{error}"));
    let client = generate_client(&document).unwrap_or_else(|error| panic!("{error}"));
    prettyplease::unparse(&client)
}

/// The message `files` are refused with.
fn refusal(files: &[SpecFile]) -> String {
    match normalise(files) {
        Err(error) => error.to_string(),
        Ok(document) => match generate_client(&document) {
            Err(error) => error.to_string(),
            Ok(_) => panic!("the edit was accepted"),
        },
    }
}

/// The body of `pub struct name { … }`, white space collapsed.
fn struct_body(code: &str, name: &str) -> String {
    let start = code
        .find(&format!("pub struct {name} {{"))
        .unwrap_or_else(|| panic!("no struct {name}"));
    let end = code[start..].find("\n    }\n").expect("the struct ends") + start;
    code[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The type of field `field` of struct `name`.
fn field_type(code: &str, name: &str, field: &str) -> String {
    let body = struct_body(code, name);
    let marker = format!("pub {field}: ");
    let at = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {field} in {body}"))
        + marker.len();
    let rest = &body[at..];
    let mut depth = 0;
    let end = rest
        .char_indices()
        .find(|&(_, c)| {
            match c {
                '<' => depth += 1,
                '>' => depth -= 1,
                ',' if depth == 0 => return true,
                _ => {}
            }
            false
        })
        .map_or(rest.len(), |(i, _)| i);
    rest[..end].replace(' ', "")
}

fn property<'a>(doc: &'a mut Value, pointer: &str) -> &'a mut Value {
    doc.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer}"))
}

// ------------------------------------------------------- faithful translations

#[test]
fn a_ref_with_a_sibling_nullable_keeps_its_nullability() {
    for sibling in [
        json!({"nullable": true}),
        json!({"type": ["object", "null"]}),
    ] {
        let files = edited(INTENT_FILE, |doc| {
            let intent = property(doc, &format!("{ROW}/properties/intent"));
            for (key, value) in sibling.as_object().unwrap() {
                intent[key] = value.clone();
            }
        });
        let code = generated(&files);
        assert_eq!(
            field_type(&code, "TechIntentCompanyRow", "intent"),
            "::std::option::Option<TechIntentVerdict>",
            "{sibling}: a null must decode"
        );
    }
}

#[test]
fn a_ref_s_sibling_description_becomes_the_field_s_doc_comment() {
    let code = generated(&edited(INTENT_FILE, |_| {}));
    let body = struct_body(&code, "TechIntentCompanyRow");
    assert!(
        body.contains(
            "///The intent verification block for this company. pub intent: TechIntentVerdict"
        ),
        "{body}"
    );
}

#[test]
fn const_is_typed_a_closed_enum_in_requests_and_a_string_in_responses() {
    let files = edited(SUPPLEMENT, |doc| {
        property(
            doc,
            "/components/schemas/TechIntentSearchRequest/properties",
        )["mode"] = json!({"const": "intent"});
    });
    let files = {
        let mut files = files;
        let row = files
            .iter_mut()
            .find(|spec| spec.name == INTENT_FILE)
            .unwrap();
        property(&mut row.doc, &format!("{ROW}/properties"))["kind"] =
            json!({"const": "tech_intent", "description": "Always `tech_intent`."});
        files
    };
    let code = generated(&files);
    let request_mode = field_type(&code, "TechIntentSearchRequest", "mode");
    assert_ne!(request_mode, "::std::option::Option<::serde_json::Value>");
    assert!(
        code.contains(&format!(
            "pub enum {}",
            request_mode
                .trim_start_matches("::std::option::Option<")
                .trim_end_matches('>')
        )),
        "{request_mode}: a one-value enum"
    );
    assert_eq!(
        field_type(&code, "TechIntentCompanyRow", "kind"),
        "::std::option::Option<::std::string::String>"
    );
}

#[test]
fn a_response_enum_stays_open_and_documents_its_values() {
    let files = edited(INTENT_FILE, |doc| {
        let status = property(
            doc,
            "/components/schemas/TechIntentJobResponse/properties/status",
        );
        status["enum"] = json!(["pending", "running", "completed", "failed"]);
    });
    let code = generated(&files);
    // A String: any status OpenFunnel adds later decodes.
    assert_eq!(
        field_type(&code, "TechIntentJobResponse", "status"),
        "::std::string::String"
    );
    let body = struct_body(&code, "TechIntentJobResponse");
    assert!(
        body.contains("Known values: `pending`, `running`, `completed`, `failed`."),
        "{body}"
    );
    let unknown: serde_json::Map<String, Value> = serde_json::from_value(json!({
        "job_id": "j", "status": "paused", "rows": []
    }))
    .unwrap();
    assert_eq!(unknown["status"], "paused");
}

#[test]
fn examples_and_numeric_exclusive_bounds_are_translated() {
    let files = edited(SUPPLEMENT, |doc| {
        let limit = property(
            doc,
            "/components/schemas/TechIntentSearchRequest/properties/limit",
        );
        limit["examples"] = json!([50]);
        // 1..=500 today: an exclusive 0 adds nothing; an exclusive 500 does.
        limit["exclusiveMinimum"] = json!(0);
        limit["exclusiveMaximum"] = json!(500);
    });
    let document = normalise(&files).unwrap();
    let limit =
        &document["components"]["schemas"]["TechIntentSearchRequest"]["properties"]["limit"];
    assert_eq!(limit.get("examples"), None, "{limit}");
    assert_eq!(limit["example"], 50);
    assert_eq!(
        (&limit["minimum"], limit.get("exclusiveMinimum")),
        (&json!(1), None)
    );
    assert_eq!(
        (&limit["maximum"], &limit["exclusiveMaximum"]),
        (&json!(500), &json!(true))
    );
    generated(&files);
}

// ------------------------------------------------------- refusals

#[test]
fn keywords_without_a_translation_are_refused_naming_file_and_pointer() {
    for (keyword, value) in [
        ("prefixItems", json!([{"type": "string"}])),
        ("if", json!({"type": "string"})),
        ("dependentSchemas", json!({"a": {}})),
        ("unevaluatedProperties", json!(false)),
        ("patternProperties", json!({"^x": {"type": "string"}})),
        ("$defs", json!({"A": {"type": "string"}})),
    ] {
        let files = edited(INTENT_FILE, |doc| {
            property(doc, &format!("{ROW}/properties/post_count"))[keyword] = value;
        });
        let message = refusal(&files);
        assert!(
            message.contains(INTENT_FILE)
                && message.contains(&format!("{ROW}/properties/post_count"))
                && message.contains(keyword),
            "{keyword}: {message}"
        );
    }
}

#[test]
fn keys_the_merge_does_not_carry_are_refused_naming_file_and_key() {
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit); 5] = [
        ("openapi", |doc| doc["openapi"] = json!("4.0.0")),
        ("security", |doc| {
            doc["security"] = json!([{"ApiKeyHeader": []}])
        }),
        (
            "components.securitySchemes",
            |doc| {
                doc["components"]["securitySchemes"] =
                    json!({"ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"}})
            },
        ),
        ("webhooks", |doc| doc["webhooks"] = json!({"jobDone": {}})),
        ("servers", |doc| {
            doc["servers"] = json!([{"url": "https://eu.api.openfunnel.dev"}])
        }),
    ];
    for (key, edit) in cases {
        let message = refusal(&edited(INTENT_FILE, edit));
        assert!(
            message.contains(INTENT_FILE) && message.contains(key),
            "{key}: {message}"
        );
    }
}

#[test]
fn an_invalid_document_is_reported_with_its_path() {
    let files = edited(INTENT_FILE, |doc| {
        property(doc, &format!("{ROW}/properties/post_count"))["minimum"] = json!("zero");
    });
    let message = refusal(&files);
    assert!(
        message.contains("components.schemas.TechIntentCompanyRow"),
        "{message}"
    );
}
