//! [`ToolError`]: a failed tool call, as an `isError` result whose text is the REST error
//! envelope as JSON (`error`, `code`, `message`, `statusCode`, `field`, extras such as
//! `existingOrderId`), so an assistant can correct itself exactly as a REST client would.
//!
//! The envelope goes in the text content only, not in `structuredContent`: every tool declares
//! the output schema of its success, and some clients (the TypeScript SDK 1.x) check an error's
//! structured content against it too and throw instead of showing the error.

use payin_http::ApiError;
use rmcp::handler::server::tool::IntoCallToolResult;
use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock};

#[derive(Debug, Clone)]
pub struct ToolError(pub ApiError);

impl From<payin_core::Error> for ToolError {
    fn from(e: payin_core::Error) -> Self {
        ToolError(ApiError::from(e))
    }
}

/// What a [`payin_core::Gateway`] call fails with, in-process or remote.
impl From<payin_types::Error> for ToolError {
    fn from(e: payin_types::Error) -> Self {
        ToolError(ApiError::from(e))
    }
}

impl From<ApiError> for ToolError {
    fn from(e: ApiError) -> Self {
        ToolError(e)
    }
}

impl ToolError {
    /// A `VALIDATION_ERROR` about `field`.
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        ToolError(ApiError::validation(field, message))
    }
}

impl IntoCallToolResult for ToolError {
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        let envelope = serde_json::to_string(&self.0).expect("the error envelope serializes");
        Ok(CallToolResult::error(vec![ContentBlock::text(envelope)]).into())
    }
}
