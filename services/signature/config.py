"""Every environment variable the signature service reads, with embedded defaults."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from quoteflow import sealing
from quoteflow.config import CommonConfig, ConfigError, env, env_int, production, var_dir
from services.signature.domain.model import CodePolicy

NO_TSA = "none"  # SIGNATURE_TSA_URL=none: seal without a timestamp, knowingly (production requires the setting)


def seal_certificate_files() -> tuple[Path, Path | None, tuple[Path, ...]]:
    """(SIGNATURE_KEY_DIR, SIGNATURE_CERT_FILE or None, SIGNATURE_TRUSTED_CERTS): what checking a seal needs,
    read without the settings serving needs, so ``python -m services.signature verify`` runs anywhere."""
    cert_file = env("SIGNATURE_CERT_FILE")
    return (Path(env("SIGNATURE_KEY_DIR", str(var_dir() / "signature"))), Path(cert_file) if cert_file else None,
            tuple(Path(p.strip()) for p in env("SIGNATURE_TRUSTED_CERTS").split(",") if p.strip()))


def ca_certificate_files() -> tuple[Path, ...]:
    """SIGNATURE_CA_CERTS: PEM files of the seal certificate's issuing chain, root included (comma-separated)."""
    return tuple(Path(p.strip()) for p in env("SIGNATURE_CA_CERTS").split(",") if p.strip())


@dataclass(frozen=True)
class Config:
    common: CommonConfig
    grpc_address: str = "127.0.0.1:50052"
    key_dir: Path = Path("var/signature")   # the seal's key and self-signed certificate (PEM, 0600)
    timezone: str = "Europe/Paris"          # how the date is written on the signature block
    # A key and certificate of your own (PEM); both or neither. Without them one is made in key_dir.
    key_file: Path | None = None
    cert_file: Path | None = None
    key_passphrase: str = ""
    # Certificates that sealed before (a replaced key, a renewed certificate): checks accept them too.
    # The service also keeps the ones it replaces itself in key_dir/retired/.
    trusted_cert_files: tuple[Path, ...] = ()
    # The issuing chain of a CA-issued cert_file, root included: seals then carry their validation data (OCSP,
    # CRL, fetched when sealing) and, with a timestamp authority, a document timestamp: PAdES B-LTA.
    ca_cert_files: tuple[Path, ...] = ()
    # RFC 3161 timestamp authority; empty = seals without a timestamp. Required in production, where
    # "none" says so on purpose (tsa_url is then empty).
    tsa_url: str = ""
    tsa_timeout: int = 10
    tsa_trust_file: Path | None = None      # PEM roots the timestamps are checked against (optional)
    # One-time codes.
    otp_ttl_seconds: int = 600
    otp_max_attempts: int = 5
    otp_resend_seconds: int = 30
    otp_max_codes: int = 5
    # Two "opened" evidence entries from the same client closer than this are one.
    opened_window_seconds: int = 60
    # Seals one-time codes for the notifier and keys the HMAC each code is kept as (quoteflow/sealing.py);
    # "" = derived from the service key (embedded mode). Changing it voids the codes of the last 10 minutes.
    code_seal_key: str = ""

    @property
    def seal_key(self) -> str:
        return sealing.seal_key(self.code_seal_key, self.common.service_key)

    @property
    def code_policy(self) -> CodePolicy:
        return CodePolicy(ttl=timedelta(seconds=self.otp_ttl_seconds), max_attempts=self.otp_max_attempts,
                          resend_interval=timedelta(seconds=self.otp_resend_seconds),
                          max_codes=self.otp_max_codes, key=sealing.code_digest_key(self.seal_key))

    @classmethod
    def from_env(cls) -> "Config":
        key_file, cert_file = env("SIGNATURE_KEY_FILE"), env("SIGNATURE_CERT_FILE")
        if bool(key_file) != bool(cert_file):
            raise ConfigError("SIGNATURE_KEY_FILE and SIGNATURE_CERT_FILE go together: set both or neither")
        key_dir, _, trusted_cert_files = seal_certificate_files()
        tsa_url = env("SIGNATURE_TSA_URL").strip()
        config = cls(
            common=CommonConfig.from_env("signature"),
            grpc_address=env("SIGNATURE_GRPC_ADDRESS", "127.0.0.1:50052"),
            key_dir=key_dir,
            timezone=env("SIGNATURE_TIMEZONE", "Europe/Paris"),
            key_file=Path(key_file) if key_file else None,
            cert_file=Path(cert_file) if cert_file else None,
            key_passphrase=env("SIGNATURE_KEY_PASSPHRASE"),
            trusted_cert_files=trusted_cert_files,
            ca_cert_files=ca_certificate_files(),
            tsa_url="" if tsa_url.lower() == NO_TSA else tsa_url,
            tsa_timeout=env_int("SIGNATURE_TSA_TIMEOUT", 10),
            tsa_trust_file=Path(env("SIGNATURE_TSA_TRUST")) if env("SIGNATURE_TSA_TRUST") else None,
            otp_ttl_seconds=env_int("SIGNATURE_OTP_TTL_SECONDS", 600),
            otp_max_attempts=env_int("SIGNATURE_OTP_MAX_ATTEMPTS", 5),
            otp_resend_seconds=env_int("SIGNATURE_OTP_RESEND_SECONDS", 30),
            otp_max_codes=env_int("SIGNATURE_OTP_MAX_CODES", 5),
            opened_window_seconds=env_int("SIGNATURE_OPENED_WINDOW_SECONDS", 60),
            code_seal_key=env("CODE_SEAL_KEY", required_in_production=True),
        )
        if config.ca_cert_files and not config.cert_file:
            raise ConfigError("SIGNATURE_CA_CERTS is the issuing chain of a CA-issued seal certificate: set "
                              "SIGNATURE_KEY_FILE and SIGNATURE_CERT_FILE too (the self-signed default has none)")
        for name, value in (("SIGNATURE_OTP_TTL_SECONDS", config.otp_ttl_seconds),
                            ("SIGNATURE_OTP_MAX_ATTEMPTS", config.otp_max_attempts),
                            ("SIGNATURE_OTP_MAX_CODES", config.otp_max_codes)):
            if value < 1:
                raise ConfigError(f"{name} must be at least 1, got {value}")
        if not tsa_url and production():
            raise ConfigError(
                "SIGNATURE_TSA_URL is required when QUOTEFLOW_ENV=production: the address of an RFC 3161 timestamp "
                "authority, which dates each seal independently of this server's clock (set it to 'none' to seal "
                "without a timestamp on purpose)")
        return config
