"""Helpers for the browser tests: Jupyter servers in a throw-away home, headless Chromium, and
the explorers' controls driven the way a person drives them (keyboard on the slider handle,
a choice in the drop-down), with the figure's bytes compared before and after.

Every server is started as its own process whose id is kept; :meth:`ServerProcess.stop`
terminates it (then kills it if needed) together with the kernels it started, so a test never
leaves a process behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
TOKEN = "bpcourse-browser-test"

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Settings every JupyterLab of the tests starts with: no "Jupyter news" toast over the page.
LAB_SETTING_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    }
}


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable to drive: ``$BPCOURSE_CHROMIUM`` or the first on PATH."""
    explicit = os.environ.get("BPCOURSE_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def isolated_env(home: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment variables that keep Jupyter, IPython, matplotlib and Chromium inside ``home``.

    The settings overrides (no news toast) are written to ``home``'s Jupyter config folder as
    ``labconfig/default_setting_overrides.json``, which JupyterLab reads from every config
    path; nothing is written into the Python installation.
    """
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ if base is None else base)
    dirs = {
        "HOME": home,
        "JUPYTER_CONFIG_DIR": home / "jupyter-config",
        "JUPYTER_DATA_DIR": home / "jupyter-data",
        "JUPYTER_RUNTIME_DIR": home / "jupyter-runtime",
        "IPYTHONDIR": home / "ipython",
        "MPLCONFIGDIR": home / "matplotlib",
        "XDG_CONFIG_HOME": home / "xdg-config",
        "XDG_CACHE_HOME": home / "xdg-cache",
        "XDG_DATA_HOME": home / "xdg-data",
        "TMPDIR": home / "tmp",
    }
    for name, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    labconfig = dirs["JUPYTER_CONFIG_DIR"] / "labconfig"
    labconfig.mkdir(exist_ok=True)
    (labconfig / "default_setting_overrides.json").write_text(json.dumps(LAB_SETTING_OVERRIDES))
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    env.pop("MPLBACKEND", None)  # the kernel must pick the inline backend itself
    return env


def root_flag() -> list[str]:
    """``--allow-root`` when running as root (containers, CI), as the Makefile does."""
    return ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []


# ---------------------------------------------------------------------------------------------
# Server processes
# ---------------------------------------------------------------------------------------------


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to send SIGTERM to this process when the test process dies (best effort)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (read from /proc; empty where /proc is missing)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is dead for our purposes
    with contextlib.suppress(OSError):
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


@dataclass
class ServerProcess:
    """A server started by a test, stopped by its process id.

    Attributes:
        argv: the command line.
        url: the base address, e.g. ``http://127.0.0.1:8901/``.
        log: the file receiving the server's output.
        ready_path: the address (below ``url``) polled until it answers 200.
    """

    argv: Sequence[str]
    url: str
    log: Path
    env: dict[str, str]
    cwd: Path
    ready_path: str = ""
    group: bool = False
    proc: subprocess.Popen[bytes] | None = None
    known_children: set[int] = field(default_factory=set)

    def start(self, timeout: float = 60.0) -> ServerProcess:
        """Start the process and wait until ``ready_path`` answers (or fail with the log)."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                list(self.argv),
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.argv[:4]} exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=5) as reply:
                    if reply.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"{self.url} not ready after {timeout} s:\n{self.log_tail()}")
            time.sleep(0.2)

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def remember_children(self) -> None:
        """Note the server's current descendants (kernels) so that :meth:`stop` ends them too."""
        if self.proc is not None and self.proc.poll() is None:
            self.known_children.update(_children(self.proc.pid))

    def log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-n:])

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; the same for its kernels.

        With ``group`` (a command such as ``make`` that starts the server as its child) the
        signals go to the process group that was created for it.
        """
        if self.proc is None:
            return
        self.remember_children()
        pid = self.proc.pid
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                if self.group:
                    os.killpg(pid, signal.SIGTERM)
                else:
                    self.proc.terminate()
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    if self.group:
                        os.killpg(pid, signal.SIGKILL)
                    else:
                        self.proc.kill()
                self.proc.wait(timeout=10)
        # A server that shut down cleanly has already ended its kernels; anything still
        # running was started by this server and is ended by its own id.
        deadline = time.monotonic() + 5
        while any(_alive(c) for c in self.known_children) and time.monotonic() < deadline:
            time.sleep(0.1)
        for child in self.known_children:
            if _alive(child):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(child, signal.SIGKILL)

    def survivors(self) -> list[int]:
        """Processes of this server still alive (should be empty after :meth:`stop`)."""
        pids = ([self.proc.pid] if self.proc is not None else []) + sorted(self.known_children)
        return [p for p in pids if _alive(p)]


def lab_server(root_dir: Path, home: Path, port: int | None = None) -> ServerProcess:
    """JupyterLab of this interpreter serving ``root_dir``, not yet started."""
    port = port or free_port()
    env = isolated_env(home)
    argv = [
        sys.executable,
        "-m",
        "jupyterlab",
        *root_flag(),
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={root_dir}",
        "--LabApp.expose_app_in_browser=True",
        "--ServerApp.open_browser=False",
    ]
    return ServerProcess(
        argv,
        f"http://127.0.0.1:{port}/",
        home / "lab.log",
        env,
        root_dir,
        ready_path=f"api/status?token={TOKEN}",
    )


@contextlib.contextmanager
def running(server: ServerProcess, timeout: float = 60.0) -> Iterator[ServerProcess]:
    """Start ``server`` and stop it (with its kernels) however the block ends."""
    try:
        yield server.start(timeout)
    finally:
        server.stop()
        left = server.survivors()
        assert not left, f"processes left running after stop: {left}"


# ---------------------------------------------------------------------------------------------
# Chromium and the explorers
# ---------------------------------------------------------------------------------------------


def launch_chromium(playwright: Any, executable: str) -> Any:
    """A headless Chromium from the system (never a downloaded one)."""
    return playwright.chromium.launch(
        executable_path=executable, headless=True, args=CHROMIUM_ARGS, timeout=60_000
    )


def exact(text: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def explorer(page: Any, *controls: str, without: Sequence[str] = ()) -> Any:
    """The output area showing an explorer: a widget with an image and controls labelled
    with every description in ``controls`` and none in ``without``."""
    scope = page.locator(".jp-OutputArea-output")
    for name in controls:
        scope = scope.filter(has=page.locator(".widget-label", has_text=exact(name)))
    for name in without:
        scope = scope.filter(has_not=page.locator(".widget-label", has_text=exact(name)))
    scope = scope.filter(has=page.locator("img.widget-image"))
    return scope.first


def slider(scope: Any, description: str) -> Any:
    """The noUi handle of the slider labelled ``description`` (role ``slider``, focusable)."""
    box = scope.locator(".widget-slider").filter(
        has=scope.page.locator(".widget-label", has_text=exact(description))
    )
    return box.locator(".noUi-handle").first


def readout(scope: Any, description: str) -> str:
    box = scope.locator(".widget-slider").filter(
        has=scope.page.locator(".widget-label", has_text=exact(description))
    )
    return str(box.locator(".widget-readout").first.inner_text()).strip()


def dropdown(scope: Any, description: str) -> Any:
    """The ``<select>`` of the drop-down labelled ``description``."""
    box = scope.locator(".widget-dropdown").filter(
        has=scope.page.locator(".widget-label", has_text=exact(description))
    )
    return box.locator("select").first


# In the page: remember when a key goes down and when the explorer's image next finishes
# loading new bytes; hash the bytes so that "changed" means a different picture, not a new URL.
_WATCH_JS = """
(img) => {
  if (img.__bpWatch) return;
  img.__bpWatch = true;
  window.__bpKeyAt = null;
  img.__bpLoads = [];
  document.addEventListener('keydown', () => { window.__bpKeyAt = performance.now(); }, true);
  img.addEventListener('load', () => { img.__bpLoads.push(performance.now()); });
}
"""

_DIGEST_JS = """
async (img) => {
  if (!img.src) return '';
  const data = await (await fetch(img.src)).arrayBuffer();
  const hash = await crypto.subtle.digest('SHA-256', data);
  return Array.from(new Uint8Array(hash)).map(b => b.toString(16).padStart(2, '0')).join('');
}
"""


def figure(scope: Any) -> Any:
    return scope.locator("img.widget-image").first


def figure_digest(scope: Any) -> str:
    """SHA-256 of the PNG bytes the explorer's image shows right now."""
    return str(figure(scope).evaluate(_DIGEST_JS))


