"""A Chroma server (FAZHI_CHROMA_URL) that has gone away, told to the user in one sentence.

The store's client raises raw connection errors ("[Errno 111] Connection refused") from any
call once its server is down, and works again when the server is back; handlers ask
`outage_message` whether an error was that, and show the message instead of the error.
"""

from __future__ import annotations

import httpx

from vectorstore import PassageStore


def outage_message(url: str) -> str:
    """The CLI's "cannot reach the Chroma server … start it with `chroma run`", in Chinese."""
    return (
        f"无法连接 Chroma 服务器 {url} 。请在服务器上用 chroma run --path DIR 启动它，"
        "或取消 FAZHI_CHROMA_URL 改用本地文件夹。服务器恢复后重试即可，无需重启 fazhi。"
    )


def store_outage(store: PassageStore, url: str | None, exc: BaseException) -> str | None:
    """The message to show when `exc` came from the store's server being unreachable, else None.

    A connection error could also come from elsewhere (an LLM endpoint), so the server itself
    is asked before the outage is reported.
    """
    if not url or not _connection_error(exc):
        return None
    try:
        store.client.heartbeat()
    except Exception:
        return outage_message(url)
    return None


def _connection_error(exc: BaseException) -> bool:
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        if isinstance(error, httpx.TransportError | ConnectionError | TimeoutError):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False
