"""A small Bot API client over aiohttp: one session, a timeout on every call.

Every failure becomes one exception from a single hierarchy rooted at
`TelegramError`, chosen from Telegram's JSON error answer, so callers
branch on classes rather than on strings. The bot token is part of every
request URL; it never reaches an exception message or a log line (aiohttp's
own exceptions quote URLs, so their text is redacted and they are never
chained).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import quote

import aiohttp
import orjson
import structlog
from yarl import URL

from huarong_core.json_text import to_json as json_bytes
from huarong_telegram.types import (
    BotCommand,
    File,
    InlineKeyboardMarkup,
    MalformedUpdate,
    Message,
    Update,
    User,
    malformed_update,
    parse_file,
    parse_message,
    parse_update,
    parse_user,
    to_json,
)

log = structlog.get_logger(__name__)

DEFAULT_BASE_URL: Final = "https://api.telegram.org"
CONNECT_TIMEOUT: Final = 10.0
"""Seconds to open a connection; a timeout here means nothing was sent."""
JSON_HEADERS: Final = {"Content-Type": "application/json"}


class TelegramError(Exception):
    """Any failed Bot API call. `error_code` is Telegram's (an HTTP status), 0 if none."""

    def __init__(self, method: str, error_code: int, description: str) -> None:
        super().__init__(
            f"{method}: {error_code} {description}" if error_code else f"{method}: {description}"
        )
        self.method = method
        self.error_code = error_code
        self.description = description


class RetryAfter(TelegramError):
    """429 flood control: the same call may be made again after `retry_after` seconds."""

    def __init__(self, method: str, error_code: int, description: str, retry_after: int) -> None:
        super().__init__(method, error_code, description)
        self.retry_after = retry_after


class BadRequest(TelegramError):
    """400: this call will never succeed as it is."""


class ChatMigrated(BadRequest):
    """The group became a supergroup; send again to `migrate_to_chat_id`."""

    def __init__(self, method: str, error_code: int, description: str, migrate_to_chat_id: int):
        super().__init__(method, error_code, description)
        self.migrate_to_chat_id = migrate_to_chat_id


class QueryTooOld(BadRequest):
    """A callback query answered too late (about 15 s) or twice: harmless."""


class MessageNotModified(BadRequest):
    """An edit that changes nothing: the message already shows what was wanted."""


class Unauthorized(TelegramError):
    """401: the token is wrong or was revoked."""


class Forbidden(TelegramError):
    """403: the bot was blocked by the user, or removed from the group."""


class NotFound(TelegramError):
    """404: an unknown method, or a file that is no longer available."""


class Conflict(TelegramError):
    """409: another process polls with this token, or a webhook is set while polling."""


class ServerError(TelegramError):
    """5xx: Telegram's side failed; the call may be tried again later."""


class NetworkError(TelegramError):
    """No answer from Telegram: refused, reset or timed out.

    `sent` says whether the request may have reached Telegram: `False` when
    no connection was made (safe to send again), `None` when it is unknown
    (a timeout or reset after the request went out: sending a message again
    might show it twice).
    """

    def __init__(self, method: str, description: str, *, sent: bool | None) -> None:
        super().__init__(method, 0, description)
        self.sent = sent


class BadResponse(TelegramError):
    """An answer that is not the Bot API's JSON (a proxy's error page, a truncated body)."""


class FileTooLarge(TelegramError):
    """A download that would pass the caller's `max_bytes`."""


_BY_CODE: Final[Mapping[int, type[TelegramError]]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
}


def error_from_answer(method: str, status: int, answer: Mapping[str, Any]) -> TelegramError:
    """The exception for one `ok: false` answer of the Bot API."""
    code = answer.get("error_code")
    error_code = code if isinstance(code, int) and not isinstance(code, bool) else status
    description = str(answer.get("description") or "")
    parameters = answer.get("parameters")
    params: Mapping[str, Any] = parameters if isinstance(parameters, Mapping) else {}
    retry_after = params.get("retry_after")
    if error_code == 429 or isinstance(retry_after, int):
        seconds = retry_after if isinstance(retry_after, int) and retry_after >= 0 else 1
        return RetryAfter(method, error_code, description, seconds)
    migrate_to = params.get("migrate_to_chat_id")
    if isinstance(migrate_to, int) and not isinstance(migrate_to, bool):
        return ChatMigrated(method, error_code, description, migrate_to)
    if error_code == 400:
        lowered = description.lower()
        if "query is too old" in lowered or "query id is invalid" in lowered:
            return QueryTooOld(method, error_code, description)
        if "message is not modified" in lowered:
            return MessageNotModified(method, error_code, description)
    if error_code == 409:
        description = (
            f"{description} (another process is polling with this token, "
            "or a webhook is set: delete it or stop the other poller)"
        )
    if error_code >= 500:
        return ServerError(method, error_code, description)
    return _BY_CODE.get(error_code, TelegramError)(method, error_code, description)