def watch(scope: Any) -> None:
    figure(scope).evaluate(_WATCH_JS)


@dataclass
class Move:
    """One control change and what the browser showed."""

    control: str
    action: str
    before: str
    after: str
    readout: str
    latency_ms: float


def wait_for_new_figure(scope: Any, before: str, timeout_s: float) -> str:
    """Poll until the image's bytes differ from ``before``; return the new digest."""
    deadline = time.monotonic() + timeout_s
    while True:
        img = figure(scope)
        done = img.evaluate("img => img.complete && img.naturalWidth > 0")
        if done:
            now = figure_digest(scope)
            if now and now != before:
                return now
        if time.monotonic() > deadline:
            raise AssertionError(f"the figure did not change within {timeout_s} s")
        time.sleep(0.05)


def press(scope: Any, description: str, key: str, timeout_s: float = 20.0) -> Move:
    """Focus the slider's handle, press ``key``, wait for a different figure.

    The latency is measured in the page: from the key's ``keydown`` to the ``load`` event of
    the image carrying the new figure (kernel round trip, rendering and decoding included).
    """
    watch(scope)
    before = figure_digest(scope)
    handle = slider(scope, description)
    handle.focus()
    n_loads = int(figure(scope).evaluate("img => img.__bpLoads.length"))
    handle.press(key)
    after = wait_for_new_figure(scope, before, timeout_s)
    figure(scope).evaluate(
        "(img, n) => new Promise(r => { const f = () => img.__bpLoads.length > n ? r() "
        ": setTimeout(f, 10); f(); })",
        n_loads,
    )
    latency = float(
        figure(scope).evaluate("img => img.__bpLoads[img.__bpLoads.length - 1] - window.__bpKeyAt")
    )
    return Move(description, key, before, after, readout(scope, description), latency)


