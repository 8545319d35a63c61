"""docker-compose.yml and the Dockerfile, checked by reading them (no Docker engine needed)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("quotes", "portal", "signature", "notifier")
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|_KEYS?|_PASS)$", re.I)
INTERPOLATION = re.compile(r"^\$\{[A-Z0-9_]+(:?[-?][^}]*)?\}$")
URL_CREDENTIALS = re.compile(r"^[a-z+]+://[^:/@]+:(?P<password>[^@]*)@")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def with_defaults(text: str) -> str:
    """What ${VAR:-default} reads when VAR is not set (the published ports a user gets by default)."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", str(text))


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def is_one_shot(name: str, service: dict) -> bool:
    return name.endswith("-migrate") and service.get("restart") == "no"


def test_platform_services_four_services_worker_and_migrations_exist(compose):
    services = compose["services"]
    expected = {"postgres", "rabbitmq", "mailpit", "portal-worker", *SERVICES,
                *(f"{name}-migrate" for name in SERVICES)}
    assert expected <= set(services)
    assert services["rabbitmq"]["image"] == "rabbitmq:3.13-management"
    assert services["postgres"]["image"] == "postgres:16"
    assert services["mailpit"]["image"].startswith("axllent/mailpit")


def test_every_long_running_container_has_a_healthcheck(compose):
    for name, service in compose["services"].items():
        if is_one_shot(name, service):
            # A one-shot job's health is its exit code, which service_completed_successfully reads.
            continue
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), name


def test_grpc_and_http_healthchecks_probe_the_service_own_port(compose):
    services = compose["services"]
    ports = {"quotes": "50051", "signature": "50052", "notifier": "50053"}
    for name, port in ports.items():
        test = services[name]["healthcheck"]["test"]
        assert test[:4] == ["CMD", "python", "-m", "quoteflow.healthcheck"], name
        assert test[4] == f"127.0.0.1:{port}", name
        assert environment(services[name])[f"{name.upper()}_GRPC_ADDRESS"] == f"0.0.0.0:{port}"
    portal_check = " ".join(services["portal"]["healthcheck"]["test"])
    assert "urllib" in portal_check and "http://127.0.0.1:8080/healthz" in portal_check
    assert environment(services["portal"])["PORTAL_HTTP_ADDRESS"] == "0.0.0.0:8080"
    assert services["rabbitmq"]["healthcheck"]["test"][:2] == ["CMD", "rabbitmq-diagnostics"]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]


def test_each_service_waits_for_its_own_migration(compose):
    services = compose["services"]
    for name in SERVICES:
        migrate = services[f"{name}-migrate"]
        assert migrate["command"] == ["python", "-m", f"services.{name}", "migrate"]
        assert migrate["restart"] == "no"
        assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert (services[name]["depends_on"][f"{name}-migrate"]["condition"]
                == "service_completed_successfully")
    assert (services["portal-worker"]["depends_on"]["portal-migrate"]["condition"]
            == "service_completed_successfully")


def test_commands_of_the_one_image(compose):
    services = compose["services"]
    assert services["portal"]["command"] == [
        "gunicorn", "-c", "services/portal/gunicorn.conf.py", "services.portal.wsgi:app"]
    assert services["portal-worker"]["command"] == ["python", "-m", "services.portal", "worker"]
    for name in ("quotes", "signature", "notifier"):
        assert services[name]["command"] == ["python", "-m", f"services.{name}"]
    images = {services[name]["image"] for name in services
              if name in SERVICES or name == "portal-worker" or name.endswith("-migrate")}
    assert images == {"${QUOTEFLOW_IMAGE:-quoteflow:dev}"}
    built = [name for name, service in services.items() if "build" in service]
    assert built == ["quotes"], "the image is built once, by one service"


def test_each_service_has_its_own_database_and_role(compose):
    services = compose["services"]
    for name in SERVICES:
        url = environment(services[name])["DATABASE_URL"]
        assert re.match(rf"^postgresql://{name}:\$\{{[A-Z_]+:\?[^}}]+\}}@postgres:5432/{name}$", url), url
        assert environment(services[f"{name}-migrate"])["DATABASE_URL"] == url
    init = (ROOT / "deploy/compose/postgres-init.sh").read_text(encoding="utf-8")
    for name in SERVICES:
        assert re.search(rf"^create {name}\s", init, re.M), name
    mount = "./deploy/compose/postgres-init.sh:/docker-entrypoint-initdb.d/10-quoteflow.sh:ro"
    assert mount in services["postgres"]["volumes"]


