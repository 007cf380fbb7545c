//! Code with PayIn's own language packages, which the integration prompts show when the
//! merchant's language has one (today Python's `payin`, bindings-python). The code lives in
//! `resources/<language>/` as complete modules, type-checked against the package by its tests
//! (bindings-python/tests/test_types.py), so what an assistant is shown compiles.

const PYTHON_CHECKOUT: &str = include_str!("../resources/python/checkout.py");
const PYTHON_DEPOSIT_WALLET: &str = include_str!("../resources/python/deposit_wallet.py");
const PYTHON_WEBHOOKS: &str = include_str!("../resources/python/webhooks.py");

pub(crate) use crate::package_guides::Guide;

/// A prompt step showing the package for `language` (and `framework`), or `None` when PayIn
/// has no package for that language.
pub(crate) fn package_step(language: &str, framework: Option<&str>, guide: Guide) -> Option<String> {
    if !is_python(language) {
        return None;
    }
    let code = match guide {
        Guide::Checkout => PYTHON_CHECKOUT,
        Guide::DepositWallet => PYTHON_DEPOSIT_WALLET,
        Guide::Webhooks => PYTHON_WEBHOOKS,
    };
    let asynchronous = framework
        .map(|f| f.trim().to_ascii_lowercase())
        .filter(|f| ["fastapi", "starlette", "aiohttp", "sanic", "quart", "litestar"].contains(&f.as_str()))
        .map(|f| {
            format!(
                " With {f}, use `payin.AsyncClient()`: the same namespaces and methods, awaited \
                 (`await client.orders.create(…)`, `async for o in client.orders.list_all(…)`)."
            )
        })
        .unwrap_or_default();
    Some(format!(
        "Use PayIn's Python package `payin` rather than raw HTTP (from the PayIn repository: \
         `pip install ./bindings-python`; CPython 3.9+). It wraps PayIn's Rust client: every REST \
         operation as `client.<namespace>.<method>(snake_case keywords)`, network errors, 429 and 5xx \
         retried with one Idempotency-Key per call (so a retried create never makes a second order), \
         typed results with `decimal.Decimal` amounts and aware datetimes (`to_dict()` gives the REST \
         JSON), typed exceptions (`payin.ValidationError` with `.field`, `payin.ConflictError` with \
         `.existing_order_id`, `payin.NotFoundError`, `payin.ServiceUnavailableError`, \
         `payin.APIConnectionError` …, all `payin.PayInError` with `.code` and `.status_code`), and \
         webhook verification (`payin.Webhook(secret).verify(raw_body, headers)` returns the typed \
         `Event`; `event.order` / `event.deposit`).{asynchronous} Adapt this module:\n\
         ```python\n{code}```"
    ))
}

fn is_python(language: &str) -> bool {
    let language = language.trim().to_ascii_lowercase();
    language == "py" || language.starts_with("python") || ["django", "flask", "fastapi"].contains(&language.as_str())
}
