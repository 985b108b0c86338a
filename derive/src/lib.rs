//! `#[derive(FromJson)]` and `#[derive(ToJson)]`: a compact JSON reader and writer for a type,
//! through `tend-json` (see `derive_to_json` for the writer's attributes).
//!
//! The reader follows the type's `#[serde(…)]` attributes, so the format stays serde's: what the
//! derived `Serialize` writes, `FromJson` reads. Supported: `rename_all` (`snake_case`,
//! `SCREAMING_SNAKE_CASE`, `lowercase`, `kebab-case`), `rename`, `tag` (internally tagged enums),
//! `default` (container and field, with or without a function), `deny_unknown_fields`,
//! `transparent`, `skip`/`skip_deserializing`, `with` (the
//! module's `from_json` takes the reader). Externally tagged enums are read too (a unit variant by
//! its name, others as `{"name": content}`). Anything else that changes reading is refused at
//! compile time rather than read differently.
//!
//! The generated code calls `::tend_json::read` / `::tend_json::write`: a crate that derives
//! depends on `tend-json`.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as Tokens};
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Error, Fields, LitStr, Type, parse_macro_input};

/// Derives `tend_json::read::FromJson` from the type's serde attributes.
#[proc_macro_derive(FromJson, attributes(serde))]
pub fn derive_from_json(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

#[derive(Default)]
#[allow(clippy::struct_excessive_bools)] // one flag per serde attribute
struct Container {
    rename_all: Option<String>,
    tag: Option<String>,
    default: bool,
    deny_unknown: bool,
    transparent: bool,
    untagged: bool,
}

/// What a field absent from the object takes.
#[derive(Default)]
enum Absent {
    /// Nothing: it is required (an `Option` without `with` is `None`, as in serde).
    #[default]
    Required,
    /// `Default::default()`.
    Default,
    /// The value of this function.
    Func(syn::Path),
}

#[derive(Default)]
struct Field {
    rename: Option<String>,
    /// What a missing field takes.
    default: Absent,
    skip: bool,
    /// A function taking the reader.
    reader: Option<syn::Path>,
    /// A function taking the value and the writer (`with`: the module's `to_json`;
    /// `serialize_with = "m::f"`: `m::f_to_json`).
    writer: Option<syn::Path>,
    /// `skip_serializing_if`.
    skip_if: Option<syn::Path>,
    /// `skip_serializing`.
    skip_ser: bool,
    flatten: bool,
}

fn lit_path(lit: &LitStr) -> syn::Result<syn::Path> {
    lit.parse()
}

fn container_attrs(attrs: &[Attribute]) -> syn::Result<Container> {
    let mut c = Container::default();
    for a in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        a.parse_nested_meta(|m| {
            if m.path.is_ident("rename_all") {
                c.rename_all = Some(m.value()?.parse::<LitStr>()?.value());
            } else if m.path.is_ident("tag") {
                c.tag = Some(m.value()?.parse::<LitStr>()?.value());
            } else if m.path.is_ident("default") {
                if m.input.peek(syn::Token![=]) {
                    return Err(m.error("FromJson: container `default = …` is not supported"));
                }
                c.default = true;
            } else if m.path.is_ident("deny_unknown_fields") {
                c.deny_unknown = true;
            } else if m.path.is_ident("transparent") {
                c.transparent = true;
            } else if m.path.is_ident("untagged") {
                c.untagged = true;
            } else if m.path.is_ident("bound") || m.path.is_ident("expecting") {
                let _ = m.value()?.parse::<LitStr>()?;
            } else {
                return Err(m.error("FromJson does not support this serde attribute"));
            }
            Ok(())
        })?;
    }
    Ok(c)
}

