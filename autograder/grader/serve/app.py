"""The web service: a FastAPI application over the queue, the tokens and the policy.

Every route but the login page needs an identity: a token as ``Authorization: Bearer``
(the API) or the cookie the login page sets (the browser). A student sees only their own
submissions (another's id answers 404, as an unknown one does); the instructor sees all
and the live dashboard. Errors are JSON ``{"error": ...}`` naming the problem and what to
do. Pages are Jinja2 templates (templates/serve_*.html.j2); the upload page uses the API.
"""
from __future__ import annotations

import shutil
import threading
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from ..assignment import read_assignment
from ..course import Course
from ..record import gradebook
from ..report.render import environment
from . import policy, submissions, tokens, uploads, visibility
from .grading import Grader, full_page, kept_record

COOKIE = "autograder_token"
# The whole request: the notebook and the hand-in files, with room for the form's framing.
MAX_REQUEST_BYTES = uploads.MAX_NOTEBOOK_BYTES + 4 * uploads.MAX_HAND_IN_BYTES + 65536


class Problem(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.headers = status, headers or {}


def page(template: str, status: int = 200, **model) -> HTMLResponse:
    html = environment().get_template(template).render(page=model)
    return HTMLResponse(html, status_code=status)


def create_app(course: Course, grader: Grader | None = None, overrides: dict | None = None) -> FastAPI:
    """The application for ``course``; with ``grader``, its loop runs in a thread while
    the application runs (what a stopped service left 'grading' is queued again first)."""
    overrides = overrides or {}

    @asynccontextmanager
    async def lifespan(app):
        submissions.requeue_interrupted(course)
        thread = None
        if grader is not None:
            thread = threading.Thread(target=grader.run, name="grading", daemon=True)
            thread.start()
        yield
        if grader is not None:
            grader.stop.set()

    app = FastAPI(title="autograder serve", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)

    @app.exception_handler(Problem)
    async def problem(request: Request, err: Problem):
        return JSONResponse({"error": str(err)}, status_code=err.status, headers=err.headers)

    @app.exception_handler(policy.Refused)
    async def refused(request: Request, err: policy.Refused):
        body, headers = {"error": str(err)}, {}
        if err.retry_at is not None:
            body["next_allowed"] = policy.iso(err.retry_at)
            headers["Retry-After"] = str(max(1, int(err.retry_at - time.time()) + 1))
        return JSONResponse(body, status_code=err.status, headers=headers)

    @app.exception_handler(HTTPException)
    async def http_problem(request: Request, err: HTTPException):
        if err.status_code == 401 and not request.url.path.startswith("/api/"):
            return RedirectResponse("/login", status_code=303)
        detail = str(err.detail)
        if err.status_code in (404, 405) and detail in ("Not Found", "Method Not Allowed"):
            detail = (f"no such address ({request.method} {request.url.path[:100]}): the API "
                      "is POST /api/submissions/<assignment> and GET /api/submissions/<id>")
        return JSONResponse({"error": detail}, status_code=err.status_code)

    def who(request: Request) -> tokens.Identity:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else \
            request.cookies.get(COOKIE)
        found = tokens.identify(course, token)
        if found is None:
            raise HTTPException(401, "no valid token: send 'Authorization: Bearer <token>' "
                                     "with the token the course staff gave you, or log in "
                                     "at /login")
        return found

    def released() -> list[str]:
        return [a for a in course.assignments() if gradebook.has_assignment(course, a)]

    def mine(request: Request, submission_id: str):
        """The submission, if the caller may see it; 404 otherwise (no hint it exists)."""
        caller = who(request)
        found = submissions.get(course, submission_id) if len(submission_id) < 64 else None
        if found is None or not (caller.instructor or found.student == caller.who):
            raise HTTPException(404, f"no submission {submission_id[:64]!r} of yours")
        return caller, found

    def rules(assignment: str) -> policy.Policy:
        return policy.policy_of(course, assignment, overrides)

    def status_of(caller, found) -> dict:
        """The API's view of a submission: before the deadline a student gets the score
        the policy shows (visibility.py), afterwards and to the instructor the full one."""
        full = caller.instructor or not rules(found.assignment).before_deadline(time.time())
        done = found.state in ("graded", "failed")
        return {"id": found.id, "assignment": found.assignment, "status": found.state,
                "score": found.score if full else found.shown_score,
                "max_score": found.max_score if full else found.shown_max,
                "complete": full or rules(found.assignment).feedback_before_deadline == "all",
                "late": found.late, "counts": found.counts,
                "submitted": policy.iso(found.created),
                "feedback_url": f"/feedback/{found.id}" if done else None}

    @app.get("/login", response_class=HTMLResponse)
    async def login_page():
        return page("serve_login.html.j2")

    @app.post("/login")
    async def login(request: Request):
        form = await request.form(max_files=0, max_fields=2)
        token = str(form.get("token", "")).strip()
        if tokens.identify(course, token) is None:
            return page("serve_login.html.j2", 401,
                        error="that token is not valid: copy it again from the course "
                              "staff's message, or ask them for a new one")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
        return response

    @app.post("/logout")
    async def logout():
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request):
        caller = who(request)
        if caller.instructor:
            return RedirectResponse("/dashboard", status_code=303)
        rows = [status_of(caller, s) for s in submissions.of_student(course, caller.who)]
        tasks = [{"name": a, "hand_in": list(read_assignment(course, a).options.hand_in),
                  "deadline": rules(a).deadline} for a in released()]
        return page("serve_home.html.j2", student=caller.who, assignments=tasks,
                    submissions=rows)

    @app.post("/api/submissions/{assignment}", status_code=202)
    async def submit(request: Request, assignment: str):
        caller = who(request)
        if caller.instructor:
            raise Problem(403, "the instructor's token cannot submit: use a student's")
        if assignment not in released():
            raise Problem(404, f"no assignment {assignment[:80]!r} is open for submission; "
                               f"the assignments are: {', '.join(released())}")
        rules_now = rules(assignment)
        policy.admit(rules_now, time.time(), submissions.recent(
            course, caller.who, assignment, time.time() - policy.HOUR))  # early refusal
        length = request.headers.get("content-length")
        if length is None or not length.isdigit():
            raise Problem(411, "send the upload with a Content-Length (any HTTP client does "
                               "for a file)")
        if int(length) > MAX_REQUEST_BYTES:
            raise Problem(413, f"the upload is {length} bytes; the limit is "
                               f"{MAX_REQUEST_BYTES}: clear large outputs and submit again")
        declared = read_assignment(course, assignment).options.hand_in
        try:
            form = await request.form(max_files=1 + len(declared), max_fields=0)
        except HTTPException as err:
            raise Problem(400, f"the form could not be read ({err.detail}): send the "
                               "notebook as multipart field 'notebook' and only the "
                               "assignment's hand-in files (fields: "
                               f"{', '.join(declared) or 'none'})") from None
        notebook = form.get("notebook")
        if not isinstance(notebook, UploadFile):
            raise Problem(400, "no file in the multipart field 'notebook': send the notebook "
                               "as -F notebook=@yours.ipynb")
        files = {key: value for key, value in form.multi_items() if key != "notebook"}
        if not all(isinstance(value, UploadFile) for value in files.values()):
            raise Problem(400, "form fields must be files: 'notebook' and the declared "
                               "hand-in files")
        data = await notebook.read(uploads.MAX_NOTEBOOK_BYTES + 1)
        hand_in = {key: await value.read(uploads.MAX_HAND_IN_BYTES + 1)
                   for key, value in files.items()}
        try:
            name = uploads.notebook_of(course, assignment, data)
            names = uploads.check_hand_in(declared, hand_in)
        except uploads.UploadError as err:
            raise Problem(err.status, str(err)) from None
        submission_id = submissions.new_id()
        uploads.store(course, submission_id, data, declared, hand_in)
        try:
            found = submissions.add(course, submission_id, caller.who, assignment, name, names,
                                    lambda now, earlier: policy.admit(rules_now, now, earlier))
        except BaseException:
            shutil.rmtree(uploads.folder(course, submission_id), ignore_errors=True)
            raise
        return {"id": found.id, "status_url": str(request.url_for("status", submission_id=found.id))}

    @app.get("/api/submissions/{submission_id}", name="status")
    async def status(request: Request, submission_id: str):
        return status_of(*mine(request, submission_id))

    @app.get("/api/submissions")
    async def listing(request: Request):
        caller = who(request)
        rows = submissions.every(course) if caller.instructor else \
            submissions.of_student(course, caller.who)
        return [status_of(caller, s) for s in rows]

    @app.get("/feedback/{submission_id}", response_class=HTMLResponse)
    async def feedback_page(request: Request, submission_id: str):
        caller, found = mine(request, submission_id)
        state = status_of(caller, found)
        if found.state not in ("graded", "failed"):
            return page("serve_results.html.j2", submission=state, results=None)
        if caller.instructor or not rules(found.assignment).before_deadline(time.time()):
            if full_page(course, found.id).is_file():
                return HTMLResponse(full_page(course, found.id).read_text(encoding="utf-8"))
        record = kept_record(course, found.id)
        task = read_assignment(course, found.assignment)
        results = visibility.shown_results(task, record, rules(found.assignment)
                                           .feedback_before_deadline) if record else None
        return page("serve_results.html.j2", submission=state, results=results)

    @app.get("/api/queue")
    async def queue(request: Request):
        if not who(request).instructor:
            raise HTTPException(403, "the queue is the instructor's: use the instructor token")
        return {"states": submissions.counts_by_state(course),
                "grading_now": [s.id for s in (grader.now if grader else [])]}

    @app.get("/dashboard", response_class=HTMLResponse)
    async def dashboard(request: Request):
        if not who(request).instructor:
            raise HTTPException(403, "the dashboard is the instructor's: log in with the "
                                     "instructor token")
        from .live import dashboard_model

        return page("serve_dashboard.html.j2", **dashboard_model(course, grader))

    return app
