//! The MCP server as AI assistants reach it, through clients nobody in this project wrote: the
//! official Python SDK (`mcp` 2.x) over stdio and over streamable HTTP, and the TypeScript SDK
//! over stdio against a remote deployment. Each program (tests/mcp/) starts its own `payin dev`
//! sandbox on a real local chain, lists tools / resources / prompts, runs an agent's session
//! (create an order, pay it on the chain, see it completed, find the webhook delivery, verify
//! its signature) and sends bad arguments to every tool family.
//!
//! Plus the HTTP endpoint's door: `/mcp` takes the same API key as the REST API.

use std::time::Duration;

mod support;

use support::{anvil_installed, installed, run_test_program};

#[test]
fn python_sdk_over_stdio_runs_an_agent_session_against_the_embedded_engine() {
    if !anvil_installed() || !installed("python3", &["-c", "import mcp"], "the Python MCP SDK") {
        return;
    }
    run_test_program("python3", "tests/mcp/agent.py", &["--transport", "stdio"]);
}

#[test]
fn python_sdk_over_streamable_http_runs_an_agent_session_against_payin_serve() {
    if !anvil_installed() || !installed("python3", &["-c", "import mcp"], "the Python MCP SDK") {
        return;
    }
    run_test_program("python3", "tests/mcp/agent.py", &["--transport", "http"]);
}

#[test]
fn typescript_sdk_over_stdio_drives_a_remote_deployment() {
    if !anvil_installed()
        || !installed(
            "node",
            &["-e", "require.resolve('@modelcontextprotocol/sdk/package.json')"],
            "the MCP TypeScript SDK",
        )
    {
        return;
    }
    run_test_program("node", "tests/mcp/client.mjs", &[]);
}

#[tokio::test]
async fn the_http_endpoint_takes_the_rest_api_key_and_refuses_everyone_else() {
    if !anvil_installed() {
        return;
    }
    let anvil = payin_core::dev::devnet::find_anvil(None).expect("found just now");
    let sb = support::DevServer::start(anvil);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let initialize = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}
    });
    let post = |key: Option<&str>| {
        let mut req = http
            .post(format!("{}/mcp", sb.api))
            .header("Accept", "application/json, text/event-stream")
            .json(&initialize);
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        req.send()
    };

    let anonymous = post(None).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: serde_json::Value = anonymous.json().await.unwrap();
    assert_eq!(body["code"], "UNAUTHORIZED", "{body}");

    let wrong = post(Some("pk_not_a_key")).await.unwrap();
    assert_eq!(wrong.status(), 401);

    let ok = post(Some(&sb.key)).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(
        ok.headers().get("mcp-session-id").is_none(),
        "stateless: no session to keep"
    );
    let text = ok.text().await.unwrap();
    assert!(text.contains("\"serverInfo\"") && text.contains("payin"), "{text}");

    // Stateless: a tool call stands on its own (any replica behind a load balancer can take it).
    let call = http
        .post(format!("{}/mcp", sb.api))
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", "2025-06-18")
        .bearer_auth(&sb.key)
        .json(&serde_json::json!({
            "jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "get_order", "arguments": {"orderId": "ord_nothere"}}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(call.status(), 200);
    let answer: serde_json::Value = call.json().await.unwrap();
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    let envelope: serde_json::Value =
        serde_json::from_str(answer["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(envelope["code"], "ORDER_NOT_FOUND", "{envelope}");
}
