"""``dvxl serve``: the upload page, a small Starlette application served by uvicorn.

A unit types its upload code (:mod:`dvxl.uploadcodes`) once; the browser keeps it in a
cookie that scripts cannot read and other sites cannot send (``HttpOnly``,
``SameSite=Strict``), and every request checks it again, so regenerated codes end every
session at once. The unit chooses its file and sends it; the page answers with the state
(«Đã nhận, hợp lệ» / «Có cảnh báo, đã nhận» / «Có lỗi, chưa nhận»), the findings table
and a link to the marked-up copy (:mod:`dvxl.upload` does the work). A unit sees only its
own receipts. The secretariat's code opens the period's tracking table, computed from
the ledger at every request.

Safety: the code is checked and the declared size refused before the body is read; the
body is parsed as it streams straight into a temporary file in the workspace and dropped
at the size limit, and the form's CSRF token (double submit: a cookie and a hidden field)
must come before the file or nothing is written (:mod:`dvxl.webform`); a browser's Origin
must be this site; uploads are limited per code and wrong codes per client address; the
client's file name never names a file. No JavaScript is served (the policy forbids
scripts).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from dvxl import periods, upload, uploadcodes, workspace
from dvxl.errors import DvxlError
from dvxl.gates import human
from dvxl.intake import Receipt
from dvxl.lock import BusyError
from dvxl.looks import stamp
from dvxl.merge import count_tracks
from dvxl.model import Catalog
from dvxl.uploadcodes import Holder
from dvxl.webform import (
    TOKEN_LENGTH,
    FileForm,
    Refusal,
    check_origin,
    small_form,
    too_large,
)
from dvxl.webpages import render

CODE_COOKIE = "dvxl_ma"
CSRF_COOKIE = "dvxl_csrf"
#: Room for the multipart framing and the token around the file itself.
FORM_OVERHEAD = 64 * 1024
REFRESH_S = 30
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_SEVERITY = {"error": "Lỗi", "warning": "Cảnh báo"}


class RateLimit:
    """At most ``limit`` events per key in any ``window_s`` seconds (in memory)."""

    def __init__(self, limit: int, window_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._events: dict[str, deque[float]] = {}
        self._guard = threading.Lock()

    def _recent(self, key: str) -> deque[float]:
        events = self._events.setdefault(key, deque())
        cutoff = self.clock() - self.window_s
        while events and events[0] <= cutoff:
            events.popleft()
        return events

    def full(self, key: str) -> bool:
        with self._guard:
            return len(self._recent(key)) >= self.limit

    def hit(self, key: str) -> bool:
        """Count an event; False (not counted) when the key is over its limit."""
        with self._guard:
            events = self._recent(key)
            if len(events) >= self.limit:
                return False
            events.append(self.clock())
            return True


@dataclass
class Limits:
    uploads_per_code: int = 20
    wrong_codes_per_client: int = 30  # an office's units may share one address (NAT)
    window_s: float = 600.0


class _Site:
    """The application's state: the workspace, its catalog (read again when the master
    changes) and the rate limits."""

    def __init__(self, root: Path, limits: Limits) -> None:
        self.ws = workspace.Workspace(root)
        self.uploads = RateLimit(limits.uploads_per_code, limits.window_s)
        self.wrong = RateLimit(limits.wrong_codes_per_client, limits.window_s)
        self._catalog: tuple[tuple[int, int], Catalog] | None = None
        self._guard = threading.Lock()

    def catalog(self) -> Catalog:
        info = self.ws.master.stat()
        key = (info.st_mtime_ns, info.st_size)
        with self._guard:
            if self._catalog is None or self._catalog[0] != key:
                self._catalog = (key, self.ws.load())
            return self._catalog[1]

    def holder(self, request: Request) -> Holder | None:
        typed = request.cookies.get(CODE_COOKIE, "")
        if not typed:
            return None
        return self.known(uploadcodes.holder(uploadcodes.load(self.ws.root), typed))

    def known(self, holder: Holder | None) -> Holder | None:
        """``holder`` while the master still has its period and unit (a code outlives an
        edit of the roster in the file, never in effect)."""
        if holder is None:
            return None
        catalog = self.catalog()
        if periods.known(catalog, holder.period) is None:
            return None
        if holder.unit and holder.unit not in {u.code for u in catalog.addressed_units()}:
            return None
        return holder


# Pages ------------------------------------------------------------------------------------


def _page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(render(name, **context), status_code=status, headers=_HEADERS)


def _token(request: Request) -> str:
    token = request.cookies.get(CSRF_COOKIE, "")
    return token if len(token) == TOKEN_LENGTH else secrets.token_urlsafe(32)


def _with_token(response: Response, token: str) -> Response:
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict")
    return response


def _problem(status: int, message: str) -> HTMLResponse:
    return _page("problem", status, title="Không thực hiện được", subtitle="", message=message)


def _subtitle(catalog: Catalog, holder: Holder) -> str:
    period = catalog.period(holder.period)
    when = f"{period.name}, hạn gửi {period.deadline:%d/%m/%Y}"
    if holder.is_secretariat:
        return f"Văn phòng — {when}"
    return f"{catalog.unit(holder.unit).name} ({holder.unit}) — {when}"


async def home(request: Request) -> Response:
    site: _Site = request.app.state.site
    token = _token(request)
    holder = site.holder(request)
    if holder is None:
        page = _page("login", title="Nộp báo cáo", subtitle="", csrf=token, problem="")
        return _with_token(page, token)
    if holder.is_secretariat:
        return RedirectResponse("/van-phong", 303)
    catalog = await run_in_threadpool(site.catalog)
    receipts = await run_in_threadpool(upload.unit_receipts, site.ws.root, holder.period,
                                       holder.unit)
    rows = [{"id": r.id, "received": stamp(r.received), "state": upload.state(r.status),
             "errors": r.errors, "warnings": r.warnings} for r in receipts]
    page = _page("unit", title="Nộp báo cáo", subtitle=_subtitle(catalog, holder), csrf=token,
                 receipts=rows, limit=human(upload.max_bytes(catalog)))
    return _with_token(page, token)


async def sign_in(request: Request) -> Response:
    site: _Site = request.app.state.site
    form = await _small_form(request)
    client = request.client.host if request.client else "?"
    if site.wrong.full(client):
        raise Refusal(429, "Đã nhập sai mã quá nhiều lần. Hãy chờ ít phút rồi thử lại.")
    holder = site.known(uploadcodes.holder(uploadcodes.load(site.ws.root), form.get("ma", "")))
    if holder is None:
        site.wrong.hit(client)
        token = _token(request)
        page = _page("login", 403, title="Nộp báo cáo", subtitle="", csrf=token,
                     problem="Mã nộp báo cáo không đúng (hoặc đã được văn phòng đổi). Hãy "
                     "kiểm tra lại mã, hoặc hỏi văn phòng.")
        return _with_token(page, token)
    response = RedirectResponse("/van-phong" if holder.is_secretariat else "/", 303)
    response.set_cookie(CODE_COOKIE, uploadcodes.normalise(form["ma"]), httponly=True,
                        samesite="strict")
    return response


async def sign_out(request: Request) -> Response:
    await _small_form(request)
    response = RedirectResponse("/", 303)
    response.delete_cookie(CODE_COOKIE, httponly=True, samesite="strict")
    return response


async def send(request: Request) -> Response:
    """The upload: refused before reading when it can be, streamed when it cannot."""
    site: _Site = request.app.state.site
    holder = site.holder(request)
    if holder is None or holder.is_secretariat:
        raise Refusal(403, "Chưa nhập mã nộp báo cáo của đơn vị, hoặc mã đã được văn phòng "
                      "đổi. Hãy nhập lại mã.")
    _same_origin(request)
    catalog = await run_in_threadpool(site.catalog)
    limit = upload.max_bytes(catalog)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        raise too_large(limit)
    if not site.uploads.hit(holder.period + "/" + holder.unit):
        raise Refusal(429, "Đơn vị đã gửi quá nhiều lần trong ít phút. Hãy chờ ít phút rồi "
                      "gửi lại.")
    form = FileForm(site.ws.root, limit, request.cookies.get(CSRF_COOKIE, ""))
    temp = await form.read(request.headers.get("content-type", ""), request.stream())
    try:
        outcome = await run_in_threadpool(
            upload.receive, site.ws, catalog, catalog.period(holder.period), holder.unit, temp)
    except BusyError:
        raise Refusal(503, "Văn phòng đang tổng hợp báo cáo nên chưa nhận được tệp. Hãy gửi "
                      "lại sau vài phút.") from None
    finally:
        temp.unlink(missing_ok=True)
    return _result(catalog, holder, outcome)


def _moment(moment: dt.datetime) -> str:
    return f"{moment:%H:%M:%S} ngày {moment:%d/%m/%Y}"


def _result(catalog: Catalog, holder: Holder, outcome: upload.Outcome) -> Response:
    state = upload.state(outcome.status)
    tone = {upload.RECEIVED: "ok", upload.RECEIVED_WITH_WARNINGS: "warn"}.get(state, "bad")
    findings = [{"code": f.get("code", ""), "severity": _SEVERITY.get(f.get("severity", ""), ""),
                 "cell": "!".join(p for p in (f.get("sheet", ""), f.get("cell", "")) if p),
                 "message": f.get("message", ""), "expected": f.get("expected", "")}
                for f in outcome.findings]
    return _page("result", title="Kết quả gửi báo cáo", subtitle=_subtitle(catalog, holder),
                 state=state, tone=tone, received=_moment(outcome.received),
                 already=outcome.already, marked=outcome.marked, id=outcome.receipt_id,
                 findings=findings)


async def result(request: Request) -> Response:
    site: _Site = request.app.state.site
    holder, receipt = await _own_receipt(request)
    catalog = await run_in_threadpool(site.catalog)
    marked = upload.marked_copy(site.ws.root, receipt) is not None
    return _result(catalog, holder, upload.Outcome(receipt.status, receipt.findings,
                                                   receipt.received, receipt.id, False, marked))


async def marked_copy(request: Request) -> Response:
    site: _Site = request.app.state.site
    _, receipt = await _own_receipt(request)
    path = upload.marked_copy(site.ws.root, receipt)
    if path is None:
        raise Refusal(404, "Tệp này không có bản đánh dấu lỗi.")
    return FileResponse(path, filename=path.name, headers=_HEADERS,
                        media_type="application/vnd.openxmlformats-officedocument."
                        "spreadsheetml.sheet")


async def _own_receipt(request: Request) -> tuple[Holder, Receipt]:
    """The receipt named in the address, only when it is the signed-in unit's own."""
    site: _Site = request.app.state.site
    holder = site.holder(request)
    if holder is None or holder.is_secretariat:
        raise Refusal(403, "Chưa nhập mã nộp báo cáo của đơn vị. Hãy nhập mã.")
    wanted = request.path_params["rid"]
    receipts = await run_in_threadpool(upload.unit_receipts, site.ws.root, holder.period,
                                       holder.unit)
    found = next((r for r in receipts if r.id == wanted), None)
    if found is None:
        raise Refusal(404, "Không có tệp này trong các tệp đơn vị đã gửi.")
    return holder, found


