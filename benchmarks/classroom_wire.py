"""A light student, for the classroom load test: a browser session without a browser, speaking
Streamlit's own protocol (the WebSocket at /_stcore/stream over TLS, BackMsg / ForwardMsg
protobufs from the `streamlit.proto` package, uploads through /_stcore/upload_file with the XSRF
cookie, fragments' auto-reruns). It costs the server what a browser tab does, and the client no
rendering."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.request
import uuid
from http.cookies import SimpleCookie
from pathlib import Path

from classroom_lesson import AFTER_START, IDLE_CLICK_S, PRE_START_CLICKS, STEP_S, TRAINED_S, Lesson, Student, one_line


class LightStudent:
    """A browser session without a browser: what the Streamlit frontend sends, and reads, over
    the WebSocket (BackMsg / ForwardMsg protobufs), and its uploads."""

    def __init__(self, lesson: Lesson, student: Student):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.lesson, self.student = lesson, student
        self.FINISHED = ForwardMsg.FINISHED_SUCCESSFULLY
        self.FRAGMENT_FINISHED = ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
        self.EARLY = ForwardMsg.FINISHED_EARLY_FOR_RERUN
        self.base = lesson.server.url.rstrip("/")
        self.ws = None
        self.session_id = ""
        self.query_string = ""
        self.page_hash = ""
        self.pages: dict[str, str] = {}  # url path ("" for the default page) -> page script hash
        self.page: dict[tuple, object] = {}  # delta path -> element, of the last whole run
        self.building: dict[tuple, object] = {}
        self.full_run = True
        self.running = False
        self.finishes = 0  # script runs (whole or fragment) that ended, not early for a rerun
        self.changed = asyncio.Condition()
        self.fragments: dict[str, asyncio.Task] = {}
        self.announced: set[str] = set()
        self.file_urls: dict[str, asyncio.Future] = {}
        self.xsrf = ""
        self.reader: asyncio.Task | None = None

    # -- connection and messages ------------------------------------------------------------------
    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        context = self.lesson.server.ssl_context()
        self.xsrf = await asyncio.to_thread(self._xsrf_cookie, context)
        origin = self.base
        self.ws = await connect(self.base.replace("https://", "wss://") + "/_stcore/stream", ssl=context,
                                subprotocols=["streamlit"], origin=origin, max_size=None, open_timeout=STEP_S,
                                additional_headers={"Cookie": f"_streamlit_xsrf={self.xsrf}"},
                                ping_interval=20, ping_timeout=STEP_S)
        self.reader = asyncio.create_task(self._read())

    def _xsrf_cookie(self, context) -> str:
        with urllib.request.urlopen(self.base + "/_stcore/health", timeout=STEP_S, context=context) as answer:
            cookie = SimpleCookie()
            for header in answer.headers.get_all("Set-Cookie") or []:
                cookie.load(header)
        return cookie["_streamlit_xsrf"].value if "_streamlit_xsrf" in cookie else ""

    async def close(self) -> None:
        for task in self.fragments.values():
            task.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()

    async def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        async for data in self.ws:
            msg = ForwardMsg()
            msg.ParseFromString(data)
            await self._handle(msg)

    async def _handle(self, msg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            new = msg.new_session
            if new.initialize.session_id:
                self.session_id = new.initialize.session_id
            self.page_hash = new.page_script_hash or self.page_hash
            self.full_run = not msg.metadata.run.fragment_ids
            if self.full_run:
                self.building, self.announced = {}, set()
            self.running = True
        elif kind == "delta":
            delta = msg.delta
            if delta.WhichOneof("type") == "new_element":
                path = tuple(msg.metadata.delta_path)
                element = delta.new_element
                (self.building if self.full_run else self.page)[path] = element
                if element.WhichOneof("type") == "exception":
                    self.lesson.record.page_exceptions.append(
                        f"{self.student.name}: {element.exception.type}: {one_line(element.exception.message)}")
        elif kind == "navigation":
            for page in msg.navigation.app_pages:
                for name in (page.url_pathname, page.page_name.lower()):  # the default page's path is ""
                    self.pages[name] = page.page_script_hash
            self.page_hash = msg.navigation.page_script_hash or self.page_hash
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "auto_rerun":
            fragment = msg.auto_rerun.fragment_id
            self.announced.add(fragment)
            if fragment not in self.fragments:
                self.fragments[fragment] = asyncio.create_task(self._auto_rerun(fragment, msg.auto_rerun.interval))
        elif kind == "stop_auto_rerun":
            for fragment in msg.stop_auto_rerun.fragment_ids:
                self._stop_fragment(fragment)
        elif kind == "file_urls_response":
            future = self.file_urls.pop(msg.file_urls_response.response_id, None)
            if future is not None and not future.done():
                future.set_result(msg.file_urls_response)
        elif kind == "script_finished":
            status = msg.script_finished
            if status == self.EARLY:
                return
            if status == self.FINISHED and self.full_run:
                self.page = self.building
                for fragment in list(self.fragments):  # fragments this run no longer draws stop ticking
                    if fragment not in self.announced:
                        self._stop_fragment(fragment)
            self.running = False
            self.finishes += 1
            async with self.changed:
                self.changed.notify_all()

    def _stop_fragment(self, fragment: str) -> None:
        task = self.fragments.pop(fragment, None)
        if task is not None:
            task.cancel()

    async def _auto_rerun(self, fragment: str, interval: float) -> None:
        """As the frontend does for st.fragment(run_every=...): a fragment rerun every interval."""
        while True:
            await asyncio.sleep(interval)
            if not self.running:
                await self._send_rerun(fragment_id=fragment, auto=True)
                self.lesson.record.fragment_reruns += 1

    # -- what the frontend sends ------------------------------------------------------------------
    async def _send_rerun(self, widgets=(), page_hash: str | None = None, fragment_id: str = "",
                          auto: bool = False, query: bool = True) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        state = msg.rerun_script
        if query:
            state.query_string = self.query_string
        state.widget_states.SetInParent()
        for widget in widgets:
            state.widget_states.widgets.append(widget)
        state.page_script_hash = page_hash if page_hash is not None else self.page_hash
        if fragment_id:
            state.fragment_id, state.is_auto_rerun = fragment_id, auto
        info = state.context_info
        info.timezone, info.timezone_offset, info.locale = "UTC", 0, "en-US"
        info.url, info.is_embedded, info.color_scheme = self.base + "/", False, "light"
        self.running = True
        await self.ws.send(msg.SerializeToString())

    async def rerun(self, widgets=(), page_hash: str | None = None, query: bool = True,
                    timeout: float = STEP_S) -> float:
        """Send a rerun and wait until its script run is over (the idle state the frontend shows)."""
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: not self.running), timeout)
            before = self.finishes
        clock = time.perf_counter()
        await self._send_rerun(widgets, page_hash, query=query)
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: self.finishes > before and not self.running),
                                   timeout)
        return time.perf_counter() - clock

    async def until(self, predicate, timeout: float = STEP_S) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(predicate), timeout)

    # -- reading the page -------------------------------------------------------------------------
    def texts(self) -> str:
        parts = []
        for element in list(self.page.values()):
            kind = element.WhichOneof("type")
            inner = getattr(element, kind)
            for name in ("body", "label", "text", "value"):
                value = getattr(inner, name, None)
                if isinstance(value, str):
                    parts.append(value)
        return re.sub(r"\\(.)", r"\1", "\n".join(parts))  # Markdown's escapes taken out

    def alerts(self) -> str:
        return " / ".join(e.alert.body for e in list(self.page.values()) if e.WhichOneof("type") == "alert")

    def widget(self, key: str):
        """(widget id, element) of the widget with user key ``key`` on the page."""
        for element in list(self.page.values()):
            inner = getattr(element, element.WhichOneof("type"))
            widget_id = getattr(inner, "id", "")
            if isinstance(widget_id, str) and widget_id.startswith("$$ID-") and widget_id.split("-", 2)[-1] == key:
                return widget_id, inner
        raise LookupError(f"no widget {key!r} on the page")

    # -- a student's actions ----------------------------------------------------------------------
    async def navigate(self, path: str) -> float:
        """A click on a page in the sidebar: its script hash, no widget states (as the frontend)."""
        return await self.rerun(page_hash=self.pages[path], query=False)

    async def upload(self, key: str, path: Path) -> float:
        """The file uploader ``key``: ask for upload URLs, PUT the file, rerun with its state."""
        import requests
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        widget_id, _ = self.widget(key)
        clock = time.perf_counter()
        request_id = str(uuid.uuid4())
        future = asyncio.get_running_loop().create_future()
        self.file_urls[request_id] = future
        msg = BackMsg()
        msg.file_urls_request.request_id = request_id
        msg.file_urls_request.file_names.append(path.name)
        msg.file_urls_request.session_id = self.session_id
        await self.ws.send(msg.SerializeToString())
        answer = await asyncio.wait_for(future, STEP_S)
        urls = answer.file_urls[0]
        data = path.read_bytes()

        def put():
            response = requests.put(self.base + urls.upload_url, files={"file": (path.name, data)},
                                    headers={"X-Xsrftoken": self.xsrf}, cookies={"_streamlit_xsrf": self.xsrf},
                                    verify=str(self.lesson.server.cert), timeout=STEP_S)
            response.raise_for_status()

        await asyncio.to_thread(put)
        state = WidgetState(id=widget_id)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.name, info.size, info.file_id = path.name, len(data), urls.file_id
        info.file_urls.CopyFrom(urls)
        await self.rerun([state])
        return time.perf_counter() - clock

    async def choose(self, key: str, starts_with: str) -> float:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        widget_id, radio = self.widget(key)
        option = next(o for o in radio.options if o.startswith(starts_with))
        return await self.rerun([WidgetState(id=widget_id, string_value=option)])

    async def press(self, key: str) -> float:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        widget_id, _ = self.widget(key)
        return await self.rerun([WidgetState(id=widget_id, trigger_value=True)])

    async def timed(self, what: str, action) -> None:
        started, training = time.time(), self.lesson.record.training_now
        seconds = await action
        self.lesson.record.click(self.student, what, started, seconds, training)

    async def lesson_steps(self) -> None:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        s = self.student
        await self.connect()
        await self.rerun()  # the first run, as a browser opening the join link
        name_id, _ = self.widget("join_name")
        join_id, _ = self.widget("FormSubmitter:join_form-Join")
        started, clock = time.time(), time.perf_counter()
        await self.rerun([WidgetState(id=name_id, string_value=s.name), WidgetState(id=join_id, trigger_value=True)])
        await self.until(lambda: f"Your space: **{s.name}**" in self.texts() and not self.running)
        self.lesson.record.click(s, "join", started, time.perf_counter() - clock, self.lesson.record.training_now)
        for path in ("runs", "learn")[:PRE_START_CLICKS]:
            await self.timed("idle", self.navigate(path))
        await self.navigate("data")
        await self.timed("upload", self.upload("data_zip", s.zip_path))
        if not re.search(r"Read \d+ pictures", self.texts()):
            raise RuntimeError("the zip's pictures were not read: " + one_line(self.texts()[-300:]))
        await self.navigate("model")
        started, clock = time.time(), time.perf_counter()
        await self.choose("model_backbone", "MobileNetV2 (0.35")
        await self.choose("model_weights", "Weights file added")
        self.lesson.record.click(s, "model", started, time.perf_counter() - clock, self.lesson.record.training_now)
        await self.navigate("train")
        if not re.search(r"MobileNetV2 \(0\.35.*weights file added on", self.texts()):
            raise RuntimeError("the Train page does not show the chosen network: " + one_line(self.texts()[:300]))
        pressed = time.monotonic()
        await self.timed("start", self.press("train_start"))
        try:  # the header says what became of it
            await self.until(lambda: re.search(AFTER_START, self.texts()) and not self.running, 60)
        except asyncio.TimeoutError:
            raise RuntimeError("Start did not put the training in line: " + one_line(self.texts()[-600:])) from None
        if self.lesson.wait_elsewhere:  # the sidebar says how it stands, on every page
            deadline, n = time.monotonic() + TRAINED_S, 0
            while time.monotonic() < deadline:
                await asyncio.sleep(self.lesson.rng.uniform(*IDLE_CLICK_S))
                await self.timed("waiting", self.navigate(("learn", "runs")[n % 2]))
                n += 1
                if "waits in line" not in self.texts() and "Training is running" not in self.texts():
                    break
            await self.navigate("train")
        # The header says "Next training" again once the training has ended, however it ended.
        await self.until(lambda: re.search("Training finished|Next training:", self.texts()) and not self.running,
                         TRAINED_S)
        ended = time.monotonic() - pressed
        if "Training finished" not in self.texts():
            raise RuntimeError("the training did not finish: " + one_line(self.alerts() or "no message"))
        self.lesson.record.trained.add(s.name)
        self.lesson.record.start_to_trained[s.name] = ended
        await self.navigate("test")
        await self.timed("test", self.upload("test_files", s.test_picture))
        if "The model says" not in self.texts():
            raise RuntimeError("the Test page gave no answer: " + one_line(self.texts()[-300:]))
        self.lesson.record.tested.add(s.name)

    async def run(self) -> None:
        try:
            await self.lesson_steps()
        except Exception as error:
            self.lesson.record.problems.append(f"{self.student.name} (light): {one_line(error)}")
        finally:
            self.lesson.student_done()
        paths, n = ("learn", "runs"), 0
        try:
            while self.ws is not None and await self.lesson.idle_pause():
                await self.timed("idle", self.navigate(paths[n % 2]))
                n += 1
        except Exception as error:
            self.lesson.record.problems.append(f"{self.student.name} (light, idle): {one_line(error)}")
        finally:
            await self.close()