def test_no_secret_value_is_inlined(compose):
    checked = 0
    for name, service in compose["services"].items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key) and value:
                assert INTERPOLATION.match(value), f"{name}: {key} must be ${{VAR}} interpolation"
                checked += 1
            credentials = URL_CREDENTIALS.match(value)
            if credentials:
                assert INTERPOLATION.match(credentials["password"]), f"{name}: {key} inlines a password"
                checked += 1
    assert checked > 20


def test_required_secrets_fail_fast_when_missing(compose):
    env = environment(compose["services"]["portal"])
    for key in ("QUOTEFLOW_API_KEYS", "QUOTEFLOW_SERVICE_KEY", "PORTAL_SECRET_KEY"):
        assert re.match(rf"^\$\{{{key}:\?.+\}}$", env[key]), key
    example = (ROOT / "deploy/compose/env.example").read_text(encoding="utf-8")
    values = " ".join(value for service in compose["services"].values()
                      for value in environment(service).values())
    referenced = set(re.findall(r"\$\{([A-Z0-9_]+):\?", values))
    assert len(referenced) >= 9
    for variable in referenced:
        assert re.search(rf"^#?\s*{variable}=", example, re.M), f"{variable} missing from env.example"


def test_notifier_can_be_scaled(compose):
    notifier = compose["services"]["notifier"]
    assert "container_name" not in notifier
    for port in notifier.get("ports", []):
        published = with_defaults(port).rsplit(":", 1)[0]
        assert "-" in published.rsplit(":", 1)[-1], f"fixed host port {port!r} cannot be shared"
    for name, service in compose["services"].items():
        assert "container_name" not in service, name


def test_published_ports(compose):
    services = compose["services"]

    def host_ports(name):
        return {with_defaults(port).split(":")[-2] for port in services[name].get("ports", [])}

    assert host_ports("portal") == {"8080"}
    assert host_ports("quotes") == {"50051"}
    assert host_ports("notifier") == {"50053-50062"}
    assert host_ports("rabbitmq") == {"15672"}
    assert host_ports("mailpit") == {"8025"}
    assert host_ports("signature") == set()


def test_published_ports_bind_to_loopback_and_can_be_moved(compose):
    """A second stack (or the deploy test) on the same host takes other ports through .env."""
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert re.match(r"^\$\{QUOTEFLOW_BIND:-127\.0\.0\.1\}:\$\{[A-Z_]+_PORTS?:-[0-9-]+\}:\d+$", port), name


def test_the_file_runs_under_debian_docker_compose_1_29(compose):
    """1.29's schema knows no top-level `name:` (it stops with "'name' does not match any of the regexes")."""
    assert set(compose) - {"services", "volumes", "networks", "secrets", "configs"} <= {
        key for key in compose if key.startswith("x-")}
    example = (ROOT / "deploy/compose/env.example").read_text(encoding="utf-8")
    assert re.search(r"^COMPOSE_PROJECT_NAME=quoteflow$", example, re.M)


def test_local_images_override_swaps_only_images_and_their_checks(compose):
    override = yaml.safe_load((ROOT / "deploy/compose/local-images.yml").read_text(encoding="utf-8"))
    services = override["services"]
    assert set(services) <= set(compose["services"])
    for name in ("postgres", "rabbitmq", "mailpit"):
        assert services[name]["image"].startswith("quoteflow-local/"), name
        assert set(services[name]) <= {"image", "healthcheck"}, name
    assert set(services["quotes"]) == {"build"}
    assert "PYTHON_IMAGE=quoteflow-local/python:3.11" in services["quotes"]["build"]["args"]
    for recipe in ("python", "rabbitmq", "postgres", "mailcatcher"):
        assert (ROOT / f"deploy/compose/local-images/{recipe}.Dockerfile").is_file(), recipe