async def secretariat(request: Request) -> Response:
    site: _Site = request.app.state.site
    holder = site.holder(request)
    if holder is None or not holder.is_secretariat:
        raise Refusal(403, "Trang này cần mã của văn phòng.")
    token = _token(request)
    catalog = await run_in_threadpool(site.catalog)
    period = catalog.period(holder.period)
    consolidated = await run_in_threadpool(upload.tracking, site.ws, catalog, period)
    rows = [{"code": t.unit.code, "name": t.unit.name, "status": t.status.label,
             "late": t.days_late or "", "files": t.files,
             "last": stamp(t.last_received) if t.last_received else "",
             "source": t.received_label, "note": t.note} for t in consolidated.tracking]
    counts = " · ".join(f"{s.label}: {n}" for s, n in count_tracks(consolidated.tracking).items())
    page = _page("secretariat", title="Theo dõi nộp báo cáo",
                 subtitle=f"Văn phòng — {periods.label(period)}",
                 refresh=REFRESH_S, rows=rows, counts=counts, csrf=token,
                 now=stamp(dt.datetime.now()))
    return _with_token(page, token)


# Forms ------------------------------------------------------------------------------------


def _same_origin(request: Request) -> None:
    check_origin(request.headers.get("origin", ""), request.headers.get("host", ""))