fn field_attrs(attrs: &[Attribute]) -> syn::Result<Field> {
    let mut f = Field::default();
    for a in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        a.parse_nested_meta(|m| {
            if m.path.is_ident("rename") {
                f.rename = Some(m.value()?.parse::<LitStr>()?.value());
            } else if m.path.is_ident("default") {
                f.default = if m.input.peek(syn::Token![=]) {
                    Absent::Func(lit_path(&m.value()?.parse::<LitStr>()?)?)
                } else {
                    Absent::Default
                };
            } else if m.path.is_ident("skip") || m.path.is_ident("skip_deserializing") {
                f.skip = true;
            } else if m.path.is_ident("with") {
                let p = lit_path(&m.value()?.parse::<LitStr>()?)?;
                let mut reader = p.clone();
                reader
                    .segments
                    .push(syn::PathSegment::from(format_ident!("from_json")));
                f.reader = Some(reader);
                let mut writer = p;
                writer
                    .segments
                    .push(syn::PathSegment::from(format_ident!("to_json")));
                f.writer = Some(writer);
            } else if m.path.is_ident("deserialize_with") {
                return Err(m.error("FromJson: use `with` (a module with `from_json`)"));
            } else if m.path.is_ident("serialize_with") {
                let mut p = lit_path(&m.value()?.parse::<LitStr>()?)?;
                let last = p.segments.last_mut().expect("a path has a segment");
                last.ident = format_ident!("{}_to_json", last.ident);
                f.writer = Some(p);
            } else if m.path.is_ident("skip_serializing_if") {
                f.skip_if = Some(lit_path(&m.value()?.parse::<LitStr>()?)?);
            } else if m.path.is_ident("skip_serializing") {
                f.skip_ser = true;
            } else if m.path.is_ident("flatten") {
                f.flatten = true;
            } else {
                return Err(m.error("FromJson does not support this serde attribute"));
            }
            Ok(())
        })?;
    }
    Ok(f)
}

/// serde's `rename_all` of a Rust name.
fn rename(name: &str, rule: Option<&str>, span: Span) -> syn::Result<String> {
    let snake = || {
        let mut s = String::new();
        for (i, ch) in name.char_indices() {
            if ch.is_uppercase() && i > 0 {
                s.push('_');
            }
            s.push(ch.to_ascii_lowercase());
        }
        s
    };
    Ok(match rule {
        None => name.to_owned(),
        // Fields are snake_case already; variants are CamelCase.
        Some("snake_case") => snake(),
        Some("SCREAMING_SNAKE_CASE") => snake().to_ascii_uppercase(),
        Some("lowercase") => name.to_ascii_lowercase(),
        Some("kebab-case") => snake().replace('_', "-"),
        Some(other) => {
            return Err(Error::new(
                span,
                format!("FromJson: rename_all = {other:?} is not supported"),
            ));
        }
    })
}

/// Whether a type is written `Option<…>` (serde reads a missing one as `None`).
fn is_option(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == "Option"))
}

