//! A compact, reviewable outline of the generated public API: every operation's
//! signature; every type with its derives, fields and serde attributes; and
//! every trait a type implements (the `FromStr` impls in full, since they hold
//! the limits a value is checked against). Doc comments and other bodies are
//! left out. It is pinned by an insta snapshot, so a spec change, a lost
//! derive or a changed limit shows up as a small diff of what users can call.

use quote::ToTokens;
use syn::{Attribute, File, ImplItem, Item, Visibility};

/// Renders the outline of a generated client file.
pub fn api_outline(file: &File) -> String {
    let mut methods = Vec::new();
    let mut types = Vec::new();
    for item in &file.items {
        match item {
            Item::Impl(block) if block.trait_.is_none() && is_client(&block.self_ty) => {
                for member in &block.items {
                    if let ImplItem::Fn(method) = member
                        && matches!(method.vis, Visibility::Public(_))
                    {
                        methods.push(signature_item(&method.sig));
                    }
                }
            }
            Item::Mod(module) if module.ident == "types" => {
                for inner in module.content.iter().flat_map(|(_, items)| items) {
                    if let Some(outlined) = type_outline(inner).or_else(|| impl_outline(inner)) {
                        types.push(outlined);
                    }
                }
            }
            _ => {}
        }
    }
    let mut text = String::from("// Client operations\n");
    text.push_str(&render_signatures(methods));
    text.push_str("\n// Types (module `types`)\n");
    text.push_str(&render(types));
    text
}

fn is_client(ty: &syn::Type) -> bool {
    ty.to_token_stream().to_string() == "Client"
}

/// A method signature as a bodiless trait-style item, which prettyplease prints
/// on one line per parameter group.
fn signature_item(sig: &syn::Signature) -> Item {
    syn::parse_quote! {
        extern "Rust" { pub #sig; }
    }
}

/// A public struct, enum or alias with its derives and serde attributes, and
/// without docs.
fn type_outline(item: &Item) -> Option<Item> {
    let mut item = item.clone();
    match &mut item {
        Item::Struct(s) if matches!(s.vis, Visibility::Public(_)) => {
            s.attrs.retain(is_kept_attribute);
            for field in s.fields.iter_mut() {
                field.attrs.retain(is_kept_attribute);
            }
        }
        Item::Enum(e) if matches!(e.vis, Visibility::Public(_)) => {
            e.attrs.retain(is_kept_attribute);
            for variant in e.variants.iter_mut() {
                variant.attrs.retain(is_kept_attribute);
            }
        }
        Item::Type(t) if matches!(t.vis, Visibility::Public(_)) => {
            t.attrs.retain(is_kept_attribute);
        }
        _ => return None,
    }
    Some(item)
}

/// A trait impl: its header only, except `FromStr`, shown whole because its
/// body holds the checks (lengths, patterns) a value must pass.
fn impl_outline(item: &Item) -> Option<Item> {
    let Item::Impl(block) = item else {
        return None;
    };
    let trait_path = block.trait_.as_ref()?.0.clone();
    let mut block = block.clone();
    block.attrs.retain(is_kept_attribute);
    let is_from_str = trait_path
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "FromStr");
    if is_from_str {
        for member in block.items.iter_mut() {
            if let ImplItem::Fn(method) = member {
                method.attrs.retain(is_kept_attribute);
            }
        }
    } else {
        block.items.clear();
    }
    Some(Item::Impl(block))
}

fn is_kept_attribute(attribute: &Attribute) -> bool {
    ["serde", "derive", "cfg_attr", "non_exhaustive"]
        .iter()
        .any(|kept| attribute.path().is_ident(kept))
}

fn render(items: Vec<Item>) -> String {
    let mut file: File = syn::parse_quote! {};
    file.items = items;
    prettyplease::unparse(&file)
}

/// Renders signature items without the `extern` blocks that carry them.
fn render_signatures(items: Vec<Item>) -> String {
    render(items)
        .lines()
        .filter(|line| *line != "extern \"Rust\" {" && *line != "}")
        .map(|line| format!("{}\n", line.strip_prefix("    ").unwrap_or(line)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_types_and_their_trait_impls_are_outlined() {
        let file: File = syn::parse_quote! {
            pub mod types {
                /// Shown.
                #[derive(Clone, Debug)]
                pub struct Shown { pub a: i64 }
                struct Hidden { a: i64 }
                pub enum ShownEnum { A }
                enum HiddenEnum { A }
                pub type ShownAlias = i64;
                type HiddenAlias = i64;
                impl ::std::str::FromStr for Shown {
                    type Err = String;
                    fn from_str(value: &str) -> Result<Self, String> {
                        if value.len() > 3usize { return Err("longer than 3".into()); }
                        Ok(Shown { a: 0 })
                    }
                }
                impl ::std::fmt::Display for Shown {
                    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result { Ok(()) }
                }
            }
        };
        let outline = api_outline(&file);
        for shown in [
            "#[derive(Clone, Debug)]",
            "pub struct Shown",
            "pub enum ShownEnum",
            "pub type ShownAlias",
            "longer than 3",
            "impl ::std::fmt::Display for Shown {}",
        ] {
            assert!(outline.contains(shown), "{shown} missing in\n{outline}");
        }
        for hidden in ["Hidden", "/// Shown.", "Ok(())"] {
            assert!(!outline.contains(hidden), "{hidden} shown in\n{outline}");
        }
    }
}