def choose(scope: Any, description: str, option: str, timeout_s: float = 20.0) -> Move:
    """Pick ``option`` in the drop-down and wait for a different figure."""
    before = figure_digest(scope)
    t0 = time.monotonic()
    dropdown(scope, description).select_option(label=option)
    after = wait_for_new_figure(scope, before, timeout_s)
    return Move(description, option, before, after, option, (time.monotonic() - t0) * 1000)


_KERNEL_IDLE_JS = """
(path) => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!w || !w.context || w.context.path !== path) return false;
  const s = w.sessionContext && w.sessionContext.session;
  const k = s && s.kernel;
  return Boolean(k && k.status === 'idle' && k.connectionStatus === 'connected');
}
"""


def open_notebook(page: Any, base_url: str, path: str, timeout_s: float = 60.0) -> None:
    """Open ``path`` in JupyterLab and wait until its kernel is idle.

    In a page already showing this JupyterLab the notebook opens in a new tab (File > Open);
    otherwise the page loads JupyterLab with ``?reset``, an empty workspace, so tabs of an
    earlier run are not restored. A fresh home asks which kernel to start ("Select Kernel");
    the test answers as a learner does, with the preselected Python kernel.
    """
    if page.url.startswith(f"{base_url}lab") and page.evaluate("() => !!window.jupyterapp"):
        page.evaluate(
            "p => { window.jupyterapp.commands.execute('docmanager:open', {path: p}); }", path
        )
    else:
        page.goto(f"{base_url}lab/tree/{path}?reset&token={TOKEN}")
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(_KERNEL_IDLE_JS, path):
        accept = page.locator(".jp-Dialog .jp-mod-accept")
        if accept.count() and accept.first.is_visible():
            accept.first.click()
        if time.monotonic() > deadline:
            raise AssertionError(f"the kernel of {path} was not idle after {timeout_s} s")
        time.sleep(0.2)


