//! Argument completion (`completion/complete`): languages and frameworks for the prompts, and
//! live ids for the resource templates (the newest orders, deposit references by substring).

use payin_core::Gateway;
use payin_core::engine::{OrderListQuery, ReferenceListQuery};
use rmcp::model::{CompleteRequestParams, Reference};

/// How many live ids a completion offers.
const LIVE_SUGGESTIONS: &str = "10";

const LANGUAGES: [&str; 10] = [
    "python",
    "typescript",
    "javascript",
    "go",
    "rust",
    "java",
    "php",
    "ruby",
    "csharp",
    "kotlin",
];

fn frameworks(language: &str) -> &'static [&'static str] {
    match language.to_ascii_lowercase().as_str() {
        "python" => &["fastapi", "django", "flask"],
        "typescript" | "javascript" | "node" => &["express", "nextjs", "nestjs", "fastify"],
        "go" => &["net/http", "gin", "echo"],
        "rust" => &["axum", "actix-web"],
        "java" | "kotlin" => &["spring-boot", "ktor"],
        "php" => &["laravel", "symfony"],
        "ruby" => &["rails", "sinatra"],
        "csharp" => &["aspnet-core"],
        _ => &[],
    }
}

/// The suggestions for one argument, those starting with what was typed so far first.
pub async fn suggest(gateway: &dyn Gateway, request: &CompleteRequestParams) -> Vec<String> {
    let typed = request.argument.value.as_str();
    let candidates: Vec<String> = match (&request.r#ref, request.argument.name.as_str()) {
        (Reference::Prompt(_), "language") => LANGUAGES.iter().map(|s| s.to_string()).collect(),
        (Reference::Prompt(_), "framework") => {
            let language = request
                .context
                .as_ref()
                .and_then(|c| c.get_argument("language"))
                .map(String::as_str)
                .unwrap_or_default();
            frameworks(language).iter().map(|s| s.to_string()).collect()
        }
        (Reference::Resource(r), "orderId") if r.uri.starts_with("payin://orders/") => {
            let recent = OrderListQuery {
                limit: Some(LIVE_SUGGESTIONS.into()),
                ..Default::default()
            };
            match gateway.list_orders(&recent).await {
                Ok(page) => page.items.into_iter().map(|o| o.order_id).collect(),
                Err(_) => Vec::new(),
            }
        }
        (Reference::Resource(r), "depositReference") if r.uri.starts_with("payin://deposits/references/") => {
            let matching = ReferenceListQuery {
                limit: Some(LIVE_SUGGESTIONS.into()),
                search: (!typed.is_empty()).then(|| typed.to_string()),
                ..Default::default()
            };
            match gateway.list_deposit_references(&matching).await {
                Ok(page) => page.items.into_iter().map(|r| r.deposit_reference).collect(),
                Err(_) => Vec::new(),
            }
        }
        _ => Vec::new(),
    };
    let typed_lower = typed.to_ascii_lowercase();
    let (mut starting, mut containing): (Vec<String>, Vec<String>) = candidates
        .into_iter()
        .filter(|c| c.to_ascii_lowercase().contains(&typed_lower))
        .partition(|c| c.to_ascii_lowercase().starts_with(&typed_lower));
    starting.append(&mut containing);
    starting
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frameworks_follow_the_language() {
        assert!(frameworks("Python").contains(&"fastapi"));
        assert!(frameworks("typescript").contains(&"express"));
        assert!(frameworks("cobol").is_empty());
    }
}
