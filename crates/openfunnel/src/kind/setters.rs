//! One setter convention for every request builder, as in aws-sdk-rust: `x(v)`
//! sets a value (or, for a list, appends one item) and `set_x(Option<v>)`
//! sets or clears it from an `Option`, so optional values need no `if let`.

/// `name(v)` and `set_name(Option<v>)` for an `Option<T>` field; a `String`
/// field's setter takes `impl Into<String>`.
macro_rules! optional_setters {
    ($($(#[doc = $doc:literal])* $field:ident / $set:ident: $ty:ident;)*) => {$(
        $(#[doc = $doc])*
        pub fn $field(mut self, value: $crate::kind::setters::optional_setters!(@param $ty)) -> Self {
            self.$field = Some(value.into());
            self
        }

        #[doc = concat!("Sets or clears [`Self::", stringify!($field), "`].")]
        pub fn $set(mut self, value: Option<$ty>) -> Self {
            self.$field = value;
            self
        }
    )*};
    (@param String) => { impl Into<String> };
    (@param $ty:ident) => { $ty };
}

/// `item(v)` (append one) and `set_items(Option<Vec<v>>)` for a `Vec<String>`
/// field.
macro_rules! list_setters {
    ($($(#[doc = $doc:literal])* $item:ident / $set:ident: $field:ident;)*) => {$(
        $(#[doc = $doc])*
        pub fn $item(mut self, value: impl Into<String>) -> Self {
            self.$field.push(value.into());
            self
        }

        #[doc = concat!("Replaces (or, with `None`, clears) every [`Self::", stringify!($item), "`].")]
        pub fn $set(mut self, values: Option<Vec<String>>) -> Self {
            self.$field = values.unwrap_or_default();
            self
        }
    )*};
}

pub(crate) use {list_setters, optional_setters};
