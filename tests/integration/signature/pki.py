"""A real PKI on loopback for the seal's long-term tests: certomancer's Animator (root CA, intermediate CA, seal
certificate with OCSP and CRL pointers, OCSP responder, CRLs, timestamp authority) served by werkzeug in a thread.

Keys are made at test time and every validity is relative to now: the test never depends on the calendar.
"""
from __future__ import annotations

import dataclasses
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ARCH = "quoteflow-test"
KEYS = ("root", "interm", "interm-ocsp", "tsa", "seal")


def _config_yaml(url: str, now: datetime) -> str:
    def when(delta: timedelta) -> str:
        return (now + delta).strftime("%Y-%m-%dT%H:%M:%S+0000")

    ca_from, ca_to = when(-timedelta(days=600)), when(timedelta(days=3650))
    ee_from, ee_to = when(-timedelta(days=500)), when(timedelta(days=730))
    return f"""
external-url-prefix: "{url}"
keysets:
  keys:
    keys:
{''.join(f'      {name}: {{path: {name}.key.pem}}{chr(10)}' for name in KEYS)}
pki-architectures:
  {ARCH}:
    keyset: keys
    entity-defaults:
      country-name: FR
      organization-name: Quoteflow Test PKI
    entities:
      root: {{common-name: Racine de test}}
      interm: {{common-name: AC intermediaire de test}}
      interm-ocsp: {{common-name: OCSP de test}}
      tsa: {{common-name: Horodatage de test}}
      seal: {{common-name: Quoteflow - cachet de test}}
    certs:
      root:
        subject: root
        issuer: root
        validity: {{valid-from: "{ca_from}", valid-to: "{ca_to}"}}
        profiles:
          - id: simple-ca
            params: {{crl-repo: root}}
      interm:
        issuer: root
        validity: {{valid-from: "{ca_from}", valid-to: "{ca_to}"}}
        profiles:
          - id: simple-ca
            params: {{max-path-len: 0, crl-repo: interm, ocsp-service: interm}}
      interm-ocsp:
        issuer: interm
        validity: {{valid-from: "{ee_from}", valid-to: "{ee_to}"}}
        profiles: [ocsp-responder]
      tsa:
        issuer: root
        validity: {{valid-from: "{ee_from}", valid-to: "{ee_to}"}}
        extensions:
          - id: key_usage
            critical: true
            smart-value: {{schema: key-usage, params: [digital_signature]}}
          - id: extended_key_usage
            critical: true
            value: [time_stamping]
      seal:
        issuer: interm
        validity: {{valid-from: "{ee_from}", valid-to: "{ee_to}"}}
        profiles: [digsig-commitment]  # with the CRL and OCSP pointers of its issuer's profile (simple-ca)
    services:
      ocsp:
        interm:
          for-issuer: interm
          responder-cert: interm-ocsp
          signing-key: interm-ocsp
      crl-repo:
        root:
          for-issuer: root
          signing-key: root
          simulated-update-schedule: "P30D"
        interm:
          for-issuer: interm
          signing-key: interm
          simulated-update-schedule: "P30D"
      time-stamping:
        tsa:
          signing-key: tsa
          signing-cert: tsa
"""


@dataclass
class TestPki:
    url: str
    folder: Path
    arch: object          # certomancer's PKIArchitecture
    server: object
    tsa_time: datetime | None = None   # the time the timestamp authority puts in its tokens (None: now)

    def pem(self, label: str) -> Path:
        """The certificate ``label`` as a PEM file."""
        path = self.folder / f"{label}.cert.pem"
        path.write_bytes(_pem(self.arch.get_cert(label).dump()))
        return path

    def key(self, label: str) -> Path:
        return self.folder / f"{label}.key.pem"

    @property
    def tsa_url(self) -> str:
        return f"{self.url}/{ARCH}/tsa/tsa"

    def cert(self, label: str):
        return self.arch.get_cert(label)

    @contextmanager
    def revoked(self, label: str, since: datetime):
        """From ``since`` on, and while in the block, the OCSP responder and the CRL say ``label`` is revoked.

        certomancer keeps its specifications frozen; the animator reads them on each request, so a revocation is a
        new specification in place of the old one (the certificate itself, cached, does not change)."""
        from asn1crypto import crl
        from certomancer.registry.issued.general import RevocationStatus

        spec = self.arch.get_cert_spec(label)
        self.arch._cert_specs[label] = dataclasses.replace(spec, revocation=RevocationStatus(
            revoked_since=since, reason=crl.CRLReason("key_compromise")))
        try:
            yield
        finally:
            self.arch._cert_specs[label] = spec

    def stop(self) -> None:
        self.server.shutdown()


def _pem(der: bytes) -> bytes:
    from asn1crypto import pem

    return pem.armor("CERTIFICATE", der)


def start_pki(folder: Path) -> TestPki:
    """Keys, config and a running Animator on 127.0.0.1 (a free port)."""
    from certomancer.integrations.animator import Animator, AnimatorArchStore
    from certomancer.registry import CertomancerConfig
    from werkzeug.serving import make_server

    folder.mkdir(parents=True, exist_ok=True)
    for name in KEYS:
        key = ec.generate_private_key(ec.SECP256R1())
        (folder / f"{name}.key.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    holder: dict = {}

    def app(environ, start_response):  # the port is known only once the server is bound
        pki = holder["pki"]
        if pki.tsa_time is not None and "/tsa/" in environ.get("PATH_INFO", ""):
            environ["HTTP_X_CERTOMANCER_FAKE_TIME"] = pki.tsa_time.isoformat()
        return holder["animator"](environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    config = CertomancerConfig.from_yaml(_config_yaml(url, datetime.now(timezone.utc)), key_search_dir=str(folder))
    arch = config.get_pki_arch(ARCH)
    holder["animator"] = Animator(AnimatorArchStore(config.pki_archs), with_web_ui=False)
    holder["pki"] = pki = TestPki(url=url, folder=folder, arch=arch, server=server)
    threading.Thread(target=server.serve_forever, daemon=True, name="certomancer").start()
    return pki