def test_service_environment(compose):
    services = compose["services"]
    notifier = environment(services["notifier"])
    assert (notifier["SMTP_HOST"], notifier["SMTP_PORT"]) == ("mailpit", "1025")
    for name in (*SERVICES, "portal-worker"):
        env = environment(services[name])
        assert env["QUOTEFLOW_ENV"] == "production"
        assert env["BROKER_URL"].startswith("amqp://quoteflow:") and env["BROKER_URL"].endswith("@rabbitmq:5672//")
        assert env["BLOB_DIR"] == "/data/blobs"
        assert env["PORTAL_BASE_URL"] == "${PORTAL_BASE_URL:-http://localhost:8080}"
    assert environment(services["portal"])["SIGNATURE_GRPC_TARGET"] == "signature:50052"


def test_persistent_and_shared_volumes(compose):
    services = compose["services"]
    assert {"postgres-data", "rabbitmq-data", "blobs"} <= set(compose["volumes"])
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "rabbitmq-data:/var/lib/rabbitmq" in services["rabbitmq"]["volumes"]
    for name in (*SERVICES, "portal-worker"):
        assert "blobs:/data/blobs" in services[name]["volumes"], name


def test_quoteflow_containers_are_locked_down(compose):
    for name in (*SERVICES, "portal-worker", *(f"{s}-migrate" for s in SERVICES)):
        service = compose["services"][name]
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "/tmp" in service["tmpfs"], name


# ---------------------------------------------------------------- Dockerfile

@pytest.fixture(scope="module")
def dockerfile() -> list[str]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_dockerfile_is_multi_stage_with_a_slim_runtime(dockerfile):
    stages = [line for line in dockerfile if line.upper().startswith("FROM ")]
    assert len(stages) >= 2
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in dockerfile
    assert stages[-1].split()[1] == "${PYTHON_IMAGE}"
    assert any("COPY --from=builder /opt/venv /opt/venv" == line for line in dockerfile)
    runtime = dockerfile[dockerfile.index(stages[-1]):]
    assert not any(re.search(r"\b(gcc|build-essential|apt-get install)\b", line) for line in runtime)
    assert any(re.search(r"\bpip install\b.* \.$", line) for line in dockerfile[:dockerfile.index(stages[-1])])


def test_dockerfile_builds_without_a_fetched_frontend():
    """`# syntax=` makes BuildKit pull a frontend image and `RUN --mount` needs one: neither works offline."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert not re.search(r"^#\s*syntax\s*=", text, re.M | re.I)
    assert "--mount" not in text


def test_dockerfile_runs_as_non_root_with_production_defaults(dockerfile):
    users = [line.split()[1] for line in dockerfile if line.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] == "10001"
    assert "WORKDIR /app" in dockerfile
    assert any("QUOTEFLOW_ENV=production" in line for line in dockerfile if line.startswith("ENV"))
    assert dockerfile[-1] == 'CMD ["python", "-m", "services.quotes"]'


def test_dockerignore_keeps_secrets_and_local_state_out():
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".git", ".venv", "var", ".env", "tests"} <= ignored
    assert "pyproject.toml" not in ignored and "quoteflow" not in ignored and "services" not in ignored


def test_signature_seal_folder_is_a_volume_wherever_it_is_used(compose):
    for name in ("signature", "signature-migrate"):
        service = compose["services"][name]
        key_dir = environment(service)["SIGNATURE_KEY_DIR"]
        assert f"signature-keys:{key_dir}" in [v.split("   ")[0] for v in service["volumes"]], name
    assert "signature-keys" in compose["volumes"]


def test_the_portal_spool_outlives_its_container(compose):
    """Downloads spooled by a gunicorn worker and not yet sent are sent by the container that starts
    next: the folder is a volume, not the container's tmpfs."""
    portal = compose["services"]["portal"]
    spool = environment(portal)["PORTAL_SPOOL_DIR"]
    assert f"portal-spool:{spool}" in portal["volumes"] and "portal-spool" in compose["volumes"]
    assert environment(portal)["PORTAL_SECRET_KEY"]  # the rest of the portal's environment is still there
    # A new named volume copies its folder from the image: made there, owned by the user the portal runs as.
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(rf"mkdir -p [^\n]*{re.escape(spool)}", dockerfile) and "chown -R 10001:10001 /data" in dockerfile