fn read_value(ty: &Type, f: &Field) -> Tokens {
    if let Some(p) = &f.reader {
        quote!(#p(__r)?)
    } else {
        quote!(<#ty as ::tend_json::read::FromJson>::read(__r)?)
    }
}

/// Reads an object's fields into `ctor { … }` (named fields). Each field waits in a
/// `from_json::Slot` whose methods are shared by every field of its type; the key is found by
/// `from_json::field_index`, so a type's own code is one call per field.
fn named_fields(
    ctor: &Tokens,
    fields: &syn::FieldsNamed,
    c: &Container,
    field_rule: Option<&str>,
) -> syn::Result<Tokens> {
    let fj = quote!(::tend_json::read);
    let mut decls = Vec::new();
    let mut arms = Vec::new();
    let mut inits = Vec::new();
    let mut names = Vec::new();
    for field in &fields.named {
        let ident = field.ident.as_ref().expect("named field");
        let fa = field_attrs(&field.attrs)?;
        let ty = &field.ty;
        if fa.flatten {
            return Err(Error::new(
                ident.span(),
                "FromJson: flatten is not supported",
            ));
        }
        if fa.skip {
            inits.push(quote!(#ident: ::core::default::Default::default()));
            continue;
        }
        let name = match &fa.rename {
            Some(n) => n.clone(),
            None => rename(&ident.to_string(), field_rule, ident.span())?,
        };
        let i = names.len();
        let var = format_ident!("__f{}", i);
        decls.push(quote!(let mut #var: #fj::Slot<#ty> = #fj::Slot::default();));
        let read = if let Some(p) = &fa.reader {
            quote!(#var.read_with(__r, __FIELDS[#i], #p))
        } else {
            quote!(#var.read(__r, __FIELDS[#i]))
        };
        arms.push(quote!(::core::option::Option::Some(#i) => #read,));
        let value = match (&fa.default, c.default) {
            (Absent::Func(func), _) => quote!(#var.or_else(#func)),
            (Absent::Default, _) => quote!(#var.or_default()),
            (Absent::Required, true) => quote!(#var.or(__default.#ident)),
            (Absent::Required, false) if fa.reader.is_none() && is_option(ty) => {
                quote!(#var.or_default())
            }
            (Absent::Required, false) => quote!(#var.take(__r, __FIELDS[#i])?),
        };
        inits.push(quote!(#ident: #value));
        names.push(name);
    }
    let other = if c.deny_unknown {
        quote!(::core::result::Result::Err(
            __r.unknown_field(__key, __FIELDS)
        ))
    } else {
        quote!(__r.skip())
    };
    let default = if c.default {
        quote!(let __default: Self = ::core::default::Default::default();)
    } else {
        quote!()
    };
    Ok(quote! {{
        const __FIELDS: &[&str] = &[#(#names),*];
        #(#decls)*
        __r.object(&mut |__r, __key| {
            match #fj::field_index(__key, __FIELDS) {
                #(#arms)*
                _ => #other,
            }
        })?;
        #default
        ::core::result::Result::Ok(#ctor { #(#inits),* })
    }})
}

/// Reads a tuple's fields from an array.
fn tuple_fields(ctor: &Tokens, fields: &syn::FieldsUnnamed) -> Tokens {
    let n = fields.unnamed.len();
    let vars: Vec<_> = (0..n).map(|i| format_ident!("__f{}", i)).collect();
    let tys: Vec<_> = fields.unnamed.iter().map(|f| &f.ty).collect();
    let idx: Vec<_> = (0..n).collect();
    quote! {{
        #(let mut #vars: ::core::option::Option<#tys> = ::core::option::Option::None;)*
        let mut __n = 0usize;
        __r.array(&mut |__r| {
            match __n {
                #(#idx => #vars = ::core::option::Option::Some(
                    <#tys as ::tend_json::read::FromJson>::read(__r)?),)*
                _ => return ::core::result::Result::Err(__r.error(
                    ::std::format!("invalid length, expected a tuple of {}", #n))),
            }
            __n += 1;
            ::core::result::Result::Ok(())
        })?;
        ::core::result::Result::Ok(#ctor(#(match #vars {
            ::core::option::Option::Some(__v) => __v,
            ::core::option::Option::None => return ::core::result::Result::Err(__r.error(
                ::std::format!("invalid length {}, expected a tuple of {}", __n, #n))),
        }),*))
    }}
}

fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    let c = container_attrs(&input.attrs)?;
    if c.untagged {
        return Err(Error::new(
            input.ident.span(),
            "FromJson: untagged enums are not supported",
        ));
    }
    let name = &input.ident;
    let (impl_g, ty_g, where_g) = input.generics.split_for_impl();
    let body = match &input.data {
        Data::Struct(s) => {
            let ctor = quote!(Self);
            match &s.fields {
                Fields::Named(f) if c.transparent => {
                    let field = f.named.first().expect("transparent: one field");
                    let ident = field.ident.as_ref().expect("named");
                    let read = read_value(&field.ty, &field_attrs(&field.attrs)?);
                    quote!(::core::result::Result::Ok(Self { #ident: #read }))
                }
                Fields::Named(f) => named_fields(&ctor, f, &c, None)?,
                Fields::Unnamed(f) if f.unnamed.len() == 1 => {
                    let field = f.unnamed.first().expect("one field");
                    let read = read_value(&field.ty, &field_attrs(&field.attrs)?);
                    quote!(::core::result::Result::Ok(Self(#read)))
                }
                Fields::Unnamed(f) => tuple_fields(&ctor, f),
                Fields::Unit => quote!({
                    __r.null()?;
                    ::core::result::Result::Ok(Self)
                }),
            }
        }
        Data::Enum(e) => expand_enum(e, &c)?,
        Data::Union(u) => {
            return Err(Error::new(
                u.union_token.span(),
                "FromJson: unions are not supported",
            ));
        }
    };
    Ok(quote! {
        impl #impl_g ::tend_json::read::FromJson for #name #ty_g #where_g {
            fn read(__r: &mut ::tend_json::read::Reader<'_>)
                -> ::core::result::Result<Self, ::tend_json::read::Error> {
                #body
            }
        }
    })
}

/// One variant: the Rust variant, its JSON name, and the arm that reads its content.
type Arm<'v> = (&'v syn::Variant, String, Tokens);

fn expand_enum(e: &syn::DataEnum, c: &Container) -> syn::Result<Tokens> {
    let rule = c.rename_all.as_deref();
    let mut arms: Vec<Arm<'_>> = Vec::new();
    for v in &e.variants {
        let va = field_attrs(&v.attrs)?;
        if va.skip {
            continue;
        }
        let name = match &va.rename {
            Some(n) => n.clone(),
            None => rename(&v.ident.to_string(), rule, v.ident.span())?,
        };
        let body = variant_body(v, c)?;
        arms.push((v, name, body));
    }
    let names: Vec<&String> = arms.iter().map(|(_, n, _)| n).collect();
    let variants = quote!(const __VARIANTS: &[&str] = &[#(#names),*];);
    let unknown =
        quote!(__other => ::core::result::Result::Err(__r.unknown_variant(__other, __VARIANTS)),);
    if let Some(tag) = &c.tag {
        let arms = arms.iter().map(|(_, n, a)| quote!(#n => #a,));
        return Ok(quote! {{
            #variants
            let __tag = __r.tag(#tag)?;
            match __tag.as_ref() {
                #(#arms)*
                #unknown
            }
        }});
    }
    // Externally tagged: a unit variant is its name; one with content is {"name": content}.
    let unit_arms = arms
        .iter()
        .filter(|(v, _, _)| matches!(v.fields, Fields::Unit))
        .map(|(v, n, _)| {
            let ident = &v.ident;
            quote!(#n => ::core::result::Result::Ok(Self::#ident),)
        });
    let by_name = quote! {
        let __name = __r.string()?;
        match __name.as_ref() {
            #(#unit_arms)*
            #unknown
        }
    };
    if arms
        .iter()
        .all(|(v, _, _)| matches!(v.fields, Fields::Unit))
    {
        return Ok(quote! {{ #variants #by_name }});
    }
    let obj_arms = arms.iter().map(|(v, n, a)| {
        if matches!(v.fields, Fields::Unit) {
            let ident = &v.ident;
            quote!(#n => { __r.null()?; ::core::result::Result::Ok(Self::#ident) })
        } else {
            quote!(#n => #a,)
        }
    });
    Ok(quote! {{
        #variants
        if !__r.peek_object()? {
            return { #by_name };
        }
        let mut __out = ::core::option::Option::None;
        __r.object(&mut |__r, __key| {
            if __out.is_some() {
                return ::core::result::Result::Err(__r.error("expected an object with one key"));
            }
            let __v: ::core::result::Result<Self, ::tend_json::read::Error> = match __key {
                #(#obj_arms)*
                #unknown
            };
            __out = ::core::option::Option::Some(__v?);
            ::core::result::Result::Ok(())
        })?;
        __out.ok_or_else(|| __r.error("expected an object with one key"))
    }})
}

/// The code that reads one variant's content.
fn variant_body(v: &syn::Variant, c: &Container) -> syn::Result<Tokens> {
    let ident = &v.ident;
    let ctor = quote!(Self::#ident);
    Ok(match (&v.fields, &c.tag) {
        (Fields::Unit, None) => quote!(::core::result::Result::Ok(#ctor)),
        (Fields::Unit, Some(_)) => {
            let other = if c.deny_unknown {
                quote!(::core::result::Result::Err(__r.unknown_field(__k, &[])))
            } else {
                quote!(__r.skip())
            };
            quote!({ __r.object(&mut |__r, __k| #other)?; ::core::result::Result::Ok(#ctor) })
        }
        (Fields::Named(f), _) => {
            let vc = Container {
                deny_unknown: c.deny_unknown,
                ..Container::default()
            };
            named_fields(&ctor, f, &vc, None)?
        }
        (Fields::Unnamed(f), _) if f.unnamed.len() == 1 => {
            let field = f.unnamed.first().expect("one field");
            let read = read_value(&field.ty, &field_attrs(&field.attrs)?);
            quote!(::core::result::Result::Ok(#ctor(#read)))
        }
        (Fields::Unnamed(f), None) => tuple_fields(&ctor, f),
        (Fields::Unnamed(f), Some(_)) => {
            return Err(Error::new(
                f.span(),
                "FromJson: a tuple variant cannot be internally tagged",
            ));
        }
    })
}

/// Derives `tend_json::write::ToJson` (and `ToJsonMembers` for structs with named fields and
/// internally tagged enums) from the type's serde attributes: the bytes `serde_json` writes for
/// the derived `Serialize`. Supported: `rename_all`, `rename`, `tag`, `untagged`, `transparent`,
/// `skip`/`skip_serializing`, `skip_serializing_if`, `with` (the module's `to_json`),
/// `serialize_with = "m::f"` (calls `m::f_to_json`), `flatten` (a `ToJsonMembers` field).
#[proc_macro_derive(ToJson, attributes(serde))]
pub fn derive_to_json(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand_to_json(&input)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

/// Writes one value (`expr` is a reference) to the writer `w`.
fn write_value(expr: &Tokens, f: &Field) -> Tokens {
    let tj = quote!(::tend_json::write);
    if let Some(p) = &f.writer {
        quote!(#p(#expr, __w))
    } else {
        quote!(#tj::ToJson::write(#expr, __w))
    }
}

/// Writes named fields (each `(field, access)`, `access` a reference expression) into the open
/// object `__o`.
fn write_members(
    fields: &[(&syn::Field, Tokens)],
    field_rule: Option<&str>,
) -> syn::Result<Tokens> {
    let tj = quote!(::tend_json::write);
    let mut out = Vec::new();
    for (field, access) in fields {
        let fa = field_attrs(&field.attrs)?;
        if fa.skip || fa.skip_ser {
            continue;
        }
        let ident = field.ident.as_ref().expect("named field");
        let one = if fa.flatten {
            quote!(#tj::ToJsonMembers::write_members(#access, __o);)
        } else {
            let name = match &fa.rename {
                Some(n) => n.clone(),
                None => rename(&ident.to_string(), field_rule, ident.span())?,
            };
            if let Some(p) = &fa.writer {
                quote!(#p(#access, __o.key(#name));)
            } else {
                quote!(__o.field(#name, #access);)
            }
        };
        out.push(match &fa.skip_if {
            Some(p) => quote!(if !#p(#access) { #one }),
            None => one,
        });
    }
    Ok(quote!(#(#out)*))
}

/// Writes a tuple's fields (`exprs`, references) as an array.
fn write_tuple(fields: &syn::FieldsUnnamed, exprs: &[Tokens]) -> syn::Result<Tokens> {
    let mut items = Vec::new();
    for (i, (field, expr)) in fields.unnamed.iter().zip(exprs).enumerate() {
        let write = write_value(expr, &field_attrs(&field.attrs)?);
        if i > 0 {
            items.push(quote!(__w.raw(",");));
        }
        items.push(quote!(#write;));
    }
    Ok(quote!({ __w.raw("["); #(#items)* __w.raw("]"); }))
}

fn expand_to_json(input: &DeriveInput) -> syn::Result<Tokens> {
    let tj = quote!(::tend_json::write);
    let c = container_attrs(&input.attrs)?;
    let name = &input.ident;
    // Every type parameter is written, so it must be ToJson (serde's default bound).
    let mut generics = input.generics.clone();
    for p in generics.type_params_mut() {
        p.bounds.push(syn::parse_quote!(#tj::ToJson));
    }
    let (impl_g, ty_g, where_g) = generics.split_for_impl();
    let mut members_impl = None;
    let body = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(f) if c.transparent => {
                let field = f
                    .named
                    .iter()
                    .find(|x| field_attrs(&x.attrs).is_ok_and(|a| !a.skip))
                    .expect("transparent: one field");
                let ident = field.ident.as_ref().expect("named");
                write_value(&quote!(&self.#ident), &field_attrs(&field.attrs)?)
            }
            Fields::Named(f) => {
                let fields: Vec<_> = f
                    .named
                    .iter()
                    .map(|x| {
                        let ident = x.ident.as_ref().expect("named");
                        (x, quote!(&self.#ident))
                    })
                    .collect();
                let members = write_members(&fields, None)?;
                members_impl = Some(quote! {
                    impl #impl_g #tj::ToJsonMembers for #name #ty_g #where_g {
                        fn write_members(&self, __o: &mut #tj::Object<'_>) {
                            #members
                        }
                    }
                });
                quote! {
                    let mut __o = __w.object();
                    #tj::ToJsonMembers::write_members(self, &mut __o);
                    __o.end();
                }
            }
            Fields::Unnamed(f) if f.unnamed.len() == 1 => {
                let field = f.unnamed.first().expect("one field");
                write_value(&quote!(&self.0), &field_attrs(&field.attrs)?)
            }
            Fields::Unnamed(f) => {
                let exprs: Vec<Tokens> = (0..f.unnamed.len())
                    .map(|i| {
                        let i = syn::Index::from(i);
                        quote!(&self.#i)
                    })
                    .collect();
                write_tuple(f, &exprs)?
            }
            Fields::Unit => quote!(__w.null();),
        },
        Data::Enum(e) => {
            let (body, members) = enum_to_json(e, &c)?;
            if let Some(members) = members {
                members_impl = Some(quote! {
                    impl #impl_g #tj::ToJsonMembers for #name #ty_g #where_g {
                        #[allow(unused_variables)]
                        fn write_members(&self, __o: &mut #tj::Object<'_>) {
                            #members
                        }
                    }
                });
            }
            body
        }
        Data::Union(u) => {
            return Err(Error::new(
                u.union_token.span(),
                "ToJson: unions are not supported",
            ));
        }
    };
    Ok(quote! {
        impl #impl_g #tj::ToJson for #name #ty_g #where_g {
            #[allow(unused_variables)]
            fn write(&self, __w: &mut #tj::Writer) {
                #body
            }
        }
        #members_impl
    })
}

/// The pattern binding a variant's fields (`__f0`, … for tuples; the names for named fields).
fn variant_pattern(v: &syn::Variant) -> (Tokens, Vec<Tokens>) {
    let ident = &v.ident;
    match &v.fields {
        Fields::Unit => (quote!(Self::#ident), Vec::new()),
        Fields::Unnamed(f) => {
            let vars: Vec<_> = (0..f.unnamed.len())
                .map(|i| format_ident!("__f{}", i))
                .collect();
            let exprs = vars.iter().map(|v| quote!(#v)).collect();
            (quote!(Self::#ident(#(#vars),*)), exprs)
        }
        Fields::Named(f) => {
            let names: Vec<_> = f.named.iter().map(|x| x.ident.clone()).collect();
            let exprs = names.iter().map(|n| quote!(#n)).collect();
            (quote!(Self::#ident { #(#names),* }), exprs)
        }
    }
}

/// An enum's `write` body, and its `write_members` body when internally tagged.
fn enum_to_json(e: &syn::DataEnum, c: &Container) -> syn::Result<(Tokens, Option<Tokens>)> {
    let tj = quote!(::tend_json::write);
    let rule = c.rename_all.as_deref();
    let mut arms = Vec::new();
    let mut member_arms = Vec::new();
    for v in &e.variants {
        let va = field_attrs(&v.attrs)?;
        let (pat, exprs) = variant_pattern(v);
        if va.skip || va.skip_ser {
            arms.push(quote!(#pat => {}));
            member_arms.push(quote!(#pat => {}));
            continue;
        }
        let vname = match &va.rename {
            Some(n) => n.clone(),
            None => rename(&v.ident.to_string(), rule, v.ident.span())?,
        };
        let named = |f: &syn::FieldsNamed| -> syn::Result<Tokens> {
            let fields: Vec<_> = f
                .named
                .iter()
                .zip(&exprs)
                .map(|(x, e)| (x, e.clone()))
                .collect();
            write_members(&fields, None)
        };
        if let Some(tag) = &c.tag {
            let members = match &v.fields {
                Fields::Unit => quote!(__o.str(#tag, #vname);),
                Fields::Named(f) => {
                    let m = named(f)?;
                    quote!(__o.str(#tag, #vname); #m)
                }
                Fields::Unnamed(f) if f.unnamed.len() == 1 => {
                    let x = &exprs[0];
                    quote!(__o.str(#tag, #vname); #tj::ToJsonMembers::write_members(#x, __o);)
                }
                Fields::Unnamed(f) => {
                    return Err(Error::new(
                        f.span(),
                        "ToJson: a tuple variant cannot be internally tagged",
                    ));
                }
            };
            member_arms.push(quote!(#pat => { #members }));
            continue;
        }
        let content = match &v.fields {
            Fields::Unit => None,
            Fields::Named(f) => {
                let m = named(f)?;
                Some(quote!({ let mut __o = __w.object(); { let __o = &mut __o; #m } __o.end(); }))
            }
            Fields::Unnamed(f) if f.unnamed.len() == 1 => {
                let fa = field_attrs(&f.unnamed[0].attrs)?;
                let w = write_value(&exprs[0], &fa);
                Some(quote!(#w;))
            }
            Fields::Unnamed(f) => Some(write_tuple(f, &exprs)?),
        };
        let arm = match (c.untagged, content) {
            (true, None) => quote!(__w.null();),
            (true, Some(content)) => content,
            (false, None) => quote!(__w.string(#vname);),
            (false, Some(content)) => quote! {
                let mut __outer = __w.object();
                {
                    let __w = __outer.key(#vname);
                    #content
                }
                __outer.end();
            },
        };
        arms.push(quote!(#pat => { #arm }));
    }
    if c.tag.is_some() {
        let body = quote! {
            let mut __o = __w.object();
            #tj::ToJsonMembers::write_members(self, &mut __o);
            __o.end();
        };
        let members = quote!(match self { #(#member_arms)* });
        return Ok((body, Some(members)));
    }
    Ok((quote!(match self { #(#arms)* }), None))
}