@functools.lru_cache(maxsize=16)
def _client_timeout(seconds: float) -> aiohttp.ClientTimeout:
    """The few timeouts in use, made once (a `ClientTimeout` is immutable)."""
    return aiohttp.ClientTimeout(total=seconds, sock_connect=min(seconds, CONNECT_TIMEOUT))


class BotApi:
    """One bot's connection to the Bot API.

    The session is created on first use unless one is given; a given
    session belongs to the caller and is not closed here.
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not token:
            raise ValueError("a bot token is required")
        self._token = token
        self._redactions = tuple({token, quote(token, safe=""), quote(token)})
        self._base_url = base_url.rstrip("/")
        self._session = session
        self._owns_session = session is None
        self.timeout = timeout
        self._urls: dict[str, URL] = {}

    def __repr__(self) -> str:
        return f"BotApi(base_url={self._base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None if self._owns_session else self._session

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise RuntimeError("the session given to BotApi is closed")
            self._session = aiohttp.ClientSession()
        return self._session

    def _redact(self, text: str) -> str:
        for secret in self._redactions:
            text = text.replace(secret, "<token>")
        return text

    def _url(self, method: str) -> URL:
        """The method's URL, parsed once (aiohttp would parse the text on every call)."""
        found = self._urls.get(method)
        if found is None:
            found = self._urls[method] = URL(f"{self._base_url}/bot{self._token}/{method}")
        return found

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (the HTTP timeout of this one call)
    ) -> Any:
        """Call `method` with `params` as JSON; Telegram's `result`, or a `TelegramError`.

        Parameters whose value is `None` are left out, as Telegram wants
        absent optional fields rather than nulls.
        """
        body = {key: value for key, value in (params or {}).items() if value is not None}
        started = time.monotonic()
        failure: TelegramError
        try:
            async with self._client().post(
                self._url(method),
                data=json_bytes(body),
                headers=JSON_HEADERS,
                timeout=_client_timeout(timeout or self.timeout),
            ) as response:
                status = response.status
                raw = await response.read()
        except aiohttp.ClientConnectorError as exc:
            failure = self._network_failure(method, exc, sent=False)
        except aiohttp.ConnectionTimeoutError as exc:
            failure = self._network_failure(method, exc, sent=False)
        except (TimeoutError, aiohttp.ClientError) as exc:
            failure = self._network_failure(method, exc, sent=None)
        else:
            return self._result(method, status, raw, started)
        # Raised outside the except blocks: aiohttp's exception (which quotes
        # the URL, token included) must not ride along as __context__.
        raise failure

    def _network_failure(
        self, method: str, exc: BaseException, *, sent: bool | None
    ) -> NetworkError:
        detail = self._redact(str(exc))
        description = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
        log.warning("telegram.network_error", method=method, error=description, sent=sent)
        return NetworkError(method, description, sent=sent)

    def _result(self, method: str, status: int, raw: bytes, started: float) -> Any:
        elapsed_ms = round((time.monotonic() - started) * 1000)
        answer = _decode(raw)
        if answer is None:
            log.warning("telegram.bad_response", method=method, status=status)
            description = f"HTTP {status}, not a Bot API answer ({len(raw)} bytes)"
            if status >= 500:
                raise ServerError(method, status, description)
            raise BadResponse(method, status, description)
        if answer["ok"]:
            if "result" not in answer:
                raise BadResponse(method, status, "ok without a result")
            log.debug("telegram.call", method=method, ms=elapsed_ms)
            return answer["result"]
        error = error_from_answer(method, status, answer)
        log.info(
            "telegram.error",
            method=method,
            error_code=error.error_code,
            description=self._redact(error.description),
            ms=elapsed_ms,
        )
        raise error

    # --- typed helpers ------------------------------------------------------------------

    async def get_me(self) -> User:
        return parse_user(await self.call("getMe"))

    async def get_updates(
        self,
        offset: int | None,
        timeout: int,  # noqa: ASYNC109 (Telegram's long-poll seconds)
        limit: int = 100,
        allowed_updates: Sequence[str] | None = None,
    ) -> list[Update]:
        """Long-poll for up to `timeout` seconds.

        An update that breaks the schema comes back with kind `MALFORMED`
        (and its `error`), so the poller can log it and move the offset past
        it; one whose very `update_id` is unreadable is logged and dropped.
        """
        result = await self.call(
            "getUpdates",
            {
                "offset": offset,
                "timeout": timeout,
                "limit": limit,
                "allowed_updates": list(allowed_updates) if allowed_updates is not None else None,
            },
            timeout=self.timeout + timeout,
        )
        if not isinstance(result, list):
            raise BadResponse("getUpdates", 200, "result is not an array")
        updates: list[Update] = []
        for data in result:
            try:
                updates.append(parse_update(data))
            except MalformedUpdate as exc:
                log.warning("telegram.malformed_update", update_id=exc.update_id, error=str(exc))
                if exc.update_id is not None:
                    updates.append(malformed_update(data, exc))
        return updates

    async def send_message(
        self,
        chat_id: int | str,
        text: str,
        *,
        reply_markup: InlineKeyboardMarkup | None = None,
        parse_mode: str | None = "HTML",
        disable_link_preview: bool = False,
        reply_to_message_id: int | None = None,
        disable_notification: bool = False,
    ) -> Message:
        """Send `text` (HTML by default: escape it with `formatting.escape_html`).

        A reply to a message that was deleted meanwhile is sent anyway, not refused.
        """
        params = send_message_params(
            chat_id,
            text,
            reply_markup=reply_markup,
            parse_mode=parse_mode,
            disable_link_preview=disable_link_preview,
            reply_to_message_id=reply_to_message_id,
            disable_notification=disable_notification,
        )
        return parse_message(await self.call("sendMessage", params))

    async def edit_message_text(
        self,
        chat_id: int | str,
        message_id: int,
        text: str,
        *,
        reply_markup: InlineKeyboardMarkup | None = None,
        parse_mode: str | None = "HTML",
        disable_link_preview: bool = False,
    ) -> Message | bool:
        params = edit_message_text_params(
            chat_id,
            message_id,
            text,
            reply_markup=reply_markup,
            parse_mode=parse_mode,
            disable_link_preview=disable_link_preview,
        )
        return _message_or_true(await self.call("editMessageText", params))

    async def edit_message_reply_markup(
        self,
        chat_id: int | str,
        message_id: int,
        *,
        reply_markup: InlineKeyboardMarkup | None = None,
    ) -> Message | bool:
        """Replace the buttons under a message; `None` removes them."""
        params = {
            "chat_id": chat_id,
            "message_id": message_id,
            "reply_markup": to_json(reply_markup) if reply_markup else None,
        }
        return _message_or_true(await self.call("editMessageReplyMarkup", params))

    async def answer_callback_query(
        self,
        callback_query_id: str,
        *,
        text: str | None = None,
        show_alert: bool = False,
    ) -> bool:
        params = {
            "callback_query_id": callback_query_id,
            "text": text,
            "show_alert": show_alert or None,
        }
        return bool(await self.call("answerCallbackQuery", params))

    async def set_my_commands(
        self,
        commands: Sequence[BotCommand],
        *,
        scope: Mapping[str, Any] | None = None,
        language_code: str | None = None,
    ) -> bool:
        """The command menu for one scope (`{"type": "all_private_chats"}`, ...) and language."""
        params = {
            "commands": [to_json(command) for command in commands],
            "scope": dict(scope) if scope is not None else None,
            "language_code": language_code,
        }
        return bool(await self.call("setMyCommands", params))

    async def delete_my_commands(
        self,
        *,
        scope: Mapping[str, Any] | None = None,
        language_code: str | None = None,
    ) -> bool:
        params = {
            "scope": dict(scope) if scope is not None else None,
            "language_code": language_code,
        }
        return bool(await self.call("deleteMyCommands", params))

    async def set_chat_menu_button(
        self, menu_button: Mapping[str, Any], *, chat_id: int | None = None
    ) -> bool:
        """The menu button of one private chat, or (`chat_id=None`) the default of all."""
        params = {"chat_id": chat_id, "menu_button": dict(menu_button)}
        return bool(await self.call("setChatMenuButton", params))

    async def set_webhook(
        self,
        url: str,
        *,
        secret_token: str,
        allowed_updates: Sequence[str] | None = None,
        drop_pending_updates: bool = False,
    ) -> bool:
        params = {
            "url": url,
            "secret_token": secret_token,
            "allowed_updates": list(allowed_updates) if allowed_updates is not None else None,
            "drop_pending_updates": drop_pending_updates or None,
        }
        return bool(await self.call("setWebhook", params))

    async def delete_webhook(self, *, drop_pending_updates: bool = False) -> bool:
        params = {"drop_pending_updates": drop_pending_updates or None}
        return bool(await self.call("deleteWebhook", params))

    async def get_file(self, file_id: str) -> File:
        return parse_file(await self.call("getFile", {"file_id": file_id}))

    async def download_file(self, file_path: str, *, max_bytes: int) -> bytes:
        """The file at `file_path` (from `get_file`), refused past `max_bytes`.

        The size is checked as the bytes arrive, so a server that lies about
        (or omits) the length cannot make this hold more than `max_bytes`.
        """
        method = "downloadFile"
        url = f"{self._base_url}/file/bot{self._token}/{file_path.lstrip('/')}"
        failure: TelegramError
        try:
            async with self._client().get(url, timeout=_client_timeout(self.timeout)) as response:
                if response.status != 200:
                    raw = await response.content.read(64 * 1024)
                    failure = self._download_failure(method, response.status, raw)
                elif (response.content_length or 0) > max_bytes:
                    failure = FileTooLarge(
                        method, 0, f"{response.content_length} bytes, more than {max_bytes}"
                    )
                else:
                    data = bytearray()
                    async for chunk in response.content.iter_chunked(64 * 1024):
                        data += chunk
                        if len(data) > max_bytes:
                            failure = FileTooLarge(method, 0, f"more than {max_bytes} bytes")
                            break
                    else:
                        return bytes(data)
        except aiohttp.ClientConnectorError as exc:
            failure = self._network_failure(method, exc, sent=False)
        except aiohttp.ConnectionTimeoutError as exc:
            failure = self._network_failure(method, exc, sent=False)
        except (TimeoutError, aiohttp.ClientError) as exc:
            failure = self._network_failure(method, exc, sent=None)
        raise failure

    def _download_failure(self, method: str, status: int, raw: bytes) -> TelegramError:
        answer = _decode(raw)
        if answer is not None and answer.get("ok") is False:
            return error_from_answer(method, status, answer)
        if status >= 500:
            return ServerError(method, status, f"HTTP {status}")
        return _BY_CODE.get(status, BadResponse)(method, status, f"HTTP {status}")


