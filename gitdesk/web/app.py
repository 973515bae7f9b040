"""The routes of ``gitdesk serve``: pages that read, forms that act.

A GET never writes. A POST is one verb on one ticket (``/t/ID/VERB``) and
answers with a redirect back to the ticket page, or with that page and the
action's one-line error when the action refused. Every request opens the desk
afresh (config included) and reads through the index, so nothing is stale.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, g, redirect, render_template, request
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from gitdesk.desk import Actor, Desk, finish_interrupted
from gitdesk.errors import GitdeskError, NotFound
from gitdesk.web import pages
from gitdesk.web.security import HEADERS, Guard

_SHORT_COMMIT = re.compile(r"^[0-9a-f]{7,40}\Z")
_VERB = re.compile(r"^[a-z][a-z-]{0,30}\Z")


def _shown(value: Any) -> Any:
    """A value a template prints: what reorders or hides text written out (a title
    "Payroll \u202efdp.exe" read "Payroll exe.pdf"); HTML gitdesk made is as made."""
    from markupsafe import Markup

    from gitdesk.text import unreordered

    return unreordered(value) if isinstance(value, str) and not isinstance(value, Markup) else value


MAX_FORM = 1 << 20  # bytes a form may post: a reply is text; a long log belongs in an attachment


def create_app(desk_path: Path, as_: str | None, guard: Guard) -> Flask:
    """The application for the desk at ``desk_path``, acting as ``as_`` (or the Git identity)."""
    here = Path(__file__).parent
    app = Flask("gitdesk.web", template_folder=str(here / "templates"), static_folder=str(here / "static"),
                static_url_path="/static")
    app.config.update(MAX_CONTENT_LENGTH=MAX_FORM, TEMPLATES_AUTO_RELOAD=False)
    app.jinja_env.autoescape = True  # every template, whatever its name; ticket text is untrusted
    app.jinja_env.finalize = _shown  # and every value shown as the terminal shows it
    writing = threading.Lock()  # one action at a time from this server (the desk lock serialises the rest)
    markdown = threading.local()

    def md() -> Any:
        if not hasattr(markdown, "renderer"):
            from gitdesk import markup

            markdown.renderer = markup.renderer()
        return markdown.renderer

    def desk() -> Desk:
        if "desk" not in g:
            from gitdesk import cache

            opened = Desk.open(desk_path, explicit=True)
            finish_interrupted(opened.repo)  # a writer killed since the last request: no page shows its files
            g.desk = cache.attach(opened)
        return g.desk  # type: ignore[no-any-return]

    def actor() -> Actor:
        if "actor" not in g:
            g.actor = desk().actor(as_)
        return g.actor  # type: ignore[no-any-return]

    @app.before_request
    def guard_request() -> Response | None:
        if not guard.host_ok(request.headers.get("Host")):
            return _plain("This server answers only to its own address (the Host header does not match).", 403)
        if request.path.startswith("/static/"):
            return None
        given = request.args.get("token")
        if given is not None:
            if not guard.token_ok(given):
                return _plain("Wrong token: open the address gitdesk serve printed.", 403)
            rest = [(key, value) for key, value in request.args.items(multi=True) if key != "token"]
            response = redirect(request.path + ("?" + urlencode(rest) if rest else ""), 303)
            response.set_cookie(guard.cookie, guard.token, httponly=True, samesite="Lax", path="/")
            return response  # type: ignore[return-value]
        if not guard.token_ok(request.cookies.get(guard.cookie)):
            return _plain("Open the address gitdesk serve printed (with its token) to use this desk.", 403)
        if request.method == "POST" and not (guard.csrf_ok(request.form.get("csrf"))
                                             and guard.origin_ok(request.headers.get("Origin"))):
            return _plain("This form did not come from this desk's own page; nothing was changed.", 403)
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            if name == "Cache-Control" and request.path.startswith("/static/"):
                continue
            response.headers[name] = value
        return response

    @app.errorhandler(GitdeskError)
    def refused(error: GitdeskError) -> tuple[str, int] | Response:
        status = 404 if isinstance(error, NotFound) else 400
        try:
            return page("error.html", "Error", error=_on_a_form(error)), status
        except GitdeskError:  # the desk itself cannot be read (its config broke meanwhile): say so plainly
            return _plain(f"gitdesk: error: {error}", status)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        if error.code == 413:  # the browser's back button still has the text
            return _plain(f"413: a form holds at most {MAX_FORM // 1024} KB here; nothing was changed. Go back, "
                          "and attach a long log to a reply from the command line (--attach FILE) instead.", 413)
        return _plain(f"{error.code} {error.name}", error.code or 500)

    def page(template: str, title: str, **values: Any) -> str:
        try:
            who = actor()
        except GitdeskError as error:
            who = Actor(str(error), None, "")
        return render_template(template, title=title, csrf=guard.csrf(), me=who,
                               desk_name=desk().config.desk_name, boards=pages.queues(desk()), **values)

    @app.get("/")
    def home() -> str:
        return page("home.html", "Queues")

    @app.get("/board/<name>")
    def board(name: str) -> str:
        shown = pages.board(desk(), name)
        return page("board.html", shown.title, board=shown)

    @app.get("/list")
    def list_() -> str:
        me = actor().person
        filters, intake = pages.filters_from(request.args, desk(), me.handle if me else None)
        if request.args.get("mine") and me is None:
            raise GitdeskError("'mine' needs you to be one of the desk's people", hint="serve with --as HANDLE")
        title = ("Mine" if request.args.get("mine") else "Unassigned" if filters.unassigned
                 else "Intake" if intake else "Tickets")
        listed = pages.ticket_list(desk(), title, filters, _number(request.args.get("page")), intake=intake)
        return page("list.html", title, listed=listed, here=_without_page())

    @app.get("/mine")
    def mine() -> Response:
        return redirect("/list?mine=1", 303)  # type: ignore[return-value]

    @app.get("/unassigned")
    def unassigned() -> Response:
        return redirect("/list?unassigned=1", 303)  # type: ignore[return-value]

    @app.get("/search")
    def search() -> str:
        config = desk().config
        query = request.args.get("q", "").strip()
        me = actor().person
        filters, _ = pages.filters_from(request.args, desk(), me.handle if me else None)
        if not request.args.getlist("status"):
            from dataclasses import replace

            filters = replace(filters, statuses=("all",))
        hits = pages.search(desk(), query, filters, pages.PAGE + 1) if query else None
        more = hits is not None and len(hits) > pages.PAGE  # one more than shown: say there are more
        hits = hits[:pages.PAGE] if hits is not None else None
        return page("search.html", "Search", query=query, hits=hits, more=more, args=request.args,
                    statuses=list(config.statuses), queues=list(config.queues), categories=list(config.categories))

    @app.get("/reports")
    def reports() -> str:
        return page("reports.html", "Reports", body=Markup(pages.reports(desk())))

    @app.get("/kb")
    def knowledge() -> str:
        query = request.args.get("q", "").strip()
        return page("kb.html", "Knowledge base", query=query, articles=pages.articles(desk(), query))

    @app.get("/kb/<path:name>")
    def article(name: str) -> str:
        shown = pages.article(desk(), name, md())
        return page("article.html", shown.title, a=shown)

    @app.get("/t/<ticket_id>")
    def ticket(ticket_id: str) -> str:
        return ticket_view(ticket_id)

    def ticket_view(ticket_id: str, error: str | None = None, form: dict[str, str] | None = None) -> str:
        shown = pages.ticket_page(desk(), ticket_id, md())
        done = request.args.get("done", "")
        commit = request.args.get("commit", "")
        said = pages.action_done(desk(), shown.ticket.id, done, commit) \
            if _VERB.match(done) and _SHORT_COMMIT.match(commit) else None
        if said is None:
            done = commit = ""
        form = dict(form or {})
        use = request.args.get("use", "")
        if use and "text" not in form:
            me = actor().person
            form = {"verb": "reply", "canned": use,
                    "text": pages.canned_text(desk(), ticket_id, use, me.name if me else None)}
        return page("ticket.html", shown.ticket.title, t=shown, error=error, form=form, done=done, commit=commit,
                    said=said or [], html=Markup)

    @app.get("/attachments/<ticket_id>/<name>")
    def attachment(ticket_id: str, name: str) -> Response:
        from urllib.parse import quote

        found = pages.attachment(desk(), ticket_id, name)
        shown = "inline" if found.inline else "attachment"
        response = Response(found.data, mimetype=found.mimetype)
        response.headers["Content-Disposition"] = f"{shown}; filename*=UTF-8''{quote(found.name, safe='')}"
        return response

    @app.get("/t/<ticket_id>/<verb>")
    def action_address(ticket_id: str, verb: str) -> Response:
        # A form's error page has the action's address: reloaded later, it is the ticket again.
        return redirect(f"/t/{quote_id(ticket_id)}", 303)  # type: ignore[return-value]

    @app.get("/t/<ticket_id>/similar")
    def similar(ticket_id: str) -> str:
        shown, found = pages.similar(desk(), ticket_id)
        return page("similar.html", f"Like {shown.id}", ticket=shown, found=found)

    @app.post("/t/<ticket_id>/<verb>")
    def act(ticket_id: str, verb: str) -> Any:
        from gitdesk.web import acting

        form = {key: value for key, value in request.form.items() if key != "csrf"}
        try:
            with writing:
                result = acting.act(desk(), ticket_id, verb, form, actor())
        except GitdeskError as error:
            # The form again with the action's own one-line error, as a page (200: the request was
            # understood and answered; browsers log any 4xx as a console error).
            try:
                return ticket_view(ticket_id, _on_a_form(error), {**form, "verb": verb})
            except GitdeskError as unreadable:  # the ticket cannot be shown (a conflict in its file): keep the text
                return page("error.html", "Error", error=_on_a_form(unreadable), typed=form.get("text", "")), 400
        target = f"/t/{result.ticket.id}?" + urlencode({"done": result.verb, "commit": result.commit[:7]})
        return redirect(target, 303)

    return app


_FLAG = re.compile(r"(?:^|[\s(])--?[a-z]")
# A fix done at the command line whatever the page: finish a merge, wait, edit the file.
_ELSEWHERE = re.compile(r"\bgit [a-z]|\bgitdesk (?:edit|check|sync|kb|rules)\b|\bwait\b")


def _on_a_form(error: GitdeskError) -> str:
    """The action's one-line error as the CLI gives it, but for a fix that is a command-line
    flag ("give the reply with -m TEXT"): on a form, the message and the form are the fix.
    A fix outside gitdesk's verbs ("git merge --abort", "wait for …") is kept."""
    if error.hint and _FLAG.search(error.hint) and not _ELSEWHERE.search(error.hint):
        # "add an email for them under people: …; or --no-send …": the part that is no flag stays
        kept = "; ".join(part for part in error.hint.split("; ") if not _FLAG.search(part)) or None
        return str(GitdeskError(error.message, path=error.path, line=error.line, hint=kept))
    return str(error)


def quote_id(ticket_id: str) -> str:
    from urllib.parse import quote

    return quote(ticket_id, safe="")


def _number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 7 else 1


def _without_page() -> str:
    return urlencode([(key, value) for key, value in request.args.items(multi=True) if key != "page"])


def _plain(text: str, status: int) -> Response:
    return Response(text + "\n", status=status, mimetype="text/plain")
