//! What the generated response types carry beyond progenitor's output:
//! - `#[non_exhaustive]`, so a field OpenFunnel adds is a minor change for
//!   Rust users too (as in the AWS SDK's types);
//! - `FIELD_NAMES`, the JSON names of the fields the spec declares, so code
//!   that lays rows out (the CLI's CSV columns) follows the spec with no hand
//!   list.
//!
//! A response type is a struct reached from what an operation *returns* (its
//! success or error body), field by field, and not from what an operation
//! *takes*: request types keep plain struct literals, which callers build.
//! Tuple structs (constrained strings) have no fields to add.

use std::collections::{BTreeMap, BTreeSet};
use syn::visit::Visit;

/// Adds `#[non_exhaustive]` and a `FIELD_NAMES` constant to every
/// response-only struct with named fields in `file`'s `types` module; returns
/// their names, sorted.
pub fn mark_response_types(file: &mut syn::File) -> Vec<String> {
    let fields = struct_fields(file);
    let (mut takes, mut returns) = (BTreeSet::new(), BTreeSet::new());
    for item in &file.items {
        let syn::Item::Impl(block) = item else {
            continue;
        };
        for method in block.items.iter().filter_map(|item| match item {
            syn::ImplItem::Fn(method) => Some(method),
            _ => None,
        }) {
            for input in &method.sig.inputs {
                if let syn::FnArg::Typed(arg) = input {
                    collect_idents(&arg.ty, &mut takes);
                }
            }
            if let syn::ReturnType::Type(_, ty) = &method.sig.output {
                collect_idents(ty, &mut returns);
            }
        }
    }
    let requests = closure(&fields, takes);
    let responses = closure(&fields, returns);
    let marked: BTreeSet<String> = responses
        .difference(&requests)
        .filter(|name| fields.get(*name).is_some_and(|(named, _)| *named))
        .cloned()
        .collect();
    for item in &mut file.items {
        if let syn::Item::Mod(module) = item
            && let Some((_, items)) = &mut module.content
        {
            let mut with_names = Vec::with_capacity(items.len());
            for mut item in std::mem::take(items) {
                let mut names = None;
                if let syn::Item::Struct(strukt) = &mut item
                    && marked.contains(&strukt.ident.to_string())
                {
                    strukt.attrs.push(syn::parse_quote!(#[non_exhaustive]));
                    names = Some(field_names_impl(strukt));
                }
                with_names.push(item);
                with_names.extend(names);
            }
            *items = with_names;
        }
    }
    marked.into_iter().collect()
}

/// `impl Struct { pub const FIELD_NAMES … }`: each declared field's JSON name
/// (its `serde(rename)`, else its name), a flattened map left out.
fn field_names_impl(strukt: &syn::ItemStruct) -> syn::Item {
    let names: Vec<String> = strukt
        .fields
        .iter()
        .filter(|field| !serde_args(field).iter().any(|arg| arg == "flatten"))
        .filter_map(|field| {
            let renamed = serde_args(field).iter().find_map(|arg| {
                arg.strip_prefix("rename=")
                    .map(|name| name.trim_matches('"').to_string())
            });
            renamed.or_else(|| {
                field
                    .ident
                    .as_ref()
                    .map(|ident| ident.to_string().trim_start_matches("r#").to_string())
            })
        })
        .collect();
    let ident = &strukt.ident;
    syn::parse_quote! {
        impl #ident {
            /// The JSON names of the fields the spec declares, in this
            /// struct's order (fields not in the spec are kept in `extra`).
            pub const FIELD_NAMES: &'static [&'static str] = &[#(#names),*];
        }
    }
}

/// A field's `#[serde(...)]` arguments, as `rename="x"` or `flatten`
/// (spaces removed).
fn serde_args(field: &syn::Field) -> Vec<String> {
    field
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("serde"))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::List(list) => Some(list.tokens.to_string()),
            _ => None,
        })
        .flat_map(|tokens| {
            tokens
                .split(',')
                .map(|arg| arg.replace(' ', ""))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Every struct in the file's modules: whether its fields are named, and
/// every identifier its field types mention.
fn struct_fields(file: &syn::File) -> BTreeMap<String, (bool, BTreeSet<String>)> {
    let mut structs = BTreeMap::new();
    for item in &file.items {
        let syn::Item::Mod(module) = item else {
            continue;
        };
        for item in module.content.iter().flat_map(|(_, items)| items) {
            if let syn::Item::Struct(item) = item {
                let mut mentions = BTreeSet::new();
                for field in &item.fields {
                    collect_idents(&field.ty, &mut mentions);
                }
                let named = matches!(item.fields, syn::Fields::Named(_));
                structs.insert(item.ident.to_string(), (named, mentions));
            }
        }
    }
    structs
}

fn collect_idents(ty: &syn::Type, into: &mut BTreeSet<String>) {
    struct Idents<'a>(&'a mut BTreeSet<String>);
    impl<'ast> Visit<'ast> for Idents<'_> {
        fn visit_path_segment(&mut self, segment: &'ast syn::PathSegment) {
            self.0.insert(segment.ident.to_string());
            syn::visit::visit_path_segment(self, segment);
        }
    }
    Idents(into).visit_type(ty);
}

/// The structs among `roots` and every struct their fields reach.
fn closure(
    structs: &BTreeMap<String, (bool, BTreeSet<String>)>,
    roots: BTreeSet<String>,
) -> BTreeSet<String> {
    let mut pending: Vec<String> = roots.into_iter().collect();
    let mut seen = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if let Some((_, mentions)) = structs.get(&name)
            && seen.insert(name)
        {
            pending.extend(mentions.iter().cloned());
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_structs_returned_and_not_taken_are_marked() {
        let mut file: syn::File = syn::parse_quote! {
            pub mod types {
                pub struct Request { pub shared: Shared, pub query: Query }
                pub struct Query(String);
                pub struct Shared { pub a: String }
                pub struct Response { pub rows: Vec<Row>, pub shared: Option<Shared> }
                pub struct Row {
                    pub nested: Option<RowNested>,
                    #[serde(rename = "type")]
                    pub type_: String,
                    #[serde(flatten)]
                    pub extra: Map,
                }
                pub struct RowNested { pub b: String }
                pub struct Problem { pub detail: String }
                pub struct Unused { pub c: String }
            }
            impl Client {
                pub async fn submit<'a>(&'a self, body: &'a types::Request)
                    -> Result<ResponseValue<types::Response>, Error<types::Problem>> { todo!() }
            }
        };
        let marked = mark_response_types(&mut file);
        assert_eq!(marked, ["Problem", "Response", "Row", "RowNested"]);
        let text = prettyplease::unparse(&file);
        assert!(
            text.contains("#[non_exhaustive]\n    pub struct Row {"),
            "{text}"
        );
        assert!(
            !text.contains("#[non_exhaustive]\n    pub struct Request"),
            "{text}"
        );
        // Each declared field's JSON name (its rename), the flattened map left out.
        assert!(
            text.contains(
                r#"pub const FIELD_NAMES: &'static [&'static str] = &["nested", "type"];"#
            ),
            "{text}"
        );
        assert!(!text.contains("impl Request"), "{text}");
    }
}