async def _small_form(request: Request) -> dict[str, str]:
    _same_origin(request)
    return await small_form(request.stream(), request.cookies.get(CSRF_COOKIE, ""))


# The application --------------------------------------------------------------------------

_MESSAGES = {
    404: "Không có trang này.",
    405: "Trang này không nhận kiểu yêu cầu đó (hãy dùng biểu mẫu trên trang).",
}


async def _failed(request: Request, exc: Exception) -> Response:
    """dvxl's own errors (a ledger or a disk that cannot be written) in Vietnamese; anything
    else as a fault of dvxl's (uvicorn logs its traceback)."""
    if isinstance(exc, DvxlError):
        return _problem(500, f"Văn phòng chưa nhận được tệp: {exc} Hãy báo văn phòng.")
    return _problem(500, "Trang gặp lỗi không lường trước nên chưa nhận được tệp. Hãy gửi lại "
                    "sau ít phút; nếu vẫn lỗi, hãy báo văn phòng.")


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refusal)
    return _problem(exc.status, exc.message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    response = _problem(exc.status_code, _MESSAGES.get(exc.status_code,
                                                       "Yêu cầu không thực hiện được."))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def create_app(root: Path, limits: Limits | None = None) -> Starlette:
    """The upload page for the workspace at ``root``."""
    upload.remove_stale(root)
    routes = [
        Route("/", home, methods=["GET"]),
        Route("/vao", sign_in, methods=["POST"]),
        Route("/ra", sign_out, methods=["POST"]),
        Route("/gui", send, methods=["POST"]),
        Route("/ket-qua/{rid:int}", result, methods=["GET"]),
        Route("/ban-sua/{rid:int}", marked_copy, methods=["GET"]),
        Route("/van-phong", secretariat, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={
        Refusal: _refused, HTTPException: _http_error, Exception: _failed})
    app.state.site = _Site(root, limits or Limits())
    return app


def local_addresses() -> list[str]:
    """This computer's IPv4 addresses other than loopback (what units type to reach it)."""
    try:
        found = socket.gethostbyname_ex(socket.gethostname())[2]
    except OSError:
        return []
    return sorted({a for a in found if not a.startswith("127.")})


def serve(root: Path, host: str, port: int) -> None:
    """Run the page until interrupted (uvicorn finishes the requests under way first)."""
    import uvicorn

    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    uvicorn.run(create_app(root), host=host, port=port, log_level="warning",
                server_header=False, timeout_graceful_shutdown=120)
