"""Types of ``payin._native``, the Rust half of the package (PyO3). Not a public API: use
``payin.Client``, ``payin.AsyncClient`` and ``payin.Webhook``."""

from typing import Awaitable, final

__all__ = ["Client", "OPERATIONS", "Webhook", "__version__", "verify_signature"]
__version__: str
OPERATIONS: list[str]

@final
class Client:
    def __new__(
        cls,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        user_agent: str | None = None,
    ) -> Client: ...
    @property
    def base_url(self) -> str: ...
    def call(
        self,
        op: str,
        args: str,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> str: ...
    def call_async(
        self,
        op: str,
        args: str,
        idempotency_key: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Awaitable[str]: ...

@final
class Webhook:
    def __new__(cls, secret: str, tolerance: int) -> Webhook: ...
    def verify(self, body: bytes, headers: list[tuple[str, str]], now: int | None = None) -> None: ...
    def sign(self, msg_id: str, timestamp: int, body: bytes) -> list[tuple[str, str]]: ...

def verify_signature(body: bytes, signature: str, secret: str) -> bool: ...