def screenshot(target: Any, name: str) -> Path:
    """Save a PNG of ``target`` (page or locator) under ``test-artifacts/browser/``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    target.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


def reveal(scope: Any, timeout_s: float = 30.0) -> Any:
    """Wait for ``scope`` to be in the page and scroll it into view.

    JupyterLab skips rendering cells outside the viewport (CSS ``content-visibility``), so an
    explorer far down a notebook is attached but not yet visible until scrolled to.
    """
    scope.wait_for(state="attached", timeout=timeout_s * 1000)
    scope.scroll_into_view_if_needed(timeout=timeout_s * 1000)
    scope.wait_for(state="visible", timeout=timeout_s * 1000)
    return scope


@contextlib.contextmanager
def screenshot_on_failure(page: Any, name: str) -> Iterator[None]:
    """Save a screenshot of the whole page if the block raises."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            screenshot(page, f"{name}_failure.png")
        raise


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


# ---------------------------------------------------------------------------------------------
# JupyterLab notebooks and the Makefile's own commands
# ---------------------------------------------------------------------------------------------

_RUN_ALL_JS = """
async (timeoutMs) => {
  const run = window.jupyterapp.commands.execute('notebook:run-all-cells');
  const late = () => new Error('Run All did not finish in ' + timeoutMs + ' ms');
  const timer = new Promise((_, reject) => setTimeout(() => reject(late()), timeoutMs));
  await Promise.race([run, timer]);
}
"""

_ERRORS_JS = """
(path) => {
  const nb = window.jupyterapp.shell.currentWidget;
  if (!nb || !nb.context || nb.context.path !== path) return [`${path} is not the current tab`];
  const found = [];
  let index = 0;
  for (const cell of nb.content.model.cells) {
    if (cell.type === 'code') {
      if (cell.executionCount === null) found.push(`cell ${index}: did not run`);
      for (const out of cell.outputs.toJSON()) {
        if (out.output_type === 'error') found.push(`cell ${index}: ${out.ename}: ${out.evalue}`);
      }
    }
    index += 1;
  }
  return found;
}
"""


def run_all_cells(page: Any, path: str, timeout_s: float = 120.0) -> list[str]:
    """Run every cell of the notebook ``path``, open in the current tab (Run > Run All Cells),
    wait for the last one and return what went wrong: ``"cell i: Name: message"`` for each
    error, ``"cell i: did not run"`` for each code cell left without an execution count."""
    page.evaluate(_RUN_ALL_JS, timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(_KERNEL_IDLE_JS, path):
        if time.monotonic() > deadline:
            raise AssertionError(f"the kernel was still busy {timeout_s} s after Run All")
        time.sleep(0.1)
    return [str(e) for e in page.evaluate(_ERRORS_JS, path)]


def make_recipe(target: str, makefile: Path = ROOT / "Makefile") -> list[str]:
    """The command line of a one-line Makefile target that runs a tool of ``$(BIN)``, with the
    tool run as ``python -m tool`` by this interpreter (so tests run what ``make`` runs)."""
    import shlex

    lines = makefile.read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(rf"^{re.escape(target)}:", line):
            recipe = lines[i + 1]
            break
    else:
        raise LookupError(f"no target {target!r} in {makefile}")
    if not recipe.startswith("\t"):
        raise LookupError(f"target {target!r} has no recipe")
    argv = shlex.split(recipe.strip())
    tool = re.fullmatch(r"\$\(BIN\)/([\w-]+)", argv[0])
    if not tool:
        raise LookupError(f"target {target!r} does not run a tool of $(BIN): {recipe.strip()}")
    return [sys.executable, "-m", tool.group(1), *argv[1:]]


def voila_from_make(target: str, home: Path, port: int | None = None) -> ServerProcess:
    """Voilà started exactly as ``make <target>`` starts it, on a free loopback port."""
    port = port or free_port()
    argv = make_recipe(target)
    if argv[2] != "voila":
        raise LookupError(f"make {target} does not run voila: {argv}")
    *options, notebook = argv[3:]
    return ServerProcess(
        [
            *argv[:3],
            "--no-browser",
            f"--port={port}",
            "--Voila.ip=127.0.0.1",
            "--Voila.port_retries=0",
            *options,
            str(ROOT / notebook),
        ],
        f"http://127.0.0.1:{port}/",
        home / f"voila-{target}.log",
        isolated_env(home),
        ROOT,
        ready_path="voila/static/voila.js",
    )