def send_message_params(
    chat_id: int | str,
    text: str,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
    parse_mode: str | None = "HTML",
    disable_link_preview: bool = False,
    reply_to_message_id: int | None = None,
    disable_notification: bool = False,
) -> dict[str, Any]:
    """The JSON body of `sendMessage`, for callers that send through the scheduler."""
    return {
        "chat_id": chat_id,
        "text": text,
        "parse_mode": parse_mode,
        "reply_markup": to_json(reply_markup) if reply_markup else None,
        "link_preview_options": {"is_disabled": True} if disable_link_preview else None,
        "reply_parameters": (
            {"message_id": reply_to_message_id, "allow_sending_without_reply": True}
            if reply_to_message_id is not None
            else None
        ),
        "disable_notification": disable_notification or None,
    }


def edit_message_text_params(
    chat_id: int | str,
    message_id: int,
    text: str,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
    parse_mode: str | None = "HTML",
    disable_link_preview: bool = False,
) -> dict[str, Any]:
    """The JSON body of `editMessageText`, for callers that send through the scheduler."""
    return {
        "chat_id": chat_id,
        "message_id": message_id,
        "text": text,
        "parse_mode": parse_mode,
        "reply_markup": to_json(reply_markup) if reply_markup else None,
        "link_preview_options": {"is_disabled": True} if disable_link_preview else None,
    }


def parse_json(data: bytes | str) -> Any:
    """JSON from Telegram (an answer, an update): orjson, Telegram's integers fitting
    in 64 bits, or the standard library for what orjson alone refuses (a lone
    surrogate); `ValueError` if neither can read it."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def _decode(raw: bytes) -> dict[str, Any] | None:
    try:
        answer = parse_json(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return answer if isinstance(answer, dict) and isinstance(answer.get("ok"), bool) else None


def _message_or_true(result: Any) -> Message | bool:
    # Edits of inline-mode messages answer True instead of the message.
    if result is True:
        return True
    return parse_message(result)
