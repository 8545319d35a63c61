"""The compose stack in its production configuration, on images built here (no registry needed).

Builds the local base images and the app image, writes a .env of random secrets and free ports on
127.0.0.1, brings the stack up with Debian's docker-compose and waits for every healthcheck; takes it
all down again (containers, network, volumes) whatever happens. Each step's time is printed and kept
in var/deploy-timings.json.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from quoteflow.launcher import free_port

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILES = ("docker-compose.yml", "deploy/compose/local-images.yml")
LONG_RUNNING = ("postgres", "rabbitmq", "mailpit", "quotes", "portal", "portal-worker", "signature", "notifier")
ONE_SHOTS = ("quotes-migrate", "portal-migrate", "signature-migrate", "notifier-migrate")
TENANT = "demo"
APP_IMAGE = "quoteflow:deploy-test"  # kept between runs: Docker's layer cache rebuilds only what changed


@dataclass
class Stack:
    project: str
    env_file: Path
    ports: dict[str, int]
    api_key: str
    timings: dict[str, float] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=lambda: _build_env())

    @property
    def quotes_target(self) -> str:
        return f"127.0.0.1:{self.ports['QUOTES_PORT']}"

    @property
    def portal_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['PORTAL_PORT']}"

    @property
    def mail_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['MAIL_UI_PORT']}"

    def compose(self, *args: str, check: bool = True, timeout: float = 600) -> str:
        command = ["docker-compose", "--project-name", self.project, "--env-file", str(self.env_file)]
        for name in COMPOSE_FILES:
            command += ["--file", str(ROOT / name)]
        done = subprocess.run([*command, *args], cwd=ROOT, env=self.environment, capture_output=True, text=True,
                              timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"docker-compose {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def container_states(self) -> dict[str, str]:
        """Each service's health (or `exited N` for a stopped container), in two docker calls."""
        containers = _run("docker", "ps", "--all", "--quiet", "--filter",
                          f"label=com.docker.compose.project={self.project}").split()
        states = dict.fromkeys((*LONG_RUNNING, *ONE_SHOTS), "absent")
        if containers:
            shown = _run("docker", "inspect", "--format",
                         '{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} '
                         "{{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", *containers)
            for line in shown.splitlines():
                service, status, code, *health = line.split()
                states[service] = health[0] if health else f"{status} {code}"
        return states

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            states = self.container_states()
            ready = (all(states[name] == "healthy" for name in LONG_RUNNING)
                     and all(states[name] == "exited 0" for name in ONE_SHOTS))
            if ready:
                return
            if time.monotonic() > deadline:
                logs = self.compose("logs", "--no-color", "--tail", "20", check=False)
                raise AssertionError(f"the stack is not healthy after {timeout:.0f} s: {states}\n{logs}")
            time.sleep(2)


def _build_env() -> dict[str, str]:
    """The classic builder everywhere (no BuildKit frontend to fetch), and the host's pip index if set."""
    env = {**os.environ, "DOCKER_BUILDKIT": "0", "COMPOSE_DOCKER_CLI_BUILD": "0"}
    index = env.get("PIP_INDEX_URL") or _run("pip", "config", "get", "global.index-url", check=False).strip()
    if index:
        env["PIP_INDEX_URL"] = index
    return env


def _run(*command: str, check: bool = True) -> str:
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _timed(timings: dict[str, float], name: str, step) -> None:
    started = time.monotonic()
    step()
    timings[name] = round(time.monotonic() - started, 1)
    print(f"[deploy] {name}: {timings[name]} s", flush=True)


def _new_api_key() -> tuple[str, str]:
    """A CRM key made the documented way (`quoteflow apikey new`): the key, and its QUOTEFLOW_API_KEYS entry."""
    shown = _run(sys.executable, "-m", "quoteflow.cli", "apikey", "new", TENANT)
    key = re.search(r"^\s+(qf_\S+)$", shown, re.M).group(1)
    entry = re.search(rf"^\s+({TENANT}:[0-9a-f]{{64}})$", shown, re.M).group(1)
    return key, entry


def _write_env(path: Path, ports: dict[str, int], api_keys: str, image: str) -> None:
    secret_names = ("POSTGRES_PASSWORD", "QUOTES_DB_PASSWORD", "PORTAL_DB_PASSWORD", "SIGNATURE_DB_PASSWORD",
                    "NOTIFIER_DB_PASSWORD", "RABBITMQ_PASSWORD", "QUOTEFLOW_SERVICE_KEY", "PORTAL_SECRET_KEY",
                    "CODE_SEAL_KEY")
    values = {name: secrets.token_hex(24) for name in secret_names}
    values.update({
        "QUOTEFLOW_API_KEYS": api_keys,
        "SIGNATURE_TSA_URL": "none",  # no timestamp authority can be reached from here
        "QUOTEFLOW_IMAGE": image,
        "QUOTEFLOW_BIND": "127.0.0.1",
        "PORTAL_BASE_URL": f"http://127.0.0.1:{ports['PORTAL_PORT']}",
        **{name: str(port) for name, port in ports.items()},
    })
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()), encoding="utf-8")
    path.chmod(0o600)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    timings: dict[str, float] = {}
    _timed(timings, "ensure docker", lambda: _run("bash", "scripts/ensure-docker.sh"))
    _timed(timings, "base images", lambda: _run("bash", "scripts/build-local-images.sh"))
    ports = {name: free_port() for name in ("QUOTES_PORT", "PORTAL_PORT", "NOTIFIER_PORTS", "RABBITMQ_UI_PORT",
                                            "MAIL_UI_PORT")}
    key, entry = _new_api_key()
    project = f"qfdeploy{uuid.uuid4().hex[:8]}"
    env_file = tmp_path_factory.mktemp("compose") / ".env"
    _write_env(env_file, ports, entry, image=APP_IMAGE)
    stack = Stack(project=project, env_file=env_file, ports=ports, api_key=key, timings=timings)
    try:
        _timed(timings, "app image", lambda: stack.compose("build", "quotes", timeout=1200))
        _timed(timings, "stack start", lambda: (stack.compose("up", "--detach", "--no-build"),
                                                stack.wait_healthy(240)))
        yield stack
    finally:
        stack.compose("down", "--volumes", "--remove-orphans", "--timeout", "20", check=False)
        (ROOT / "var").mkdir(exist_ok=True)
        (ROOT / "var" / "deploy-timings.json").write_text(json.dumps(timings, indent=2) + "\n", encoding="utf-8")
        print(f"[deploy] timings: {timings}", flush=True)
